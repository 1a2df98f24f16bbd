// NKD (Yang et al.): CE + NKD. The reference's plain NKD: T 1, gamma 1.5, ce 1; excludeTarget false
// keeps its mask quirk (see losses.nkd).
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import { nkd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import type { ExperimentConfig } from '../experiment/config.js';
import { lossWarmup, methodSettings } from './settings.js';

export const NKD_DEFAULTS = { ceWeight: 1, temperature: 1, gamma: 1.5, warmup: 0, excludeTarget: false };

export class NKD extends Distiller {
  /** The reference's plain NKD reads DKD.CE_WEIGHT and DKD.WARMUP (T 1 and gamma 1.5 are fixed there). */
  static fromConfig(cfg: ExperimentConfig): Partial<typeof NKD_DEFAULTS> {
    return { ceWeight: cfg.DKD.CE_WEIGHT, warmup: cfg.DKD.WARMUP };
  }
  readonly name = 'nkd';

  readonly settings: typeof NKD_DEFAULTS;
  constructor(opts: DistillerOptions & Partial<typeof NKD_DEFAULTS>) {
    super(opts);
    this.settings = methodSettings('nkd', opts, NKD_DEFAULTS);
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number): LossTerms {
    const { ceWeight, temperature, gamma, warmup, excludeTarget } = this.settings;
    return {
      terms: {
        ce: crossEntropy(s.logits, y).mul(ceWeight),
        kd: this.term('kd', () => nkd(s.logits, t!.logits, y, { temperature, gamma, excludeTarget, nonFinite: this.nonFinite })).mul(lossWarmup(epoch, warmup)),
      },
    };
  }
}
