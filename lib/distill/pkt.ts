// PKT (Passalis & Tefas, "Probabilistic Knowledge Transfer"): CE + the KL divergence between the
// teacher's and the student's conditional distributions of cosine similarities in the batch, on the
// pooled features (evaluated in float64, see pktLoss). Reference: mdistiller PKT (cfg.PKT:
// CE_WEIGHT 1, FEAT_WEIGHT 30000).
import type { DistillerOptions } from './distiller.js';
import { where, type Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, configReader, pooledFeatures } from './feature-common.js';

export const PKT_DEFAULTS = { ceWeight: 1, featWeight: 30000 };
export type PktSettings = typeof PKT_DEFAULTS;

/** Rows scaled to unit norm (plus eps), NaN entries set to 0, as the reference. */
function unitRows(f: Tensor, eps: number): Tensor {
  const n = f.square().sum(1, true).sqrt();
  const u = f.div(n.add(eps));
  return where(u.isnan(), 0, u);
}

/** Similarities scaled to [0, 1] and turned into row distributions. */
function rowDistribution(f: Tensor): Tensor {
  const sim = f.matmul(f.T).add(1).div(2);
  return sim.div(sim.sum(1, true));
}

/**
 * The PKT loss of B x C pooled features. The distiller evaluates it in float64: it is a KL
 * divergence of two nearly equal distributions (~1e-6 before the 30000 weight), a sum whose
 * first-order parts cancel, so in float32 its value carries ~1e-3 relative rounding noise.
 */
export function pktLoss(fs: Tensor, ft: Tensor, eps = 1e-7): Tensor {
  const ps = rowDistribution(unitRows(fs, eps));
  const pt = rowDistribution(unitRows(ft, eps));
  return pt.mul(pt.add(eps).div(ps.add(eps)).log()).mean();
}

export class PKT extends FeatureDistiller<PktSettings> {
  /** Settings from an experiment config: the reference's PKT section (absent: the defaults). */
  static fromConfig = configReader('PKT');
  readonly name = 'pkt';
  constructor(opts: DistillerOptions & Partial<PktSettings>) {
    super('pkt', opts, PKT_DEFAULTS);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const [fs, ft] = pooledFeatures(this.name, s, t);
    return () => pktLoss(fs.double(), ft.double()).to(fs.dtype);
  }
}
