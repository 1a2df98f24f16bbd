// The student alone: cross-entropy on its global logits (the reference's DISTILLER.TYPE NONE).
import { Distiller, type DistillerOptions, type LossTerms } from './distiller.js';
import { crossEntropy } from '../nn/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelOutput } from './types.js';
import { methodSettings } from './settings.js';

export class Vanilla extends Distiller {
  /** No settings of its own (the reference's DISTILLER.TYPE NONE). */
  static fromConfig(): Record<string, never> {
    return {};
  }
  readonly name = 'vanilla';

  protected override readonly needsTeacher = false;
  constructor(opts: DistillerOptions) {
    super(opts);
    methodSettings('vanilla', opts, {}); // no settings of its own: anything else is a mistake
  }
  protected losses(s: ModelOutput, _t: ModelOutput | undefined, y: Tensor): LossTerms {
    return { terms: { ce: crossEntropy(s.logits, y) } };
  }
}
