// SD-NKD: NKD over every region with SDD weights. The reference reads the DKD section:
// temperature = DKD.T (4), gamma = DKD.BETA (8), ce = DKD.CE_WEIGHT (1), warm-up DKD.WARMUP (20).
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import { sddNkd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { lossWarmup, methodSettings } from './settings.js';
import type { ExperimentConfig } from '../experiment/config.js';
import { requireScaleLogits, sddTerms } from './sdd-common.js';

export const SDD_NKD_DEFAULTS = { ceWeight: 1, temperature: 4, gamma: 8, warmup: 20, complementaryWeight: 2, excludeTarget: false };

export class SddNKD extends Distiller {
  /** Settings from an experiment config: the reference's SDD_NKD reads the DKD section (gamma = DKD.BETA). */
  static fromConfig(cfg: ExperimentConfig): Partial<typeof SDD_NKD_DEFAULTS> {
    return { ceWeight: cfg.DKD.CE_WEIGHT, temperature: cfg.DKD.T, gamma: cfg.DKD.BETA, warmup: cfg.DKD.WARMUP };
  }
  readonly name = 'sdd_nkd';

  readonly settings: typeof SDD_NKD_DEFAULTS;
  constructor(opts: DistillerOptions & Partial<typeof SDD_NKD_DEFAULTS>) {
    super(opts);
    this.settings = methodSettings('sdd_nkd', opts, SDD_NKD_DEFAULTS);
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number): LossTerms {
    const { ceWeight, temperature, gamma, warmup, complementaryWeight, excludeTarget } = this.settings;
    const [ss, ts] = requireScaleLogits(this.name, s, t!);
    const d = this.term('kd', () => sddNkd(ss, ts, y, { temperature, gamma, complementaryWeight, excludeTarget, details: true, nonFinite: this.nonFinite }));
    return sddTerms({ ce: crossEntropy(s.logits, y).mul(ceWeight), kd: d.loss.mul(lossWarmup(epoch, warmup)) }, d, this.details);
  }
}
