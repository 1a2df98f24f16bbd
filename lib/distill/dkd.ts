// DKD (Zhao et al.): CE + warm-up × DKD(alpha TCKD + beta NCKD). Reference: ce 1, alpha 1, beta 8,
// T 4, warm-up 20 epochs (loss weight min(epoch / warmup, 1)).
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import { dkd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { lossWarmup, methodSettings } from './settings.js';
import type { ExperimentConfig } from '../experiment/config.js';

export const DKD_DEFAULTS = { ceWeight: 1, alpha: 1, beta: 8, temperature: 4, warmup: 20 };

export class DKD extends Distiller {
  /** Settings from an experiment config: the reference's DKD section (SD-DKD reads it too). */
  static fromConfig(cfg: ExperimentConfig): typeof DKD_DEFAULTS {
    return { ceWeight: cfg.DKD.CE_WEIGHT, alpha: cfg.DKD.ALPHA, beta: cfg.DKD.BETA, temperature: cfg.DKD.T, warmup: cfg.DKD.WARMUP };
  }
  readonly name = 'dkd';

  readonly settings: typeof DKD_DEFAULTS;
  constructor(opts: DistillerOptions & Partial<typeof DKD_DEFAULTS>) {
    super(opts);
    this.settings = methodSettings('dkd', opts, DKD_DEFAULTS);
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number): LossTerms {
    const { ceWeight, alpha, beta, temperature, warmup } = this.settings;
    return {
      terms: {
        ce: crossEntropy(s.logits, y).mul(ceWeight),
        kd: this.term('kd', () => dkd(s.logits, t!.logits, y, { alpha, beta, temperature, nonFinite: this.nonFinite })).mul(lossWarmup(epoch, warmup)),
      },
    };
  }
}
