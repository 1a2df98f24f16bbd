// SD-DKD: DKD over every region with SDD weights. Uses the DKD settings + complementaryWeight 2.
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import { sddDkd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import type { ExperimentConfig } from '../experiment/config.js';
import { lossWarmup, methodSettings } from './settings.js';
import { DKD, DKD_DEFAULTS } from './dkd.js';
import { requireScaleLogits, sddTerms } from './sdd-common.js';

export const SDD_DKD_DEFAULTS = { ...DKD_DEFAULTS, complementaryWeight: 2 };

export class SddDKD extends Distiller {
  /**
   * The DKD section, as DKD reads it, except the warm-up: the reference's SDD_DKD takes cfg.warmup,
   * its train_origin.py --warmup argument (default 20), not DKD.WARMUP (experiment option `warmup`,
   * the CLI's --warmup). complementaryWeight has no config key: its default.
   */
  static fromConfig(cfg: ExperimentConfig): typeof DKD_DEFAULTS {
    return { ...DKD.fromConfig(cfg), warmup: 20 };
  }
  readonly name = 'sdd_dkd';

  readonly settings: typeof SDD_DKD_DEFAULTS;
  constructor(opts: DistillerOptions & Partial<typeof SDD_DKD_DEFAULTS>) {
    super(opts);
    this.settings = methodSettings('sdd_dkd', opts, SDD_DKD_DEFAULTS);
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number): LossTerms {
    const { ceWeight, alpha, beta, temperature, warmup, complementaryWeight } = this.settings;
    const [ss, ts] = requireScaleLogits(this.name, s, t!);
    const d = this.term('kd', () => sddDkd(ss, ts, y, { alpha, beta, temperature, complementaryWeight, details: true, nonFinite: this.nonFinite }));
    return sddTerms({ ce: crossEntropy(s.logits, y).mul(ceWeight), kd: d.loss.mul(lossWarmup(epoch, warmup)) }, d, this.details);
  }
}
