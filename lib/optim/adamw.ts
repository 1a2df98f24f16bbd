// AdamW (decoupled weight decay), torch.optim.AdamW's update.
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { zerosLike } from '../creation.js';
import { keep } from '../scope.js';
import { noGrad } from '../autograd.js';
import { checkKnownKeys, checkOptions, invalidParameterError } from '../errors.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}
interface AdamWHyper { lr: number; betas: [number, number]; eps: number; weightDecay: number; maximize: boolean }
const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'maximize'];

function validate(h: AdamWHyper, where: string): void {
  checkKnownKeys(where, h as unknown as Record<string, unknown>, KEYS);
  if (!(h.lr >= 0)) throw invalidParameterError(`${where}.lr`, 'a non-negative number', h.lr);
  if (!Array.isArray(h.betas) || h.betas.length !== 2 || !h.betas.every((b) => b >= 0 && b < 1)) {
    throw invalidParameterError(`${where}.betas`, 'two numbers in [0, 1)', h.betas);
  }
  if (!(h.eps >= 0)) throw invalidParameterError(`${where}.eps`, 'a non-negative number', h.eps);
  if (!(h.weightDecay >= 0)) throw invalidParameterError(`${where}.weightDecay`, 'a non-negative number', h.weightDecay);
}

export class AdamW extends Optimizer<AdamWHyper> {
  constructor(params: ParamsInput<AdamWHyper>, options: AdamWOptions = {}) {
    const o = checkOptions('options', options) as AdamWOptions;
    checkKnownKeys('options', o as unknown as Record<string, unknown>, KEYS);
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
