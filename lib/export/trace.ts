// Records a forward pass as an ONNX graph. While the model runs once on a dummy input, every call
// into the native addon (lib/core/native.ts: the one door to libtorch) goes through a shim: calls
// that touch a traced tensor are computed as usual and also written down as ONNX nodes; tensors that
// do not depend on the input (parameters, buffers, folded weights) become initializers when a traced
// op reads them. Calls the exporter does not know, reads of traced values (data-dependent control
// flow) and random numbers are errors that name the module running (its path in the tree and class).
import { native, type Handle } from '../core/native.js';
import { dtypeName } from '../core/dtype.js';
import { Module } from '../nn/module.js';
import { Activation, BatchNorm2d, Conv2d, Linear } from '../nn/layers.js';
import { OnnxGraph } from './graph.js';
import { adaptivePoolMatrix, multiScaleMatrix } from './pooling.js';

type H = Handle;
type Fn = (...args: unknown[]) => unknown;

/** A traced value: its ONNX name, its shape in the trace, and which dimension follows the batch (null: none). */
interface Val { name: string; shape: number[]; bdim: number | null }

/** What the exporter could not write: names the module (path in the tree and class) and the operation. */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
  /** Dotted path of the module in the tree ('' for the model itself), when known. */
  readonly modulePath: string | undefined;
  /** Its class name, when known. */
  readonly moduleClass: string | undefined;
  constructor(message: string, where?: { path: string; cls: string }) {
    super(message);
    this.modulePath = where?.path;
    this.moduleClass = where?.cls;
  }
}

// Op codes cross the native boundary as numbers: decoded by name through the addon's own tables
// (native.codes, see lib/core/codes.ts), or through the historical numbering for an addon without them.
const LEGACY: Record<string, readonly string[]> = {
  unary: ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'tanh', 'relu', 'sin', 'cos', 'floor', 'ceil', 'round',
    'sign', 'logicalNot', 'reciprocal', 'square', 'log1p', 'expm1', 'gelu', 'silu', 'isnan', 'isfinite', 'clone', 'detach',
    'contiguous', 'relu6', 'log2', 'trunc', 'isinf', 'erf', 'channelsLast'],
  binary: ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd',
    'logicalOr', 'logicalXor', 'matmul', 'remainder', 'atan2', 'floorDivide'],
  binaryScalar: ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd',
    'logicalOr', 'logicalXor', 'matmul', 'remainder', 'atan2', 'floorDivide', 'rsub'],
  reduce: ['sum', 'mean', 'prod', 'std', 'var', 'amax', 'amin', 'logsumexp', 'all', 'any', 'norm'],
  activation: ['none', 'relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh'],
  paddingMode: ['zeros', 'reflect', 'replicate', 'circular'],
};
const decoded = new Map<string, readonly string[]>();

/** The name of code `code` in an addon code family ('unary', 'activation', ...). */
function codeName(family: string, code: unknown): string {
  let names = decoded.get(family);
  if (names === undefined) {
    const table = (native as unknown as { codes?: Record<string, Record<string, number>> }).codes?.[family];
    if (table) {
      const inv: string[] = [];
      for (const [n, c] of Object.entries(table)) inv[c] = n;
      names = inv;
    } else names = LEGACY[family] ?? [];
    decoded.set(family, names);
  }
  return typeof code === 'number' ? (names[code] ?? `#${code}`) : String(code);
}

const UNARY_ONNX: Record<string, string> = { neg: 'Neg', abs: 'Abs', exp: 'Exp', log: 'Log', sqrt: 'Sqrt', sigmoid: 'Sigmoid', tanh: 'Tanh',
  relu: 'Relu', sin: 'Sin', cos: 'Cos', floor: 'Floor', ceil: 'Ceil', sign: 'Sign', reciprocal: 'Reciprocal', erf: 'Erf' };
const UNARY_IDENTITY = new Set(['clone', 'detach', 'contiguous', 'channelsLast']);
const BINARY_ONNX: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min', matmul: 'MatMul' };
const REDUCE_ONNX: Record<string, string> = { sum: 'ReduceSum', mean: 'ReduceMean', amax: 'ReduceMax', amin: 'ReduceMin' };

// Layer settings: named option objects (lib/nn/options.ts), or the packed typed arrays of older addons.
interface ConvSettings { stride: number[]; padding: number[]; dilation: number[]; groups: number; paddingMode: string }
function convSettings(s: unknown): ConvSettings {
  if (s instanceof Int32Array) {
    return { stride: [s[0]!, s[1]!], padding: [s[2]!, s[3]!], dilation: [s[4]!, s[5]!], groups: s[6]!, paddingMode: codeName('paddingMode', s[7]) };
  }
  const o = s as ConvSettings & { paddingMode: string | number };
  return { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups, paddingMode: codeName('paddingMode', o.paddingMode) };
}
function bnEps(s: unknown): number {
  return s instanceof Float64Array ? s[1]! : (s as { eps: number }).eps;
}
interface PoolSettings { kernelSize: number[]; stride: number[]; padding: number[]; dilation: number[]; ceilMode: boolean; countIncludePad: boolean; divisorOverride: number | null }
function maxPoolSettings(s: unknown): PoolSettings {
  if (s instanceof Int32Array) {
    return { kernelSize: [s[0]!, s[1]!], stride: [s[2]!, s[3]!], padding: [s[4]!, s[5]!], dilation: [s[6]!, s[7]!], ceilMode: s[8] === 1, countIncludePad: true, divisorOverride: null };
  }
  const o = s as PoolSettings;
  return { ...o, countIncludePad: true, divisorOverride: null };
}
function avgPoolSettings(s: unknown): PoolSettings {
  if (s instanceof Int32Array) {
    return { kernelSize: [s[0]!, s[1]!], stride: [s[2]!, s[3]!], padding: [s[4]!, s[5]!], dilation: [1, 1], ceilMode: s[6] === 1, countIncludePad: s[7] === 1, divisorOverride: s[8] === 0 ? null : s[8]! };
  }
  const o = s as PoolSettings;
  return { ...o, dilation: [1, 1], divisorOverride: o.divisorOverride ?? null };
}
function pairOf(s: unknown): [number, number] {
  const a = s as ArrayLike<number>;
  return [a[0]!, a[1]!];
}

