// RKD (Park et al., "Relational Knowledge Distillation"): CE + the smooth-L1 distance between the
// students' and the teacher's pairwise-distance (normalised by their mean) and triplet-angle
// structures of the pooled features in the batch. Reference: mdistiller RKD (cfg.RKD:
// DISTANCE_WEIGHT 25, ANGLE_WEIGHT 50, CE_WEIGHT 1, FEAT_WEIGHT 1, PDIST.EPSILON 1e-12, PDIST.SQUARED false).
import type { DistillerOptions } from './distiller.js';
import type { Tensor } from '../core/tensor.js';
import { eye } from '../core/creation.js';
import { noGrad } from '../core/autograd.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, configReader, normalize, pooledFeatures, smoothL1Loss } from './feature-common.js';

export const RKD_DEFAULTS = { ceWeight: 1, featWeight: 1, distanceWeight: 25, angleWeight: 50, eps: 1e-12, squared: false };
export type RkdSettings = typeof RKD_DEFAULTS;

/** Pairwise (squared) Euclidean distances of the rows, clamped at eps, zero diagonal. */
function pdist(e: Tensor, squared: boolean, eps: number): Tensor {
  const sq = e.square().sum(1);
  const d2 = sq.unsqueeze(1).add(sq.unsqueeze(0)).sub(e.matmul(e.T).mul(2)).clamp(eps);
  const d = squared ? d2 : d2.sqrt();
  const n = e.shape[0]!;
  return d.mul(eye(n, n, { dtype: d.dtype, device: d.device as never }).rsub(1));
}

/** Distances divided by the mean of the positive ones. */
function normalizedDistances(e: Tensor, squared: boolean, eps: number): Tensor {
  const d = pdist(e, squared, eps);
  const pos = d.gt(0).to(d.dtype);
  return d.div(d.mul(pos).sum().div(pos.sum()));
}

/** Cosines of the angles (x_j - x_i, x_k - x_i) for every triplet, flattened. */
function angles(e: Tensor): Tensor {
  const diff = normalize(e.unsqueeze(0).sub(e.unsqueeze(1)), 2);
  return diff.matmul(diff.transpose(1, 2)).reshape([-1]);
}

/** The RKD loss of B x C pooled features (the teacher's side without gradients). */
export function rkdLoss(fs: Tensor, ft: Tensor, opts: { squared?: boolean; eps?: number; distanceWeight?: number; angleWeight?: number } = {}): Tensor {
  const { squared = false, eps = 1e-12, distanceWeight = 25, angleWeight = 50 } = opts;
  const stu = fs.reshape([fs.shape[0]!, -1]);
  const tea = ft.reshape([ft.shape[0]!, -1]);
  const [td, ta] = noGrad(() => [normalizedDistances(tea, squared, eps), angles(tea)]);
  const lossD = smoothL1Loss(normalizedDistances(stu, squared, eps), td!);
  const lossA = smoothL1Loss(angles(stu), ta!);
  return lossD.mul(distanceWeight).add(lossA.mul(angleWeight));
}

export class RKD extends FeatureDistiller<RkdSettings> {
  /** Settings from an experiment config: the reference's RKD section (absent: the defaults). */
  static fromConfig = configReader('RKD');
  readonly name = 'rkd';
  constructor(opts: DistillerOptions & Partial<RkdSettings>) {
    super('rkd', opts, RKD_DEFAULTS);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const [fs, ft] = pooledFeatures(this.name, s, t);
    return () => rkdLoss(fs, ft, this.settings);
  }
}
