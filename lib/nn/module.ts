// The Module base: parameters, buffers and children discovered the way PyTorch users expect,
// PyTorch state-dict keys, train/eval, device/dtype moves, and the frozen-teacher path.
import './binding.js';
import { native, type Handle } from '../core/native.js';
import { Tensor, fromHandle } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { checkDevice, dtypeCode, dtypeName, isDtypeName, isFloatingDtype, type Device, type DType, type DTypeLike } from '../core/dtype.js';
import { checkBoolean, checkKnownKeys, checkOptions, invalidParameterError, StateDictError } from '../core/errors.js';
import { GRAD_MODE, IN_PLACE, UNARY } from '../core/codes.js';

type AnyRecord = Record<string, unknown>;

/**
 * A tensor that is a module's learnable parameter (torch.nn.Parameter): a leaf sharing the data
 * of `data`, with requiresGrad (default true). Assigning one to a module property registers it.
 * Parameters are exempt from tidy() scopes: the module owns them.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw invalidParameterError('data', 'a Tensor', data);
    checkBoolean('requiresGrad', requiresGrad);
    super(native.unary(UNARY.detach, data.handle));
    keep(this);
    if (requiresGrad) native.setRequiresGrad(this.handle, true);
  }
}

export interface LoadStateDictOptions {
  /** Missing and unexpected keys are an error (default true). Shape mismatches always are. */
  strict?: boolean;
  /** Removes this prefix from the checkpoint's keys first (e.g. 'module.' from DataParallel). */
  stripPrefix?: string;
}
export interface LoadStateDictResult { missingKeys: string[]; unexpectedKeys: string[] }

export type MemoryFormat = 'contiguous' | 'channelsLast';
export interface ToOptions { dtype?: DTypeLike; device?: Device; memoryFormat?: MemoryFormat }

export interface FreezeOptions {
  /** Fold every BatchNorm declared as directly following a convolution into it (default true). */
  foldBatchNorm?: boolean;
  /**
   * Run in a lower precision: 'bfloat16' (CPU) or 'float16' (CUDA). The frozen layers keep
   * converted copies; the parameters (and stateDict()) stay as they are; zoo models convert their
   * input and return float32 logits (features stay in this dtype). On the CPU bfloat16 is only fast
   * where the processor has AVX512-BF16 or AMX (libtorch then uses oneDNN); elsewhere its
   * convolutions fall back to slow generic kernels (several times slower than float32).
   */
  dtype?: DTypeLike;
}

/** What freeze() did, for layers and for models that cast their input/output. */
export interface FrozenState { foldBatchNorm: boolean; dtype: DType | null }

const NAME_RE = /^[^.]+$/;

/**
 * Base class of every layer and model (torch.nn.Module). Children and parameters are found by
 * assignment (`this.conv1 = new nn.Conv2d(...)`, `this.scale = new nn.Parameter(t)`) or registered
 * explicitly (registerModule / registerParameter / registerBuffer). Registration order is the
 * state-dict order, as in PyTorch. Subclasses implement `forward`.
 */
export class Module {
  /** True in training mode (train()), false after eval(). */
  training = true;
  #params: string[] = [];
  #buffers: string[] = [];
  #modules: string[] = [];
  #known = new Set<string>();
  #nonPersistent = new Set<string>();
  #convBn: [Module, Module][] = [];
  #frozen: FrozenState | null = null;
  #memoryFormat: MemoryFormat = 'contiguous';

  /** The computation; subclasses override it (PyTorch's forward). */
  forward(...args: unknown[]): unknown {
    throw new Error(`${this.constructor.name} has no forward(): subclasses of nn.Module implement forward(...)`);
  }