/** Where the tensors are among the arguments of the calls the exporter writes or refuses ('list': an array first). */
const HANDLE_ARGS: Record<string, number[] | 'list'> = {
  nnConv2d: [0, 1, 2], nnConvBnAct: [0, 1, 2, 4, 5, 6, 7, 8, 11], nnBatchNorm: [0, 1, 2, 3, 4, 5], nnAct: [0], nnAddAct: [0, 1],
  nnMaxPool2d: [0], nnAvgPool2d: [0], nnAdaptiveAvgPool2d: [0], nnGlobalPoolLinear: [0, 1, 2], nnDropout: [0], nnChannelShuffle: [0],
  linear: [0, 1, 2], scaleLogits: [0, 1, 2], multiScalePool: [0], unary: [1], binary: [1, 2], binaryScalar: [1], clamp: [0],
  leakyRelu: [0], softmax: [0], logSoftmax: [0], reduce: [1], reshape: [0], view: [0], flatten: [0], permute: [0], transpose: [0],
  squeeze: [0], unsqueeze: [0], cat: 'list', stack: 'list', narrow: [0], slice: [0], select: [0], split: [0], chunk: [0], to: [0],
  item: [0], toTypedArray: [0], toFloat64Array: [0], viewTypedArray: [0], allclose: [0, 1], equal: [0, 1],
};

/** Calls that only look at handles (shape, dtype, lifetime) or at global state: passed through. */
const PASS = new Set(['dispose', 'guard', 'isDisposed', 'memory', 'shape', 'dtype', 'device', 'numel', 'dim', 'info', 'isContiguous',
  'requiresGrad', 'isLeaf', 'hasGrad', 'isGradEnabled', 'isInferenceMode', 'withGradMode', 'buildInfo', 'cudaIsAvailable',
  'cudaDeviceCount', 'cudaSynchronize', 'getNumThreads', 'nnIsChannelsLast', 'setRequiresGrad', 'retainGrad']);
/** Calls that read a tensor's values into JS. */
const READS = new Set(['item', 'toTypedArray', 'toFloat64Array', 'viewTypedArray', 'allclose', 'equal']);
/** Calls that draw random numbers. */
const RANDOM = new Set(['rand', 'randn', 'randint', 'randperm', 'manualSeed', 'setRngState']);

const FLOAT32 = 0;
const INT64 = 4;

export interface TraceSetup {
  model: Module;
  graph: OnnxGraph;
  /** Size of the dynamic batch dimension in the trace, or null for a fixed batch. */
  dynamicBatch: number | null;
}

export class Tracer {
  readonly g: OnnxGraph;
  readonly #model: Module;
  readonly #batch: number | null;
  readonly #vals = new Map<H, Val>();
  readonly #consts = new Map<H, Val>();
  readonly #names = new Map<H, string>();
  readonly #owners = new Map<H, { path: string; cls: string }>();
  readonly #stack: { path: string; cls: string }[] = [];
  readonly #folded = new Map<H, Map<H | null, [string, string]>>();
  #orig: Record<string, Fn> = {};

  constructor(setup: TraceSetup) {
    this.g = setup.graph;
    this.#model = setup.model;
    this.#batch = setup.dynamicBatch;
    for (const [path, m] of setup.model.namedModules()) {
      const where = { path, cls: m.constructor.name };
      const own = [...m.namedParameters({ recurse: false }), ...m.namedBuffers({ recurse: false })];
      for (const [n, t] of own) {
        this.#names.set(t.handle, path ? `${path}.${n}` : n);
        this.#owners.set(t.handle, where);
      }
      if (m instanceof Conv2d || m instanceof Linear) {
        // frozen layers compute with folded / converted copies of their weights
        const { weight, bias } = m.effectiveWeights();
        for (const [n, t] of [['weight', weight], ['bias', bias]] as const) {
          if (t === null || this.#names.has(t.handle)) continue;
          this.#names.set(t.handle, path ? `${path}.${n}` : n);
          this.#owners.set(t.handle, where);
        }
      }
    }
  }

  // ------------------------------------------------------------ running

  /** Runs fn with the shim installed and the modules' forwards tracked for messages. */
  run<T>(input: H, inputName: string, fn: () => T): T {
    const shape = (native as unknown as Record<string, Fn>).shape!(input) as number[];
    this.#vals.set(input, { name: this.g.addInput(inputName, shape.map((d, i) => (i === 0 && this.#batch !== null ? null : d))), shape, bdim: this.#batch !== null ? 0 : null });
    const restoreForwards = this.#trackModules();
    const restoreNative = this.#patch();
    try {
      return fn();
    } finally {
      restoreNative();
      restoreForwards();
    }
  }

  /** The traced value of a tensor handle, or undefined when the tensor does not depend on the input. */
  traced(h: unknown): Val | undefined {
    return handleLike(h) ? this.#vals.get(h as H) : undefined;
  }

  /** Wraps the forward of every module (except the layers Sequential fuses by identity) to know which one runs. */
  #trackModules(): () => void {
    const undo: (() => void)[] = [];
    for (const [path, m] of this.#model.namedModules()) {
      if (m instanceof Conv2d || m instanceof BatchNorm2d || m instanceof Activation) {
        if (m.constructor === Conv2d || m.constructor === BatchNorm2d || Object.getPrototypeOf(m.constructor) === Activation) continue;
      }
      const had = Object.prototype.hasOwnProperty.call(m, 'forward');
      const before = (m as unknown as { forward: Fn }).forward;
      const stack = this.#stack;
      const where = { path, cls: m.constructor.name };
      Object.defineProperty(m, 'forward', {
        configurable: true, writable: true, enumerable: false,
        value: function (this: Module, ...args: unknown[]) {
          stack.push(where);
          try {
            return before.apply(this, args);
          } finally {
            stack.pop();
          }
        },
      });
      undo.push(() => {
        if (had) Object.defineProperty(m, 'forward', { configurable: true, writable: true, enumerable: false, value: before });
        else delete (m as unknown as { forward?: Fn }).forward;
      });
    }
    return () => undo.forEach((f) => f());
  }

