// AT (Zagoruyko & Komodakis, "Paying More Attention to Attention"): CE + the distance between the
// students' and the teacher's normalised attention maps (mean over channels of |f|^p) of every
// stage after the stem. Reference: mdistiller AT (cfg.AT: P 2, CE_WEIGHT 1, FEAT_WEIGHT 1000).
import type { DistillerOptions } from './distiller.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, alignSpatial, configReader, featureLists, normalize, sumLosses } from './feature-common.js';

export const AT_DEFAULTS = { ceWeight: 1, featWeight: 1000, p: 2 };
export type AtSettings = typeof AT_DEFAULTS;

/** The attention map of a B x C x H x W feature: normalize(mean_c f^p) as a B x HW vector. */
function attention(f: Tensor, p: number): Tensor {
  return normalize(f.pow(p).mean(1).reshape([f.shape[0]!, -1]), 1);
}

/** The AT loss of two feature lists (stage by stage, larger maps pooled to the smaller size). */
export function atLoss(gs: Tensor[], gt: Tensor[], p: number): Tensor {
  return sumLosses('at', Math.min(gs.length, gt.length), (i) => {
    const [fs, ft] = alignSpatial(gs[i]!, gt[i]!);
    return attention(fs, p).sub(attention(ft, p)).pow(2).mean();
  });
}

export class AT extends FeatureDistiller<AtSettings> {
  /** Settings from an experiment config: the reference's AT section (absent: the defaults). */
  static fromConfig = configReader('AT');
  readonly name = 'at';
  constructor(opts: DistillerOptions & Partial<AtSettings>) {
    super('at', opts, AT_DEFAULTS);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const [fs, ft] = featureLists(this.name, s, t, 'stages');
    return () => atLoss(fs.slice(1), ft.slice(1), this.settings.p);
  }
}