  // ------------------------------------------------------------ registration
  #slot(name: string): unknown {
    return (this as unknown as AnyRecord)[name];
  }

  #checkName(kind: string, name: unknown): string {
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw invalidParameterError(`${kind} name`, 'a non-empty string without "."', name);
    }
    return name;
  }

  #register(list: string[], name: string, value: unknown): void {
    const self = this as unknown as AnyRecord;
    if (!this.#known.has(name)) {
      if (name in self && self[name] !== undefined && self[name] !== null) {
        throw new Error(`${this.constructor.name} already has an attribute "${name}"`);
      }
      list.push(name);
      this.#known.add(name);
    } else if (!list.includes(name)) {
      throw new Error(`${this.constructor.name}: "${name}" is already registered as another kind of member`);
    }
    self[name] = value;
  }

  /** Registers a parameter (a Tensor is wrapped in a Parameter sharing its data); null keeps the slot (like bias=None). */
  registerParameter(name: string, param: Tensor | null): Parameter | null {
    this.#checkName('parameter', name);
    if (param !== null && !(param instanceof Tensor)) throw invalidParameterError(`parameter ${name}`, 'a Tensor or null', param);
    const p = param === null ? null : param instanceof Parameter ? param : new Parameter(param);
    this.#register(this.#params, name, p);
    return p;
  }

  /** Registers a buffer (state that is not learned, e.g. BatchNorm's running statistics). */
  registerBuffer(name: string, tensor: Tensor | null, opts: { persistent?: boolean } = {}): Tensor | null {
    this.#checkName('buffer', name);
    if (tensor !== null && !(tensor instanceof Tensor)) throw invalidParameterError(`buffer ${name}`, 'a Tensor or null', tensor);
    if (tensor !== null) keep(tensor);
    this.#register(this.#buffers, name, tensor);
    if (opts.persistent === false) this.#nonPersistent.add(name);
    else this.#nonPersistent.delete(name);
    return tensor;
  }

  /** Registers a child module under `name` (also reachable as this[name]). */
  registerModule<M extends Module | null>(name: string, module: M): M {
    this.#checkName('module', name);
    if (module !== null && !(module instanceof Module)) throw invalidParameterError(`module ${name}`, 'an nn.Module or null', module);
    this.#register(this.#modules, name, module);
    return module;
  }

  /** PyTorch's add_module. */
  addModule<M extends Module | null>(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  /**
   * Declares that `bn` always directly follows `conv` and is the only user of its output, so that
   * freeze() may fold the BatchNorm into the convolution. Sequential finds such pairs itself.
   */
  registerConvBn(conv: Module, bn: Module): void {
    this.#convBn.push([conv, bn]);
  }

  /** @internal the conv → BN pairs this module declares foldable. */
  _convBnPairs(): [Module, Module][] {
    return this.#convBn;
  }

  /** Finds members assigned as properties (modules and Parameters) that were not registered. */
  #sync(): void {
    const self = this as unknown as AnyRecord;
    for (const key of Object.keys(self)) {
      if (this.#known.has(key)) continue;
      const v = self[key];
      if (v instanceof Module) {
        this.#modules.push(key);
        this.#known.add(key);
      } else if (v instanceof Parameter) {
        this.#params.push(key);
        this.#known.add(key);
      }
    }
  }

  // ------------------------------------------------------------ traversal
  /** Direct children as [name, module] pairs, in registration order. */
  namedChildren(): [string, Module][] {
    this.#sync();
    const out: [string, Module][] = [];
    for (const n of this.#modules) {
      const m = this.#slot(n);
      if (m instanceof Module) out.push([n, m]);
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all below it, pre-order (PyTorch's named_modules), each once. */
  namedModules(prefix = '', seen: Set<Module> = new Set()): [string, Module][] {
    const out: [string, Module][] = [];
    const visit = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.namedChildren()) visit(c, p ? `${p}.${n}` : n);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters as [dotted name, Parameter] pairs (shared parameters once), PyTorch's order. */
  namedParameters(opts: { prefix?: string; recurse?: boolean } = {}): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    const mods = opts.recurse === false ? [[opts.prefix ?? '', this] as [string, Module]] : this.namedModules(opts.prefix ?? '');
    for (const [mp, m] of mods) {
      m.#sync();
      for (const n of m.#params) {
        const p = m.#slot(n);
        if (p instanceof Tensor && !seen.has(p)) {
          seen.add(p);
          out.push([mp ? `${mp}.${n}` : n, p as Parameter]);
        }
      }
    }
    return out;
  }

  parameters(opts: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(opts).map(([, p]) => p);
  }

  /** Buffers as [dotted name, Tensor] pairs (persistent and not). */
  namedBuffers(opts: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods = opts.recurse === false ? [[opts.prefix ?? '', this] as [string, Module]] : this.namedModules(opts.prefix ?? '');
    for (const [mp, m] of mods) {
      for (const n of m.#buffers) {
        const b = m.#slot(n);
        if (b instanceof Tensor && !seen.has(b)) {
          seen.add(b);
          out.push([mp ? `${mp}.${n}` : n, b]);
        }
      }
    }
    return out;
  }

  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(opts).map(([, b]) => b);
  }

  /** Number of parameter elements (trainableOnly: those with requiresGrad). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.numel;
    return n;
  }

  /** Calls fn on every child (recursively) and then on this module, like PyTorch's apply. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ------------------------------------------------------------ modes
  /** Training mode (dropout active, BatchNorm uses and updates batch statistics); recursive. */
  train(mode = true): this {
    checkBoolean('mode', mode);
    const all = this.modules();
    if (mode) {
      const frozen = all.find((m) => m.#frozen !== null);
      if (frozen) {
        throw new Error(`${frozen.constructor.name} is frozen (freeze()): a frozen teacher stays in eval mode. ` +
          'Call unfreeze() first to train it.');
      }
    }
    for (const m of all) m.training = mode;
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Drops the gradients of all parameters (setToNone, the default) or zeroes them in place. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const toNone = opts.setToNone ?? true;
    for (const p of this.parameters()) {
      if (toNone) {
        native.setGrad(p.handle, null);
      } else {
        const g = native.grad(p.handle);
        if (g !== null) {
          native.inPlace(IN_PLACE.zero, g, null);
          native.dispose(g);
        }
      }
    }
  }

  /** Sets requiresGrad on every parameter (PyTorch's requires_grad_). */
  requiresGrad_(requiresGrad = true): this {
    checkBoolean('requiresGrad', requiresGrad);
    for (const p of this.parameters()) native.setRequiresGrad(p.handle, requiresGrad);
    return this;
  }

  // ------------------------------------------------------------ device, dtype, memory format
  /** The memory format set by to({ memoryFormat }) / toChannelsLast(); zoo models convert their input to it. */
  get memoryFormat(): MemoryFormat {
    return this.#memoryFormat;
  }

  /**
   * Moves/converts every parameter and buffer in place (the Parameter objects stay the same, so an
   * optimizer built before still holds them): a device ('cpu', 'cuda:0'), a floating dtype (integer
   * buffers such as num_batches_tracked keep theirs), or { dtype, device, memoryFormat }.
   */
  to(target: DTypeLike | Device | ToOptions): this {
    let dtype: number | null = null;
    let device: string | null = null;
    let memoryFormat: MemoryFormat | null = null;
    if (typeof target === 'string') {
      if (isDtypeName(target)) dtype = dtypeCode('dtype', target);
      else if (/^(float|int|uint|bool|double|half|long|bfloat)/.test(target)) dtype = dtypeCode('dtype', target);
      else device = checkDevice('device', target); // 'gpu' -> unknown device 'gpu' (did you mean 'cuda'?)
    } else {
      const o = checkOptions('to() options', target) as ToOptions;
      checkKnownKeys('to() options', o as AnyRecord, ['dtype', 'device', 'memoryFormat']);
      if (o.dtype !== undefined) dtype = dtypeCode('dtype', o.dtype);
      if (o.device !== undefined) device = checkDevice('device', o.device);
      if (o.memoryFormat !== undefined) {
        if (o.memoryFormat !== 'contiguous' && o.memoryFormat !== 'channelsLast') {
          throw invalidParameterError('memoryFormat', "'contiguous' or 'channelsLast'", o.memoryFormat);
        }
        memoryFormat = o.memoryFormat;
      }
    }
    if (dtype !== null && !['float32', 'float64', 'float16', 'bfloat16'].includes(dtypeName(dtype))) {
      throw invalidParameterError('dtype', 'a floating dtype (float32, float64, float16, bfloat16)', dtypeName(dtype));
    }
    const frozen = this.modules().find((m) => m.#frozen !== null);
    if (frozen) {
      throw new Error(`${frozen.constructor.name} is frozen: call to() / toChannelsLast() before freeze(), or unfreeze() first`);
    }
    const convert = (h: Handle): Handle | null => {
      const [shape, code] = native.info(h);
      const floating = isFloatingDtype(dtypeName(code));
      let out = native.to(h, floating ? dtype : null, device, false);
      if (memoryFormat !== null && shape.length === 4) {
        const f = native.unary(memoryFormat === 'channelsLast' ? UNARY.channelsLast : UNARY.contiguous, out);
        native.dispose(out);
        out = f;
      }
      return out;
    };
    const tensors = new Set<Tensor>([...this.parameters(), ...this.buffers()]);
    for (const t of tensors) {
      const h = convert(t.handle)!;
      native.nnSetData(t.handle, h);
      native.dispose(h);
      const g = native.grad(t.handle);
      if (g !== null) {
        const g2 = convert(g)!;
        native.setGrad(t.handle, g2);
        native.dispose(g2);
        native.dispose(g);
      }
    }
    if (memoryFormat !== null) for (const m of this.modules()) m.#memoryFormat = memoryFormat;
    return this;
  }

  /** to({ memoryFormat: 'channelsLast' }): 4-D weights in NHWC order; zoo models also convert their input. */
  toChannelsLast(): this {
    return this.to({ memoryFormat: 'channelsLast' });
  }

  cpu(): this { return this.to('cpu'); }
  cuda(index?: number): this { return this.to(index === undefined ? 'cuda' : (`cuda:${index}` as Device)); }
  float(): this { return this.to('float32'); }
  double(): this { return this.to('float64'); }

  // ------------------------------------------------------------ state dict
  #saveTo(out: Record<string, Tensor>, prefix: string, keepVars: boolean): void {
    this.#sync();
    const put = (name: string, t: unknown): void => {
      if (t instanceof Tensor) out[prefix + name] = keepVars ? t : fromHandle(native.unary(UNARY.detach, t.handle));
    };
    for (const n of this.#params) put(n, this.#slot(n));
    for (const n of this.#buffers) if (!this.#nonPersistent.has(n)) put(n, this.#slot(n));
    for (const n of this.#modules) {
      const m = this.#slot(n);
      if (m instanceof Module) m.#saveTo(out, `${prefix}${n}.`, keepVars);
    }
  }

  /**
   * The parameters and persistent buffers by PyTorch key ("layer1.0.conv1.weight",
   * "bn1.running_mean", "bn1.num_batches_tracked", ...), in PyTorch's order. Values are detached
   * tensors sharing the module's storage (keepVars: the Parameter/buffer objects themselves).
   */
  stateDict(opts: { keepVars?: boolean; prefix?: string } = {}): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.#saveTo(out, opts.prefix ?? '', opts.keepVars === true);
    return out;
  }

  /**
   * Copies a state dict into this module's parameters and buffers (no grad, converting dtype and
   * device to the module's). Nothing is copied unless every key fits: missing and unexpected keys
   * (when strict, the default) and shape mismatches (always) raise one StateDictError listing them
   * all. A checkpoint without any num_batches_tracked (older PyTorch) leaves those counters at 0.
   * On a frozen module (freeze()) the folded / converted inference copies are made again from the
   * new weights, so it computes what a module loaded first and frozen afterwards computes.
   */
  loadStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const o = checkOptions('loadStateDict options', opts) as LoadStateDictOptions;
    checkKnownKeys('loadStateDict options', o as AnyRecord, ['strict', 'stripPrefix']);
    const strict = o.strict === undefined ? true : checkBoolean('strict', o.strict);
    if (o.stripPrefix !== undefined && typeof o.stripPrefix !== 'string') throw invalidParameterError('options.stripPrefix', "a key prefix to remove (e.g. 'module.')", o.stripPrefix);
    if (stateDict === null || typeof stateDict !== 'object') {
      throw invalidParameterError('stateDict', 'an object or Map of name -> Tensor', stateDict);
    }
    const entries = stateDict instanceof Map ? [...stateDict.entries()] : Object.entries(stateDict);
    const src = new Map<string, Tensor>();
    for (const [k0, v] of entries) {
      const k = o.stripPrefix && k0.startsWith(o.stripPrefix) ? k0.slice(o.stripPrefix.length) : k0;
      if (!(v instanceof Tensor)) throw invalidParameterError(`stateDict["${k0}"]`, 'a Tensor', v);
      src.set(k, v);
    }
    const own = this.stateDict({ keepVars: true });
    const ownKeys = Object.keys(own);
    let missing = ownKeys.filter((k) => !src.has(k));
    const unexpected = [...src.keys()].filter((k) => !(k in own));
    const legacyCounters = missing.filter((k) => k.endsWith('.num_batches_tracked') || k === 'num_batches_tracked');
    const srcHasCounters = [...src.keys()].some((k) => k.endsWith('num_batches_tracked'));
    if (!srcHasCounters) missing = missing.filter((k) => !legacyCounters.includes(k));
    const mismatched: StateDictError['mismatchedKeys'] = [];
    for (const k of ownKeys) {
      const s = src.get(k);
      if (s === undefined) continue;
      const expected = own[k]!.shape;
      const received = s.shape;
      if (expected.length !== received.length || expected.some((d, i) => d !== received[i])) mismatched.push({ key: k, expected, received });
    }
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      let hint = '';
      const srcKeys = [...src.keys()];
      if (srcKeys.length > 0 && srcKeys.every((k) => k.startsWith('module.')) && !ownKeys.some((k) => k.startsWith('module.'))) {
        hint = "every checkpoint key starts with 'module.' (saved from DataParallel): pass { stripPrefix: 'module.' }";
      } else if (srcKeys.length === 1 && /^(model|state_dict)$/.test(srcKeys[0]!)) {
        hint = `the checkpoint wraps the state dict in "${srcKeys[0]}": pass that entry`;
      }
      throw new StateDictError(this.constructor.name, missing, unexpected, mismatched, hint);
    }
    native.withGradMode(GRAD_MODE.noGrad, () => {
      for (const k of ownKeys) {
        const s = src.get(k);
        if (s !== undefined) native.inPlace(IN_PLACE.copy, own[k]!.handle, s.handle);
      }
    });
    this.#refreeze();
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  // ------------------------------------------------------------ frozen teachers
  /** @internal layers override: make inference copies (folded and/or converted). */
  _freezeLayer(state: FrozenState, dtype: number | null): void {}
  /** @internal layers override: drop the inference copies. */
  _unfreezeLayer(): void {}
  /** @internal conv layers implement it (see Conv2d). */
  _foldBatchNorm?(bn: Module): boolean;

  /** How this module was frozen, or null. */
  get frozen(): FrozenState | null {
    return this.#frozen;
  }

  /**
   * Makes this a frozen teacher: eval mode, requiresGrad false on every parameter, each BatchNorm
   * that directly follows a convolution folded into it (foldBatchNorm, default true: the BN layer
   * becomes an identity and the conv uses W·γ/σ and (b − μ)·γ/σ + β), optionally a lower-precision
   * copy of the weights (dtype). Parameters and stateDict() are left unchanged; unfreeze() undoes it.
   */
  freeze(opts: FreezeOptions = {}): this {
    const o = checkOptions('freeze options', opts) as FreezeOptions;
    checkKnownKeys('freeze options', o as AnyRecord, ['foldBatchNorm', 'dtype']);
    const fold = o.foldBatchNorm === undefined ? true : checkBoolean('foldBatchNorm', o.foldBatchNorm);
    const dt = o.dtype === undefined ? null : dtypeCode('dtype', o.dtype);
    if (dt !== null && !['float32', 'float64', 'float16', 'bfloat16'].includes(dtypeName(dt))) {
      throw invalidParameterError('freeze dtype', 'a floating dtype', o.dtype);
    }
    if (dt !== null && dtypeName(dt) === 'float16' && this.parameters().some((p) => p.device === 'cpu')) {
      throw new Error("freeze({ dtype: 'float16' }): libtorch has no float16 convolutions on the CPU; use 'bfloat16' on the " +
        "CPU (fast only where the CPU has AVX512-BF16 or AMX) or move the model to CUDA first");
    }
    if (this.#frozen !== null) this.unfreeze();
    this.eval();
    for (const p of this.parameters()) native.setRequiresGrad(p.handle, false);
    const state: FrozenState = { foldBatchNorm: fold, dtype: dt === null ? null : dtypeName(dt) };
    const all = this.modules();
    native.withGradMode(GRAD_MODE.noGrad, () => {
      if (fold) {
        for (const m of all) {
          for (const [conv, bn] of m._convBnPairs()) conv._foldBatchNorm?.(bn);
        }
      }
      for (const m of all) m._freezeLayer(state, dt);
    });
    for (const m of all) m.#frozen = state;
    return this;
  }

  /**
   * After new weights were copied in (loadStateDict): the frozen layers' folded and converted
   * copies are made again from them, as freeze() made them, so a frozen model computes with the
   * weights it holds. A conv/BN pair folded by freeze() is refolded even when only one of the two
   * is inside this module.
   */
  #refreeze(): void {
    const frozen = this.modules().filter((m) => m.#frozen !== null);
    if (frozen.length === 0) return;
    const pairs = new Map<Module, Module>(); // conv -> the BN folded into it
    for (const m of frozen) {
      const bn = (m as { _foldedBatchNorm?: Module | null })._foldedBatchNorm;
      if (bn) pairs.set(m, bn);
      const conv = (m as { _foldedInto?: Module | null })._foldedInto;
      if (conv) pairs.set(conv, m);
    }
    const redo = new Set<Module>([...frozen, ...pairs.keys()]);
    native.withGradMode(GRAD_MODE.noGrad, () => {
      for (const m of redo) m._unfreezeLayer();
      for (const [conv, bn] of pairs) conv._foldBatchNorm?.(bn);
      for (const m of redo) {
        const state = m.#frozen;
        if (state !== null) m._freezeLayer(state, state.dtype === null ? null : dtypeCode('dtype', state.dtype));
      }
    });
  }

  /** Undoes freeze(): unfolded layers, requiresGrad true on every parameter, still in eval mode. */
  unfreeze(): this {
    const all = this.modules();
    for (const m of all) m._unfreezeLayer();
    for (const m of all) m.#frozen = null;
    for (const p of this.parameters()) native.setRequiresGrad(p.handle, true);
    return this;
  }

  // ------------------------------------------------------------ printing
  /** Extra text inside the layer's parentheses when printed (PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  toString(): string {
    const kids = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (kids.length === 0) return `${head})`;
    const body = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${body.join('\n')}\n)`;
  }
}

/** @internal a new Parameter of the given shape (uninitialised data). */
export function emptyParameter(shape: number[], dtype: DTypeLike | undefined, device: Device | undefined): Parameter {
  const h = native.empty(shape, dtypeCode('dtype', dtype ?? 'float32'), checkDevice('device', device), false);
  const t = fromHandle(h);
  const p = new Parameter(t);
  t.dispose();
  return p;
}

/** @internal a new kept buffer filled with a value. */
export function filledBuffer(shape: number[], value: number, dtype: DTypeLike, device: Device | undefined): Tensor {
  return keep(fromHandle(native.full(shape, value, dtypeCode('dtype', dtype), checkDevice('device', device), false)));
}

// Layers whose forward returns a fresh tensor that nothing else keeps (the library's own layers
// and the zoo's blocks, by exact class): containers may dispose such intermediates early, so
// activations are freed as soon as the next layer has consumed them (as PyTorch's refcounts do).
const EPHEMERAL = new WeakSet<object>();

/** @internal */
export function markEphemeral(...classes: { prototype: object }[]): void {
  for (const c of classes) EPHEMERAL.add(c.prototype);
}

/** @internal */
export function isEphemeral(m: Module): boolean {
  return EPHEMERAL.has(Object.getPrototypeOf(m) as object);
}
