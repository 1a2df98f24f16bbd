// AdamW (decoupled weight decay), torch.optim.AdamW's update.
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import { zerosLike } from '../core/creation.js';
import { keep } from '../core/scope.js';
import { noGrad } from '../core/autograd.js';
import { checkOptions, invalidParameterError, type OptionSchema } from '../core/errors.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}
interface AdamWHyper { lr: number; betas: [number, number]; eps: number; weightDecay: number; maximize: boolean }
const SCHEMA: OptionSchema = {
  lr: { kind: 'number', min: 0 },
  betas: { kind: 'array', expected: 'two numbers in [0, 1)', check: (name, b) => {
    const ok = (x: unknown) => typeof x === 'number' && x >= 0 && x < 1;
    if ((b as unknown[]).length !== 2 || !(b as unknown[]).every(ok)) throw invalidParameterError(name, 'two numbers in [0, 1)', b);
    return b;
  } },
  eps: { kind: 'number', min: 0 }, weightDecay: { kind: 'number', min: 0 }, maximize: 'boolean',
};
const KEYS = Object.keys(SCHEMA);
const HINTS = {
  beta1: 'betas: [beta1, beta2]', beta2: 'betas: [beta1, beta2]', momentum: 'optim.sgd (momentum is SGD\'s; AdamW has betas)',
  nesterov: 'optim.sgd', amsgrad: 'nothing (AMSGrad is not implemented)', foreach: 'nothing (the update is always fused)',
};

function validate(h: AdamWHyper, where: string): void {
  checkOptions(where === 'options' ? 'optim.adamw options' : `optim.adamw ${where}`, h, SCHEMA, { name: where, hints: HINTS });
}

export class AdamW extends Optimizer<AdamWHyper> {
  protected override readonly optionNames: readonly string[] = KEYS;
  protected override readonly stateNames: readonly string[] = ['step', 'expAvg', 'expAvgSq'];
  constructor(params: ParamsInput<AdamWHyper>, options: AdamWOptions = {}) {
    const o = checkOptions<AdamWOptions>('optim.adamw options', options, SCHEMA, { hints: HINTS });
    super(params, { lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 1e-2,
      maximize: o.maximize ?? false }, validate);
  }

  step(): void {
    for (const g of this.paramGroups) {
      const ps = g.params.filter((p) => p.hasGrad);
      for (const p of ps) {
        let s = this.state.get(p);
        if (!s) {
          s = noGrad(() => ({ step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) }));
          this.state.set(p, s);
        }
        s.step = (s.step as number) + 1;
      }
      if (ps.length === 0) continue;
      const st = ps.map((p) => this.state.get(p)!);
      native.adamwStep(ps.map((p) => p.handle), st.map((s) => (s.expAvg as Tensor).handle), st.map((s) => (s.expAvgSq as Tensor).handle),
        st.map((s) => s.step as number),
        { lr: g.options.lr, beta1: g.options.betas[0], beta2: g.options.betas[1], eps: g.options.eps, weightDecay: g.options.weightDecay, maximize: g.options.maximize });
    }
  }
}

export function adamw(params: ParamsInput<AdamWHyper>, options?: AdamWOptions): AdamW {
  return new AdamW(params, options);
}
