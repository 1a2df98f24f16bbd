// The authors' ReviewKD + SD-DKD (shicaiwei123/SDD-CVPR2024, mdistiller/distillers/ReviewKD.py):
// the review loss of ReviewKD (with its warm-up) plus the SD-DKD term on the multi-scale logits
// (the reference's multi_dkd(patch_s, patch_t, target, 1, 8, 4): alpha 1, beta 8, T 4, no warm-up),
// summed into one `kd` term as there. Both models need scaleLogits (models.create(name, { scales })).
import type { DistillerOptions } from './distiller.js';
import { sddDkd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { resolveSettings } from './settings.js';
import { requireScaleLogits } from './sdd-common.js';
import { ReviewKD, type ReviewKdSettings } from './reviewkd.js';

/** The SD-DKD part's settings (the reference hard-codes alpha 1, beta 8, T 4; complementaryWeight: SD-DKD's 2). */
export const REVIEWKD_SDD_DKD_EXTRA = { alpha: 1, beta: 8, temperature: 4, complementaryWeight: 2 };
export type ReviewKdSddDkdSettings = ReviewKdSettings & typeof REVIEWKD_SDD_DKD_EXTRA;

export class ReviewKdSddDkd extends ReviewKD {
  override readonly name: string = 'reviewkd_sdd_dkd';
  readonly sdd: typeof REVIEWKD_SDD_DKD_EXTRA;
  constructor(opts: DistillerOptions & Partial<ReviewKdSddDkdSettings>) {
    super(opts, 'reviewkd_sdd_dkd', REVIEWKD_SDD_DKD_EXTRA);
    const given = Object.fromEntries(Object.entries(opts).filter(([k]) => k in REVIEWKD_SDD_DKD_EXTRA));
    this.sdd = resolveSettings('reviewkd_sdd_dkd', given, REVIEWKD_SDD_DKD_EXTRA);
  }
  /** The weighted review loss plus the SD-DKD term, as one term (already weighted). */
  protected override featureTerm(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number): () => Tensor {
    const { alpha, beta, temperature, complementaryWeight } = this.sdd;
    const [ss, ts] = requireScaleLogits(this.name, s, t!);
    return () => this.reviewLoss(s, t).mul(this.reviewWeight(epoch))
      .add(sddDkd(ss, ts, y, { alpha, beta, temperature, complementaryWeight, nonFinite: this.nonFinite }));
  }
  protected override featureWeight(): number | null {
    return null;
  }
}
