// NST (Huang & Wang, "Like What You Like: Neuron Selectivity Transfer"): CE + the squared MMD with a
// degree-2 polynomial kernel between the channels' normalised spatial activations, every stage
// after the stem. Reference: mdistiller NST (cfg.NST: CE_WEIGHT 1, FEAT_WEIGHT 50).
import type { DistillerOptions } from './distiller.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, alignSpatial, configReader, featureLists, normalize, sumLosses } from './feature-common.js';

export const NST_DEFAULTS = { ceWeight: 1, featWeight: 50 };
export type NstSettings = typeof NST_DEFAULTS;

/** (a_i . b_j)^2 for every pair of rows of B x Ca x D and B x Cb x D. */
function polyKernel(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b.transpose(1, 2)).square();
}

/** The NST loss of one pair of features. */
export function nstStageLoss(fs0: Tensor, ft0: Tensor): Tensor {
  const [fs1, ft1] = alignSpatial(fs0, ft0);
  const fs = normalize(fs1.reshape([fs1.shape[0]!, fs1.shape[1]!, -1]), 2);
  const ft = normalize(ft1.reshape([ft1.shape[0]!, ft1.shape[1]!, -1]), 2);
  return polyKernel(ft, ft).mean().detach().add(polyKernel(fs, fs).mean()).sub(polyKernel(fs, ft).mean().mul(2));
}

export function nstLoss(gs: Tensor[], gt: Tensor[]): Tensor {
  return sumLosses('nst', Math.min(gs.length, gt.length), (i) => nstStageLoss(gs[i]!, gt[i]!));
}

export class NST extends FeatureDistiller<NstSettings> {
  /** Settings from an experiment config: the reference's NST section (absent: the defaults). */
  static fromConfig = configReader('NST');
  readonly name = 'nst';
  constructor(opts: DistillerOptions & Partial<NstSettings>) {
    super('nst', opts, NST_DEFAULTS);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const [fs, ft] = featureLists(this.name, s, t, 'stages');
    return () => nstLoss(fs.slice(1), ft.slice(1));
  }
}
