// SP (Tung & Mori, "Similarity-Preserving Knowledge Distillation"): CE + the distance between the
// row-normalised batch similarity (Gram) matrices of the last stage's features. Reference:
// mdistiller SP (cfg.SP: CE_WEIGHT 1, FEAT_WEIGHT 3000).
import type { DistillerOptions } from './distiller.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, configReader, featureLists, normalize } from './feature-common.js';

export const SP_DEFAULTS = { ceWeight: 1, featWeight: 3000 };
export type SpSettings = typeof SP_DEFAULTS;

/** The similarity-preserving loss of one pair of features: ||norm(G_t) - norm(G_s)||^2 / B^2. */
export function spLoss(fs: Tensor, ft: Tensor): Tensor {
  const b = fs.shape[0]!;
  const s = fs.reshape([b, -1]);
  const t = ft.reshape([b, -1]);
  const gs = normalize(s.matmul(s.T), 1);
  const gt = normalize(t.matmul(t.T), 1);
  return gt.sub(gs).square().sum().div(b * b);
}

export class SP extends FeatureDistiller<SpSettings> {
  /** Settings from an experiment config: the reference's SP section (absent: the defaults). */
  static fromConfig = configReader('SP');
  readonly name = 'sp';
  constructor(opts: DistillerOptions & Partial<SpSettings>) {
    super('sp', opts, SP_DEFAULTS);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const [fs, ft] = featureLists(this.name, s, t, 'stages');
    return () => spLoss(fs.at(-1)!, ft.at(-1)!);
  }
}
