// SGD with momentum, dampening, weight decay and Nesterov, exactly torch.optim.SGD's update.
import { native } from '../core/native.js';
import { Tensor, fromHandle } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { checkOptions, invalidParameterError, type OptionSchema } from '../core/errors.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}
type SgdHyper = Required<SgdOptions>;
const SCHEMA: OptionSchema = {
  lr: { kind: 'number', min: 0 }, momentum: { kind: 'number', min: 0 }, dampening: { kind: 'number', min: 0 },
  weightDecay: { kind: 'number', min: 0 }, nesterov: 'boolean', maximize: 'boolean',
};
const KEYS = Object.keys(SCHEMA);
const HINTS = { betas: 'optim.adamw (betas are AdamW\'s)', foreach: 'nothing (the update is always fused)', differentiable: 'nothing' };

function validate(h: SgdHyper, where: string): void {
  checkOptions(where === 'options' ? 'optim.sgd options' : `optim.sgd ${where}`, h, SCHEMA, { name: where, hints: HINTS });
  if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
    throw new RangeError(`${where}: Nesterov momentum requires a momentum > 0 and zero dampening`);
  }
}

export class SGD extends Optimizer<SgdHyper> {
  protected override readonly optionNames: readonly string[] = KEYS;
  protected override readonly stateNames: readonly string[] = ['momentumBuffer'];
  constructor(params: ParamsInput<SgdHyper>, options: SgdOptions) {
    const o = checkOptions<SgdOptions>('optim.sgd options', options, SCHEMA, { hints: HINTS });
    if (o.lr === undefined) throw invalidParameterError('options.lr', 'a non-negative number (SGD has no default lr)', undefined);
    super(params, { lr: o.lr, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0,
      nesterov: o.nesterov ?? false, maximize: o.maximize ?? false }, validate);
  }

  step(): void {
    for (const g of this.paramGroups) {
      const bufs = g.params.map((p) => (this.state.get(p)?.momentumBuffer as Tensor | undefined)?.handle ?? null);
      const created = native.sgdStep(g.params.map((p) => p.handle), bufs, g.options as unknown as Record<string, unknown>);
      created.forEach((h, i) => {
        if (h !== null) this.state.set(g.params[i]!, { momentumBuffer: keep(fromHandle(h)) });
      });
    }
  }
}

/** optim.sgd(params, { lr, momentum, weightDecay, nesterov }) */
export function sgd(params: ParamsInput<SgdHyper>, options: SgdOptions): SGD {
  return new SGD(params, options);
}
