// The optimizer base: parameter groups with their own hyper-parameters, per-parameter state, and a
// state dict (PyTorch's layout: state keyed by parameter index, groups listing indices) for resume.
import { Tensor, isTensor } from '../core/tensor.js';
import { invalidParameterError } from '../core/errors.js';

export interface ParamGroup<H> {
  params: Tensor[];
  /** Hyper-parameters of this group (the optimizer's defaults, overridden per group). */
  options: H;
}

/**
 * What an optimizer optimizes: a list (or iterable) of tensors, parameter groups
 * ({ params, ...options overriding the defaults }), or a module, whose parameters() are taken
 * (optim.sgd(model, …) is optim.sgd(model.parameters(), …)).
 */
export type ParamsInput<H> = Tensor[] | { params: Tensor[]; [key: string]: unknown }[] | Iterable<Tensor> | { parameters(): Tensor[] };

/** The parameter list of a ParamsInput: arrays and iterables as they are, a module's parameters(). */
function paramList(params: unknown): unknown[] {
  if (Array.isArray(params)) return params;
  if (typeof params === 'object' && params !== null) {
    if (typeof (params as { parameters?: unknown }).parameters === 'function' && !isTensor(params)) {
      return [...(params as { parameters(): Iterable<Tensor> }).parameters()];
    }
    if (typeof (params as Iterable<unknown>)[Symbol.iterator] === 'function') return [...(params as Iterable<unknown>)];
  }
  throw invalidParameterError('params', 'a list of tensors (model.parameters()), parameter groups, or a module', params);
}

export interface OptimizerStateDict {
  /** per parameter index: named state tensors and numbers */
  state: Record<number, Record<string, Tensor | number>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  /** per parameter: its state (momentum buffers, moments, step counts) */
  protected readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  protected constructor(params: ParamsInput<H>, defaults: H, validate: (h: H, where: string) => void) {
    const list = paramList(params);
    if (list.length === 0) throw invalidParameterError('params', 'a non-empty list of tensors or parameter groups', params);
    const groups = isTensor(list[0]) ? [{ params: list as Tensor[] }] : (list as { params: Tensor[] }[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      if (!g || !Array.isArray(g.params)) throw invalidParameterError(`params[${gi}]`, 'a Tensor or { params: Tensor[], …options }', g);
      const { params: ps, ...overrides } = g as { params: Tensor[] } & Record<string, unknown>;
      ps.forEach((p, i) => {
        if (!isTensor(p)) throw invalidParameterError(`params[${gi}].params[${i}]`, 'a Tensor', p);
        if (seen.has(p)) throw new Error(`params[${gi}].params[${i}] appears in more than one parameter group`);
        seen.add(p);
      });
      const options = { ...defaults, ...overrides } as H;
      validate(options, groups.length > 1 ? `params[${gi}]` : 'options');
      return { params: ps, options };
    });
  }

