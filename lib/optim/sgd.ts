// SGD with momentum, dampening, weight decay and Nesterov, exactly torch.optim.SGD's update.
import { native } from '../native.js';
import { Tensor, fromHandle } from '../tensor.js';
import { keep } from '../scope.js';
import { checkKnownKeys, checkOptions, invalidParameterError } from '../errors.js';
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
const KEYS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'];

function validate(h: SgdHyper, where: string): void {
  checkKnownKeys(where, h as unknown as Record<string, unknown>, KEYS);
  for (const k of ['lr', 'momentum', 'dampening', 'weightDecay'] as const) {
    if (typeof h[k] !== 'number' || !Number.isFinite(h[k]) || h[k] < 0) throw invalidParameterError(`${where}.${k}`, 'a non-negative number', h[k]);
  }
  if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
    throw new RangeError(`${where}: Nesterov momentum requires a momentum > 0 and zero dampening`);
  }
}

export class SGD extends Optimizer<SgdHyper> {
  constructor(params: ParamsInput<SgdHyper>, options: SgdOptions) {
    const o = checkOptions('options', options) as unknown as SgdOptions;
    checkKnownKeys('options', o as unknown as Record<string, unknown>, KEYS);
    if (o.lr === undefined) throw invalidParameterError('options.lr', 'a non-negative number', undefined);
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
