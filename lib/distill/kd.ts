// KD (Hinton et al.): CE + KL between softened global logits. Reference: ce 0.1, kd 0.9, T 4.
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import { kd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { methodSettings } from './settings.js';
import type { ExperimentConfig } from '../experiment/config.js';

export const KD_DEFAULTS = { ceWeight: 0.1, kdWeight: 0.9, temperature: 4 };
export type KdSettings = typeof KD_DEFAULTS;

export class KD extends Distiller {
  /** Settings from an experiment config: the reference's KD section (SD-KD reads it too). */
  static fromConfig(cfg: ExperimentConfig): KdSettings {
    return { ceWeight: cfg.KD.LOSS.CE_WEIGHT, kdWeight: cfg.KD.LOSS.KD_WEIGHT, temperature: cfg.KD.TEMPERATURE };
  }
  readonly name = 'kd';
  readonly settings: KdSettings;

  constructor(opts: DistillerOptions & Partial<KdSettings>) {
    super(opts);
    this.settings = methodSettings('kd', opts, KD_DEFAULTS);
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor): LossTerms {
    const { ceWeight, kdWeight, temperature } = this.settings;
    return {
      terms: {
        ce: crossEntropy(s.logits, y).mul(ceWeight),
        kd: this.term('kd', () => kd(s.logits, t!.logits, { temperature, nonFinite: this.nonFinite })).mul(kdWeight),
      },
    };
  }
}