  /** Every parameter, in group order (the indices of the state dict). */
  get params(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Sets the learning rate of every group (schedules call this). */
  setLr(lr: number | ((group: number, current: number) => number)): void {
    this.paramGroups.forEach((g, i) => { g.options.lr = typeof lr === 'function' ? lr(i, g.options.lr) : lr; });
  }

  get lr(): number {
    return this.paramGroups[0]!.options.lr;
  }

  /** Drops every parameter's gradient (set to none, PyTorch's default since 2.0). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.zeroGrad();
  }

  abstract step(): void;

  stateDict(): OptimizerStateDict {
    const index = new Map(this.params.map((p, i) => [p, i] as const));
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) state[index.get(p)!] = { ...s };
    let offset = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const ids = g.params.map((_, i) => offset + i);
      offset += g.params.length;
      return { ...g.options, params: ids };
    });
    return { state, paramGroups };
  }

  /** The hyper-parameter names of a group (what stateDict() saves per group); undefined: not checked. */
  protected readonly optionNames: readonly string[] | undefined = undefined;
  /** The names of a parameter's state entries (e.g. SGD's momentumBuffer); undefined: not checked. */
  protected readonly stateNames: readonly string[] | undefined = undefined;

  /**
   * Throws, changing nothing, unless `sd` is a state dict this optimizer can load: the same number
   * of groups and parameters, and hyper-parameters and state named as this optimizer names them (a
   * state dict of another optimizer type is refused, naming both). `label` prefixes the message.
   */
  checkStateDict(sd: OptimizerStateDict, label = 'loadStateDict'): void {
    const params = this.params;
    const own = this.constructor.name;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new Error(`${label}: not an optimizer state dict ({ state, paramGroups })`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${label}: the saved optimizer has ${sd.paramGroups.length} parameter groups, this one ${this.paramGroups.length}`);
    }
    const other = (names: string[]): string => {
      const guess = names.some((n) => n === 'momentumBuffer' || n === 'momentum' || n === 'nesterov' || n === 'dampening') ? 'SGD'
        : names.some((n) => n === 'expAvg' || n === 'expAvgSq' || n === 'betas') ? 'AdamW' : 'another optimizer';
      return guess === own ? 'another optimizer' : guess;
    };
    sd.paramGroups.forEach((g, i) => {
      if (!g || !Array.isArray(g.params)) throw new Error(`${label}: group ${i} has no params list`);
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        throw new Error(`${label}: group ${i} has ${g.params.length} parameters saved but ${this.paramGroups[i]!.params.length} here`);
      }
      const names = this.optionNames;
      const foreign = names ? Object.keys(g).filter((k) => k !== 'params' && !names.includes(k)) : [];
      if (foreign.length > 0) {
        throw new Error(`${label}: the saved optimizer state is ${other(foreign)}'s (its groups have ${foreign.join(', ')}) but this optimizer is ${own} ` +
          `(${names!.join(', ')}): resume with the same optimizer type the state was saved from`);
      }
    });
    for (const [k, s] of Object.entries(sd.state)) {
      if (!params[Number(k)]) throw new Error(`${label}: state for parameter ${k}, but there are only ${params.length}`);
      const names = this.stateNames;
      const foreign = names ? Object.keys(s ?? {}).filter((n) => !names.includes(n)) : [];
      if (foreign.length > 0) {
        throw new Error(`${label}: the saved optimizer state is ${other(foreign)}'s (parameter ${k} has ${foreign.join(', ')}) but this optimizer is ${own} ` +
          `(it keeps ${names!.join(', ') || 'no state'}): resume with the same optimizer type the state was saved from`);
      }
    }
  }

  /** Restores state saved by stateDict() for the same parameter list (tensors are copied). */
  loadStateDict(sd: OptimizerStateDict): void {
    const params = this.params;
    this.checkStateDict(sd);
    sd.paramGroups.forEach((g, i) => {
      const { params: _ids, ...options } = g;
      Object.assign(this.paramGroups[i]!.options, options);
    });
    for (const s of this.state.values()) for (const v of Object.values(s)) if (isTensor(v)) v.dispose();
    this.state.clear();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = params[Number(k)];
      if (!p) throw new Error(`loadStateDict: state for parameter ${k}, but there are only ${params.length}`);
      const copy: Record<string, Tensor | number> = {};
      for (const [name, v] of Object.entries(s)) {
        if (isTensor(v)) {
          const shape = p.shape;
          if (v.shape.join() !== shape.join()) throw new Error(`loadStateDict: ${name} of parameter ${k} has shape [${v.shape}] but the parameter [${shape}]`);
          copy[name] = v.to({ dtype: p.dtype, device: p.device as 'cpu' }).clone();
        } else {
          copy[name] = v;
        }
      }
      this.state.set(p, copy);
    }
  }

  /** Frees the optimizer's state tensors. */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (isTensor(v)) v.dispose();
    this.state.clear();
  }
}