  #patch(): () => void {
    const binding = native as unknown as Record<string, Fn>;
    const keys = Object.keys(binding).filter((k) => typeof binding[k] === 'function');
    this.#orig = Object.fromEntries(keys.map((k) => [k, binding[k]!]));
    for (const k of keys) {
      const orig = this.#orig[k]!;
      if (PASS.has(k)) continue;
      const handler = HANDLERS[k];
      binding[k] = (...args: unknown[]) => {
        const traced = this.#anyTraced(k, args);
        if (RANDOM.has(k)) throw this.error(`draws random numbers (${k})`, args, 'a random draw would be frozen into the graph; export in eval mode without random ops');
        if (!traced) return orig(...args);
        if (READS.has(k)) throw this.error(`reads the values of a tensor computed from the input (${k})`, args, 'data-dependent control flow cannot be written as a static ONNX graph');
        if (handler === undefined) throw this.error(`calls the native operation ${k}`, args);
        const out = orig(...args);
        try {
          handler(this, args, out);
        } catch (e) {
          for (const h of flatHandles(out)) this.#orig.dispose!(h);
          throw e;
        }
        return out;
      };
    }
    return () => {
      for (const k of keys) binding[k] = this.#orig[k]!;
    };
  }

  /** Whether a call reads a traced tensor: at the argument positions that are tensors, or anywhere for calls the exporter does not know. */
  #anyTraced(fn: string, args: unknown[]): boolean {
    const at = HANDLE_ARGS[fn];
    if (at === 'list') return Array.isArray(args[0]) && args[0].some((x) => this.traced(x) !== undefined);
    if (at !== undefined) return at.some((i) => this.traced(args[i]) !== undefined);
    for (const a of args) {
      if (Array.isArray(a)) {
        if (a.some((x) => this.traced(x) !== undefined)) return true;
      } else if (this.traced(a) !== undefined) return true;
    }
    return false;
  }

  // ------------------------------------------------------------ helpers for the handlers

  /** Where the failing call runs: the module owning one of its weights, else the innermost module. */
  where(args: unknown[] = []): { path: string; cls: string } {
    for (const a of args) {
      const o = handleLike(a) ? this.#owners.get(a as H) : undefined;
      if (o) return o;
    }
    return this.#stack[this.#stack.length - 1] ?? { path: '', cls: this.#model.constructor.name };
  }

  error(what: string, args: unknown[], hint?: string): OnnxExportError {
    const w = this.where(args);
    const who = w.path === '' ? `the model itself (${w.cls})` : `module "${w.path}" (${w.cls})`;
    return new OnnxExportError(`sdd.onnx.export: ${who} ${what}, which the ONNX exporter does not support` +
      `${hint ? `: ${hint}` : ''}. Supported: convolutions, batch norm (eval), activations (ReLU, ReLU6, LeakyReLU, ` +
      'sigmoid, tanh), pooling, linear, dropout (eval), channel shuffle, residual adds, concatenation, slicing, reshapes, ' +
      'means and the SDD multi-scale head', w);
  }

  /** Node names carry the module path. */
  get scope(): string {
    return this.#stack[this.#stack.length - 1]?.path ?? '';
  }

  get batch(): number | null {
    return this.#batch;
  }

  shapeOf(h: H): number[] {
    return this.#orig.shape!(h) as number[];
  }

  dtypeOf(h: H): number {
    return this.#orig.dtype!(h) as number;
  }

  /** The value of an input: traced, or a constant (written as an initializer the first time). */
  v(h: unknown, role = 'constant'): Val {
    const t = this.traced(h);
    if (t) return t;
    if (!handleLike(h)) throw new TypeError(`sdd.onnx.export: expected a tensor for ${role}`);
    const c = this.#consts.get(h as H);
    if (c) return c;
    const shape = this.shapeOf(h as H);
    const code = this.#orig.dtype!(h) as number;
    let name: string;
    if (code === FLOAT32) name = this.g.init(this.#names.get(h as H) ?? role, shape, this.#orig.toTypedArray!(h) as Float32Array);
    else if (code === INT64) name = this.g.init(this.#names.get(h as H) ?? role, shape, this.#orig.toTypedArray!(h) as BigInt64Array);
    else throw this.error(`uses a ${dtypeName(code)} tensor (${this.#names.get(h as H) ?? role})`, [h], 'the exporter writes float32 models');
    const val = { name, shape, bdim: null };
    this.#consts.set(h as H, val);
    return val;
  }

  /** Float64 copy of a constant's values. */
  data(h: H): Float64Array {
    return this.#orig.toFloat64Array!(h) as Float64Array;
  }

  nameHint(h: H | null, fallback: string): string {
    return (h !== null && this.#names.get(h)) || fallback;
  }

  /** Registers the output handle of a call as a traced value. */
  def(h: unknown, name: string, bdim: number | null): Val {
    const val = { name, shape: this.shapeOf(h as H), bdim };
    this.#vals.set(h as H, val);
    return val;
  }

  /** The output shares the input's value (identity ops). */
  alias(out: unknown, v: Val): void {
    this.#vals.set(out as H, { ...v, shape: this.shapeOf(out as H) });
  }

  op(op: string, inputs: string[], attrs: Record<string, import('./graph.js').AttrValue> = {}): string {
    return this.g.op(op, inputs, attrs, this.scope);
  }

  ints(values: number[], hint = 'shape'): string {
    return this.g.ints(hint, values);
  }

  scalar(value: number): string {
    return this.g.floats('scalar', [], [value]);
  }

  /** The batch dimension of several inputs of one op (they must agree). */
  bdimOf(vals: Val[], rank: number, args: unknown[]): number | null {
    let b: number | null = null;
    for (const v of vals) {
      if (v.bdim === null) continue;
      const at = v.bdim + (rank - v.shape.length);
      if (b !== null && b !== at) throw this.error('combines tensors whose batch dimensions do not line up', args, 'export with dynamicBatch: false');
      b = at;
    }
    return b;
  }

  /** Refuses an op along the dynamic batch dimension. */
  notAlongBatch(v: Val, dim: number, what: string, args: unknown[]): void {
    if (v.bdim !== null && v.bdim === dim) throw this.error(`${what} along the batch dimension`, args, 'export with dynamicBatch: false');
  }

  /** Reshape to a shape known from the trace; the batch-following dimension (if any) becomes -1. */
  reshape(v: Val, shape: number[], bdim: number | null, args: unknown[]): string {
    const target = [...shape];
    if (v.bdim !== null) {
      if (bdim === null) throw this.error('reshapes away the batch dimension', args, 'export with dynamicBatch: false');
      target[bdim] = -1;
    }
    return this.op('Reshape', [v.name, this.ints(target)]);
  }

  /** Applies one of native/nn.cc's activation codes. */
  act(x: string, code: unknown, param: number, args: unknown[]): string {
    const name = codeName('activation', code);
    switch (name) {
      case 'none': return x;
      case 'relu': return this.op('Relu', [x]);
      case 'relu6': return this.op('Clip', [x, this.scalar(0), this.scalar(6)]);
      case 'leakyRelu': return this.op('LeakyRelu', [x], { alpha: { float: param } });
      case 'sigmoid': return this.op('Sigmoid', [x]);
      case 'tanh': return this.op('Tanh', [x]);
      default: throw this.error(`applies the activation ${name}`, args);
    }
  }

  /** Axes as the reduce ops of this opset take them (attribute before 18, input from 18; ReduceSum from 13). */
  reduce(op: string, x: string, axes: number[], keepdims: boolean): string {
    if (op === 'ReduceSum' || this.g.opset >= 18) return this.op(op, [x, this.ints(axes, 'axes')], { keepdims: keepdims ? 1 : 0 });
    return this.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  /** Conv with PyTorch's settings (stride, padding, dilation, groups, paddingMode). */
  conv(x: Val, w: string, wShape: number[], b: string | null, settings: unknown, args: unknown[]): string {
    const c = convSettings(settings);
    const [pH, pW] = c.padding as [number, number];
    let input = x.name;
    let pads = [pH, pW, pH, pW];
    if (c.paddingMode !== 'zeros' && (pH !== 0 || pW !== 0)) {
      const padMode = c.paddingMode === 'reflect' ? 'reflect' : c.paddingMode === 'replicate' ? 'edge' : null;
      if (padMode === null) throw this.error(`pads with paddingMode '${c.paddingMode}'`, args, "use 'zeros', 'reflect' or 'replicate'");
      input = this.op('Pad', [input, this.ints([0, 0, pH, pW, 0, 0, pH, pW], 'pads')], { mode: padMode });
      pads = [0, 0, 0, 0];
    }
    return this.op('Conv', b === null ? [input, w] : [input, w, b], {
      kernel_shape: wShape.slice(2), strides: [...c.stride], pads, dilations: [...c.dilation], group: c.groups,
    });
  }

  /** A conv's weights with an eval-mode BatchNorm folded in (float64, as freeze() folds), once per pair. */
  foldedConv(w: H, b: H | null, bn: (H | null)[], eps: number): [string, string] {
    const key = bn[2] ?? null;
    const cached = this.#folded.get(w)?.get(key);
    if (cached) return cached;
    const shape = this.shapeOf(w);
    const W = this.data(w);
    const B = b === null ? null : this.data(b);
    const out = shape[0]!;
    const [gamma, beta, mean, variance] = bn.map((t) => (t === null ? null : this.data(t)));
    const per = W.length / out;
    const nw = new Float32Array(W.length);
    const nb = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      const s = (gamma ? gamma[o]! : 1) / Math.sqrt(variance![o]! + eps);
      for (let k = 0; k < per; k++) nw[o * per + k] = W[o * per + k]! * s;
      nb[o] = ((B ? B[o]! : 0) - mean![o]!) * s + (beta ? beta[o]! : 0);
    }
    const base = this.nameHint(w, 'conv.weight').replace(/\.weight$/, '');
    const names: [string, string] = [this.g.init(`${base}.weight`, shape, nw), this.g.init(`${base}.bias`, [out], nb)];
    if (!this.#folded.has(w)) this.#folded.set(w, new Map());
    this.#folded.get(w)!.set(key, names);
    return names;
  }
}

/** Handles are numbers (slot and generation in the addon's handle table) or, in older addons, external objects. */
function handleLike(v: unknown): boolean {
  return typeof v === 'number' || (typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v));
}

function flatHandles(out: unknown): H[] {
  if (Array.isArray(out)) return out.filter(handleLike) as H[];
  return handleLike(out) ? [out as H] : [];
}

function norm(dim: number, rank: number): number {
  return dim < 0 ? dim + rank : dim;
}

// ------------------------------------------------------------------ the handlers, by native call

type Handler = (t: Tracer, args: any[], out: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Batch norm (eval, running statistics) as ONNX BatchNormalization; folded into its conv later when alone after one. */
function batchNorm(t: Tracer, x: Val, bn: (H | null)[], eps: number, training: boolean, args: unknown[]): string {
  const [w, b, mean, variance] = bn;
  if (training) throw t.error('runs batch norm in training mode', args, 'the exporter puts the model in eval mode; call batchNorm with training: false');
  if (mean === null || variance === null) throw t.error('runs batch norm without running statistics (trackRunningStats: false)', args, 'batch statistics depend on the whole batch');
  const C = t.shapeOf(mean!)[0]!;
  const scale = w ? t.v(w).name : t.g.floats('bn.ones', [C], new Float32Array(C).fill(1));
  const shift = b ? t.v(b).name : t.g.floats('bn.zeros', [C], new Float32Array(C));
  return t.op('BatchNormalization', [x.name, scale, shift, t.v(mean!).name, t.v(variance!).name], { epsilon: { float: eps } });
}

const HANDLERS: Record<string, Handler> = {
  nnConv2d(t, [x, w, b, spec], out) {
    const xv = t.v(x);
    const y = t.conv(xv, t.v(w).name, t.shapeOf(w), b == null ? null : t.v(b).name, spec, [w, x]);
    t.def(out, y, xv.bdim);
  },
  nnConvBnAct(t, args, out) {
    const [x, w, b, spec, bnW, bnB, mean, variance, , bnSettings, training, residual, act, actParam] = args;
    const xv = t.v(x);
    let W: string;
    let B: string | null;
    if (bnSettings != null) {
      if (training) throw t.error('runs batch norm in training mode', [bnW ?? mean, x]);
      if (mean == null || variance == null) throw t.error('runs batch norm without running statistics (trackRunningStats: false)', [bnW ?? w, x]);
      if (t.traced(w) || t.traced(mean) || t.traced(variance) || t.traced(bnW) || t.traced(bnB)) throw t.error('convolves with weights computed from the input', [w, x]);
      [W, B] = t.foldedConv(w, b ?? null, [bnW ?? null, bnB ?? null, mean, variance], bnEps(bnSettings));
    } else {
      W = t.v(w).name;
      B = b == null ? null : t.v(b).name;
    }
    let y = t.conv(xv, W, t.shapeOf(w), B, spec, [w, x]);
    if (residual != null) y = t.op('Add', [y, t.v(residual).name]);
    y = t.act(y, act, actParam, [w, x]);
    t.def(out, y, xv.bdim);
  },
  nnBatchNorm(t, args, out) {
    const [x, w, b, mean, variance, , settings, training] = args;
    const xv = t.v(x);
    t.def(out, batchNorm(t, xv, [w ?? null, b ?? null, mean ?? null, variance ?? null], bnEps(settings), training, [w ?? mean, x]), xv.bdim);
  },
  nnAct(t, [x, code, param], out) {
    const xv = t.v(x);
    t.def(out, t.act(xv.name, code, param, [x]), xv.bdim);
  },
  nnAddAct(t, [a, b, code, param], out) {
    const av = t.v(a);
    const bv = t.v(b);
    const rank = t.shapeOf(out).length;
    const bdim = t.bdimOf([av, bv], rank, [a, b]);
    t.def(out, t.act(t.op('Add', [av.name, bv.name]), code, param, [a, b]), bdim);
  },
  nnMaxPool2d(t, [x, s], out) {
    const xv = t.v(x);
    const p = maxPoolSettings(s);
    const ceilMode = poolCeil(t, xv, t.shapeOf(out), p, [x]);
    const [pH, pW] = p.padding as [number, number];
    t.def(out, t.op('MaxPool', [xv.name], { kernel_shape: [...p.kernelSize], strides: [...p.stride], pads: [pH, pW, pH, pW], dilations: [...p.dilation], ceil_mode: ceilMode ? 1 : 0 }), xv.bdim);
  },
  nnAvgPool2d(t, [x, s], out) {
    const xv = t.v(x);
    const p = avgPoolSettings(s);
    if (p.divisorOverride !== null) throw t.error('average-pools with divisorOverride', [x]);
    const ceilMode = poolCeil(t, xv, t.shapeOf(out), p, [x]);
    if (ceilMode) throw t.error('average-pools with ceilMode where it adds windows', [x], 'PyTorch and ONNX divide the border windows differently there');
    const [pH, pW] = p.padding as [number, number];
    t.def(out, t.op('AveragePool', [xv.name], { kernel_shape: [...p.kernelSize], strides: [...p.stride], pads: [pH, pW, pH, pW], count_include_pad: p.countIncludePad ? 1 : 0 }), xv.bdim);
  },
  nnAdaptiveAvgPool2d(t, [x, size], out) {
    const xv = t.v(x);
    const [oh, ow] = pairOf(size);
    t.def(out, adaptivePool(t, xv, oh, ow, [x]), xv.bdim);
  },
  nnGlobalPoolLinear(t, [x, w, b], out) {
    const xv = t.v(x);
    const pooled = t.reduce('ReduceMean', xv.name, [2, 3], false);
    t.def(out, t.op('Gemm', b == null ? [pooled, t.v(w).name] : [pooled, t.v(w).name, t.v(b).name], { transB: 1 }), xv.bdim);
  },
  nnDropout(t, [x, , training], out) {
    if (training) throw t.error('runs dropout in training mode', [x]);
    t.alias(out, t.v(x));
  },
  nnChannelShuffle(t, [x, groups], out) {
    const xv = t.v(x);
    const [B, C, Hh, W] = xv.shape as [number, number, number, number];
    if (xv.shape.length !== 4) throw t.error('shuffles channels of a tensor that is not 4-D', [x]);
    if (xv.bdim !== null && xv.bdim !== 0) throw t.error('shuffles channels with the batch not first', [x]);
    const split = t.reshape(xv, [B, groups, C / groups, Hh, W], xv.bdim === null ? null : 0, [x]);
    const swapped = t.op('Transpose', [split], { perm: [0, 2, 1, 3, 4] });
    t.def(out, t.reshape({ ...xv, name: swapped, shape: [B, C / groups, groups, Hh, W] }, [B, C, Hh, W], xv.bdim === null ? null : 0, [x]), xv.bdim);
  },
  linear(t, [x, w, b], out) {
    const xv = t.v(x);
    const wv = t.v(w);
    if (xv.shape.length === 2) {
      t.def(out, t.op('Gemm', b == null ? [xv.name, wv.name] : [xv.name, wv.name, t.v(b).name], { transB: 1 }), xv.bdim);
      return;
    }
    let y = t.op('MatMul', [xv.name, t.op('Transpose', [wv.name], { perm: [1, 0] })]);
    if (b != null) y = t.op('Add', [y, t.v(b).name]);
    t.def(out, y, xv.bdim);
  },
  scaleLogits(t, args, out) {
    const [x, w, b, scales, mode] = args;
    const xv = t.v(x);
    const pooled = multiScale(t, xv, scales, mode, args); // B x C x N
    // W [K, C] @ pooled [B, C, N] -> B x K x N, plus the bias as a column
    let y = t.op('MatMul', [t.v(w).name, pooled]);
    if (b != null) y = t.op('Add', [y, t.op('Unsqueeze', [t.v(b).name, t.ints([1], 'axes')])]);
    t.def(out, y, xv.bdim);
  },
  multiScalePool(t, args, out) {
    const [x, scales, mode] = args;
    const xv = t.v(x);
    t.def(out, multiScale(t, xv, scales, mode, args), xv.bdim);
  },
  unary(t, [code, x], out) {
    const xv = t.v(x);
    const op = codeName('unary', code);
    if (UNARY_IDENTITY.has(op)) return t.alias(out, xv);
    let y: string;
    if (UNARY_ONNX[op] !== undefined) y = t.op(UNARY_ONNX[op], [xv.name]);
    else if (op === 'relu6') y = t.op('Clip', [xv.name, t.scalar(0), t.scalar(6)]);
    else if (op === 'rsqrt') y = t.op('Reciprocal', [t.op('Sqrt', [xv.name])]);
    else if (op === 'square') y = t.op('Mul', [xv.name, xv.name]);
    else if (op === 'silu') y = t.op('Mul', [xv.name, t.op('Sigmoid', [xv.name])]);
    else if (op === 'gelu') { // the erf form, PyTorch's default
      const e = t.op('Erf', [t.op('Mul', [xv.name, t.scalar(Math.SQRT1_2)])]);
      y = t.op('Mul', [t.op('Mul', [xv.name, t.scalar(0.5)]), t.op('Add', [e, t.scalar(1)])]);
    } else throw t.error(`applies ${op}`, [x]);
    t.def(out, y, xv.bdim);
  },
  binary(t, [code, a, b], out) {
    const op = codeName('binary', code);
    const onnxOp = BINARY_ONNX[op];
    if (onnxOp === undefined) throw t.error(`applies ${op}`, [a, b]);
    const av = t.v(a);
    const bv = t.v(b);
    const rank = t.shapeOf(out).length;
    let bdim: number | null;
    if (op === 'matmul') {
      bdim = av.bdim !== null && av.bdim < av.shape.length - 1 ? av.bdim + (rank - av.shape.length)
        : bv.bdim !== null && bv.bdim < bv.shape.length - 2 ? bv.bdim + (rank - bv.shape.length) : null;
      if ((av.bdim !== null && av.bdim >= av.shape.length - 1) || (bv.bdim !== null && bv.bdim >= bv.shape.length - 2)) {
        throw t.error('multiplies matrices along the batch dimension', [a, b], 'export with dynamicBatch: false');
      }
    } else bdim = t.bdimOf([av, bv], rank, [a, b]);
    t.def(out, t.op(onnxOp, [av.name, bv.name]), bdim);
  },
  binaryScalar(t, [code, a, s], out) {
    const op = codeName('binaryScalar', code);
    const av = t.v(a);
    if (op === 'rsub' && typeof s === 'number') return void t.def(out, t.op('Sub', [t.scalar(s), av.name]), av.bdim);
    const onnxOp = BINARY_ONNX[op];
    if (onnxOp === undefined || op === 'matmul' || typeof s !== 'number') throw t.error(`applies ${op} with a scalar`, [a]);
    t.def(out, t.op(onnxOp, [av.name, t.scalar(s)]), av.bdim);
  },
  clamp(t, [x, min, max], out) {
    const xv = t.v(x);
    t.def(out, t.op('Clip', [xv.name, min == null ? '' : t.scalar(min), max == null ? '' : t.scalar(max)]), xv.bdim);
  },
  leakyRelu(t, [x, slope], out) {
    const xv = t.v(x);
    t.def(out, t.op('LeakyRelu', [xv.name], { alpha: { float: slope } }), xv.bdim);
  },
  softmax(t, [x, dim], out) {
    const xv = t.v(x);
    t.notAlongBatch(xv, norm(dim, xv.shape.length), 'takes a softmax', [x]);
    t.def(out, t.op('Softmax', [xv.name], { axis: norm(dim, xv.shape.length) }), xv.bdim);
  },
  logSoftmax(t, [x, dim], out) {
    const xv = t.v(x);
    t.notAlongBatch(xv, norm(dim, xv.shape.length), 'takes a log-softmax', [x]);
    t.def(out, t.op('LogSoftmax', [xv.name], { axis: norm(dim, xv.shape.length) }), xv.bdim);
  },
  reduce(t, [code, x, dims, keepdim], out) {
    const xv = t.v(x);
    const op = codeName('reduce', code);
    const onnxOp = REDUCE_ONNX[op];
    if (onnxOp === undefined) throw t.error(`reduces with ${op}`, [x]);
    const rank = xv.shape.length;
    const axes = dims == null || (dims as number[]).length === 0 ? xv.shape.map((_, i) => i) : (dims as number[]).map((d) => norm(d, rank));
    let bdim = xv.bdim;
    if (bdim !== null) bdim = axes.includes(bdim) ? null : keepdim ? bdim : bdim - axes.filter((a) => a < bdim!).length;
    t.def(out, t.reduce(onnxOp, xv.name, axes, keepdim), bdim);
  },
  reshape: reshapeLike,
  view: reshapeLike,
  flatten(t, [x, start, end], out) {
    const xv = t.v(x);
    const rank = Math.max(xv.shape.length, 1);
    const s = norm(start, rank);
    const e = norm(end, rank);
    // dims s..e merge into dim s; Reshape's -1 there also covers a batch merged with static dims
    let bdim = xv.bdim;
    if (bdim !== null && bdim > s) bdim = bdim <= e ? s : bdim - (e - s);
    t.def(out, t.reshape(xv, t.shapeOf(out), bdim, [x]), bdim);
  },
  permute(t, [x, dims], out) {
    const xv = t.v(x);
    const perm = (dims as number[]).map((d) => norm(d, xv.shape.length));
    t.def(out, t.op('Transpose', [xv.name], { perm }), xv.bdim === null ? null : perm.indexOf(xv.bdim));
  },
  transpose(t, [x, d0, d1], out) {
    const xv = t.v(x);
    const r = xv.shape.length;
    const perm = xv.shape.map((_, i) => i);
    const a = norm(d0, r);
    const b = norm(d1, r);
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    t.def(out, t.op('Transpose', [xv.name], { perm }), xv.bdim === null ? null : perm.indexOf(xv.bdim));
  },
  squeeze(t, [x, dim], out) {
    const xv = t.v(x);
    const r = xv.shape.length;
    const axes = dim == null ? xv.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : xv.shape[norm(dim, r)] === 1 ? [norm(dim, r)] : [];
    if (axes.length === 0) return t.alias(out, xv);
    if (xv.bdim !== null && axes.includes(xv.bdim)) throw t.error('squeezes the batch dimension', [x]);
    t.def(out, t.op('Squeeze', [xv.name, t.ints(axes, 'axes')]), xv.bdim === null ? null : xv.bdim - axes.filter((a) => a < xv.bdim!).length);
  },
  unsqueeze(t, [x, dim], out) {
    const xv = t.v(x);
    const d = norm(dim, xv.shape.length + 1);
    t.def(out, t.op('Unsqueeze', [xv.name, t.ints([d], 'axes')]), xv.bdim === null ? null : xv.bdim >= d ? xv.bdim + 1 : xv.bdim);
  },
  cat(t, [hs, dim], out) {
    const vals = (hs as H[]).map((h) => t.v(h));
    const rank = t.shapeOf(out).length;
    const axis = norm(dim, rank);
    const bdim = t.bdimOf(vals, rank, hs);
    if (bdim !== null && bdim === axis) throw t.error('concatenates along the batch dimension', hs, 'export with dynamicBatch: false');
    if (bdim !== null && vals.some((v) => v.bdim === null)) throw t.error('concatenates a tensor computed from the input with a constant', hs, 'export with dynamicBatch: false');
    t.def(out, t.op('Concat', vals.map((v) => v.name), { axis }), bdim);
  },
  stack(t, [hs, dim], out) {
    const vals = (hs as H[]).map((h) => t.v(h));
    const rank = t.shapeOf(out).length;
    const axis = norm(dim, rank);
    const bdim0 = t.bdimOf(vals, rank - 1, hs);
    const bdim = bdim0 === null ? null : bdim0 >= axis ? bdim0 + 1 : bdim0;
    if (bdim !== null && vals.some((v) => v.bdim === null)) throw t.error('stacks a tensor computed from the input with a constant', hs, 'export with dynamicBatch: false');
    const parts = vals.map((v) => t.op('Unsqueeze', [v.name, t.ints([axis], 'axes')]));
    t.def(out, t.op('Concat', parts, { axis }), bdim);
  },
  narrow(t, [x, dim, start, length], out) {
    const xv = t.v(x);
    const d = norm(dim, xv.shape.length);
    t.notAlongBatch(xv, d, 'slices', [x]);
    const s = start < 0 ? start + xv.shape[d]! : start;
    t.def(out, t.op('Slice', [xv.name, t.ints([s], 'starts'), t.ints([s + length], 'ends'), t.ints([d], 'axes')]), xv.bdim);
  },
  slice(t, [x, dim, start, end, step], out) {
    const xv = t.v(x);
    const d = norm(dim, xv.shape.length);
    t.notAlongBatch(xv, d, 'slices', [x]);
    const n = xv.shape[d]!;
    const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
    t.def(out, t.op('Slice', [xv.name, t.ints([clampIdx(start)], 'starts'), t.ints([clampIdx(end)], 'ends'), t.ints([d], 'axes'), t.ints([step], 'steps')]), xv.bdim);
  },
  select(t, [x, dim, index], out) {
    const xv = t.v(x);
    const d = norm(dim, xv.shape.length);
    t.notAlongBatch(xv, d, 'selects', [x]);
    const i = index < 0 ? index + xv.shape[d]! : index;
    t.def(out, t.op('Gather', [xv.name, t.g.ints('index', [i], [])], { axis: d }), xv.bdim === null ? null : xv.bdim > d ? xv.bdim - 1 : xv.bdim);
  },
  split: splitLike,
  chunk: splitLike,
  to(t, [x, dtype], out) {
    const xv = t.v(x);
    const code = t.dtypeOf(out);
    if (dtype != null && code !== FLOAT32) throw t.error(`converts to ${dtypeName(code)}`, [x], 'the exporter writes float32 models');
    t.alias(out, xv);
  },
};

function reshapeLike(t: Tracer, [x]: unknown[], out: unknown): void {
  const xv = t.v(x);
  const shape = t.shapeOf(out as H);
  let bdim: number | null = null;
  if (xv.bdim !== null) {
    // the batch must stay (or be merged into) the first dimension
    if (xv.bdim !== 0 || shape.length === 0 || shape[0]! % t.batch! !== 0) {
      throw t.error('reshapes so that the batch dimension moves', [x], 'export with dynamicBatch: false');
    }
    bdim = 0;
  }
  t.def(out, t.reshape(xv, shape, bdim, [x]), bdim);
}

function splitLike(t: Tracer, [x, , dim]: unknown[], out: unknown): void {
  const xv = t.v(x);
  const d = norm(dim as number, xv.shape.length);
  t.notAlongBatch(xv, d, 'splits', [x]);
  let at = 0;
  for (const h of out as H[]) {
    const len = t.shapeOf(h)[d]!;
    t.def(h, t.op('Slice', [xv.name, t.ints([at], 'starts'), t.ints([at + len], 'ends'), t.ints([d], 'axes')]), xv.bdim);
    at += len;
  }
}

/** PyTorch's pooled size; whether ONNX needs ceil_mode to get it (checked against the trace). */
function poolCeil(t: Tracer, x: Val, outShape: number[], settings: PoolSettings, args: unknown[]): boolean {
  const { kernelSize: k, stride: s, padding: p, dilation: d, ceilMode: ceil } = settings;
  const onnxSize = (i: number, c: boolean) => {
    const n = (x.shape[2 + i]! + 2 * p[i]! - d[i]! * (k[i]! - 1) - 1) / s[i]! + 1;
    return c ? Math.ceil(n - 1) + 1 : Math.floor(n - 1) + 1;
  };
  const want = outShape.slice(2);
  if (onnxSize(0, false) === want[0] && onnxSize(1, false) === want[1]) return false;
  if (ceil && onnxSize(0, true) === want[0] && onnxSize(1, true) === want[1]) return true;
  throw t.error('pools with a ceil_mode window layout ONNX does not reproduce', args);
}

function adaptivePool(t: Tracer, x: Val, oh: number, ow: number, args: unknown[]): string {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  if (oh === 1 && ow === 1) return t.op('GlobalAveragePool', [x.name]);
  if (H % oh === 0 && W % ow === 0) {
    return t.op('AveragePool', [x.name], { kernel_shape: [H / oh, W / ow], strides: [H / oh, W / ow] });
  }
  // overlapping (or repeated) windows: a pooling matrix
  const flat = t.reshape(x, [B, C, H * W], x.bdim === null ? null : 0, args);
  const m = t.g.floats('adaptive_pool', [H * W, oh * ow], adaptivePoolMatrix(H, W, oh, ow));
  return t.reshape({ ...x, name: t.op('MatMul', [flat, m]), shape: [B, C, oh * ow] }, [B, C, oh, ow], x.bdim === null ? null : 0, args);
}

/** B x C x H x W -> B x C x N region means of the SDD head (see pooling.ts). */
function multiScale(t: Tracer, x: Val, scales: unknown, mode: unknown, args: unknown[]): string {
  if (x.shape.length !== 4) throw t.error('pools a tensor that is not 4-D for the SDD head', args);
  if (x.bdim !== null && x.bdim !== 0) throw t.error('pools for the SDD head with the batch not first', args);
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const { matrix, regions } = multiScaleMatrix(H, W, scales as number[], mode !== 'direct');
  const flat = t.reshape(x, [B, C, H * W], x.bdim === null ? null : 0, args);
  const m = t.g.floats(`sdd_pool_${(scales as number[]).join('_')}_${H}x${W}`, [H * W, regions], matrix);
  return t.op('MatMul', [flat, m]);
}

