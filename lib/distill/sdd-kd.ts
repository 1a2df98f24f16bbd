// SD-KD: KD over every multi-scale region, complementary regions up-weighted. Uses the KD settings
// (ce 0.1, kd 0.9, T 4) plus complementaryWeight 2; scales come from the models ([1] = plain KD).
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import { sddKd } from '../sdd/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { methodSettings } from './settings.js';
import { KD, KD_DEFAULTS } from './kd.js';
import { sddTerms, requireScaleLogits } from './sdd-common.js';

export const SDD_KD_DEFAULTS = { ...KD_DEFAULTS, complementaryWeight: 2 };

export class SddKD extends Distiller {
  /** The KD section, as KD reads it (complementaryWeight has no config key: its default). */
  static fromConfig = KD.fromConfig;
  readonly name = 'sdd_kd';

  readonly settings: typeof SDD_KD_DEFAULTS;
  constructor(opts: DistillerOptions & Partial<typeof SDD_KD_DEFAULTS>) {
    super(opts);
    this.settings = methodSettings('sdd_kd', opts, SDD_KD_DEFAULTS);
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor): LossTerms {
    const { ceWeight, kdWeight, temperature, complementaryWeight } = this.settings;
    const [ss, ts] = requireScaleLogits(this.name, s, t!);
    const d = this.term('kd', () => sddKd(ss, ts, y, { temperature, complementaryWeight, details: true, nonFinite: this.nonFinite }));
    return sddTerms({ ce: crossEntropy(s.logits, y).mul(ceWeight), kd: d.loss.mul(kdWeight) }, d, this.details);
  }
}
