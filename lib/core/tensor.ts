// The Tensor class: a JS handle to a natively owned at::Tensor, with PyTorch's operations.
import { inspect } from 'node:util';
import { native, type Handle } from './native.js';
import { track, TENSOR_BRAND } from './scope.js';
import { checkDevice, dtypeCode, dtypeName, isDtypeName, type Device, type DType, type DTypeLike } from './dtype.js';
import { checkBoolean, checkDims, checkInteger, checkNumber, checkOptions, checkShape, invalidParameterError } from './errors.js';
import { formatTensor } from './format.js';
import { checkIntValue, isCheckedIntDtype } from './int-check.js';
import { BINARY, BINARY_SCALAR, IN_PLACE, REDUCE, UNARY } from './codes.js';

export type TensorOrScalar = Tensor | number | boolean;
export type NestedArray = number | boolean | NestedArray[];
export type TypedArrayOut = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Int16Array;

const disposeSymbol: symbol = (Symbol as unknown as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}

/** A scalar operand (the other operand form is a Tensor, tested first by the callers). */
function scalarArg(name: string, v: unknown): number | boolean {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  throw invalidParameterError(name, 'a Tensor or a number', v);
}

function tensorArg(name: string, v: unknown): Handle {
  if (v instanceof Tensor) return v.handle;
  throw invalidParameterError(name, 'a Tensor', v);
}

function dimArg(name: string, v: unknown): number {
  return checkInteger(name, v);
}

function wrap(h: Handle): Tensor {
  return new Tensor(h);
}

export class Tensor {
  /** @internal the native handle; use the methods instead. */
  readonly handle: Handle;
  /** @internal whether the tensor needs no more bookkeeping: guarded by the GC safety net, kept or disposed (see scope.ts) */
  guarded = false;
  declare readonly [TENSOR_BRAND]: true;

  /** @internal tensors are made by sdd.tensor(), sdd.zeros(), … and by operations. */
  constructor(handle: Handle) {
    this.handle = handle;
    track(this);
  }

  // ------------------------------------------------------------ facts
  get shape(): number[] { return native.shape(this.handle); }
  get dtype(): DType { return dtypeName(native.dtype(this.handle)); }
  get device(): string { return native.device(this.handle); }
  get numel(): number { return native.numel(this.handle); }
  get ndim(): number { return native.dim(this.handle); }
  dim(): number { return native.dim(this.handle); }
  /** Size of one dimension (negative counts from the end), or the shape. */
  size(dim?: number): number | number[] {
    const shape = this.shape;
    if (dim === undefined) return shape;
    const d = dimArg('dim', dim);
    const i = d < 0 ? d + shape.length : d;
    if (i < 0 || i >= shape.length) throw invalidParameterError('dim', `an integer in [${-shape.length}, ${shape.length - 1}]`, dim, true);
    return shape[i]!;
  }
  get isDisposed(): boolean { return native.isDisposed(this.handle); }
  isContiguous(): boolean { return native.isContiguous(this.handle); }

  // ------------------------------------------------------------ memory
  /** Frees the native tensor now (idempotent). Views of it keep their storage alive. */
  dispose(): void {
    native.dispose(this.handle);
    this.guarded = true; // nothing left for tidy() or the GC safety net to do (see scope.ts)
  }
  [disposeSymbol](): void { this.dispose(); }

  // ------------------------------------------------------------ read-back
  /** The single value of a one-element tensor, as a number (or a boolean for bool tensors). */
  item(): number | boolean { return native.item(this.handle); }
  /**
   * The data as a typed array: a copy on the CPU (Float32Array for float32/float16/bfloat16,
   * BigInt64Array for int64, Uint8Array for bool/uint8). With { copy: false }, a view of the tensor's
   * own memory (CPU, contiguous, not a half type): writes go both ways and it keeps the memory alive.
   * Input is always copied (sdd.tensor): a JS buffer can be detached or transferred under libtorch;
   * for zero-copy input, fill `sdd.empty(shape).toTypedArray({ copy: false })` instead.
   */
  toTypedArray(opts: { copy?: boolean } = {}): TypedArrayOut {
    return opts.copy === false ? native.viewTypedArray(this.handle) : native.toTypedArray(this.handle);
  }
  /** The data as (nested) JS arrays of numbers (booleans for bool tensors). */
  toArray(): NestedArray {
    const flat = Array.from(native.toFloat64Array(this.handle)) as (number | boolean)[];
    const isBool = this.dtype === 'bool';
    const shape = this.shape;
    if (isBool) for (let i = 0; i < flat.length; i++) flat[i] = flat[i] !== 0;
    if (shape.length === 0) return flat[0]!;
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]!; i++) out.push(d === shape.length - 1 ? flat[pos++]! : build(d + 1));
      return out;
    };
    return build(0);
  }
  toString(): string {
    return formatTensor(this.shape, this.dtype, this.device, this.requiresGrad, this.numel > 0 ? native.toFloat64Array(this.handle) : new Float64Array(0));
  }
  [inspect.custom](): string {
    return this.isDisposed ? 'tensor(<disposed>)' : this.toString();
  }

  // ------------------------------------------------------------ autograd
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  set requiresGrad(v: boolean) { native.setRequiresGrad(this.handle, checkBoolean('requiresGrad', v)); }
  /** Sets requiresGrad in place and returns this tensor (PyTorch's requires_grad_()). */
  requiresGrad_(v = true): this { this.requiresGrad = v; return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The accumulated gradient, or null. Each read returns a new handle to the same storage. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : wrap(g);
  }
  /** Whether a gradient has been accumulated (without making a handle for it). */
  get hasGrad(): boolean { return native.hasGrad(this.handle); }
  set grad(g: Tensor | null) { native.setGrad(this.handle, g === null ? null : tensorArg('grad', g)); }
  /** Drops the accumulated gradient (like PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void { native.setGrad(this.handle, null); }
  retainGrad(): this { native.retainGrad(this.handle); return this; }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient === undefined ? null : tensorArg('gradient', gradient), opts.retainGraph === true);
  }

  // ------------------------------------------------------------ elementwise
  // The hot path of every op: one native call and one new Tensor; the codes are plain property
  // reads of frozen tables (lib/core/codes.ts), no per-call allocation or option parsing.
  add(o: TensorOrScalar): Tensor {
    return o instanceof Tensor ? new Tensor(native.binary(BINARY.add, this.handle, o.handle)) : this.#scalarOp(BINARY_SCALAR.add, o);
  }
  sub(o: TensorOrScalar): Tensor { return this.#bin(BINARY.sub, BINARY_SCALAR.sub, o); }
  mul(o: TensorOrScalar): Tensor { return this.#bin(BINARY.mul, BINARY_SCALAR.mul, o); }
  div(o: TensorOrScalar): Tensor { return this.#bin(BINARY.div, BINARY_SCALAR.div, o); }
  pow(o: TensorOrScalar): Tensor { return this.#bin(BINARY.pow, BINARY_SCALAR.pow, o); }
  /** o - this (for a scalar o). */
  rsub(o: number): Tensor { return wrap(native.binaryScalar(BINARY_SCALAR.rsub, this.handle, checkNumber('other', o))); }
  remainder(o: TensorOrScalar): Tensor { return this.#bin(BINARY.remainder, BINARY_SCALAR.remainder, o); }
  floorDivide(o: TensorOrScalar): Tensor { return this.#bin(BINARY.floorDivide, BINARY_SCALAR.floorDivide, o); }
  maximum(o: TensorOrScalar): Tensor { return this.#bin(BINARY.maximum, BINARY_SCALAR.maximum, o); }
  minimum(o: TensorOrScalar): Tensor { return this.#bin(BINARY.minimum, BINARY_SCALAR.minimum, o); }
  eq(o: TensorOrScalar): Tensor { return this.#bin(BINARY.eq, BINARY_SCALAR.eq, o); }
  ne(o: TensorOrScalar): Tensor { return this.#bin(BINARY.ne, BINARY_SCALAR.ne, o); }
  lt(o: TensorOrScalar): Tensor { return this.#bin(BINARY.lt, BINARY_SCALAR.lt, o); }
  le(o: TensorOrScalar): Tensor { return this.#bin(BINARY.le, BINARY_SCALAR.le, o); }
  gt(o: TensorOrScalar): Tensor { return this.#bin(BINARY.gt, BINARY_SCALAR.gt, o); }
  ge(o: TensorOrScalar): Tensor { return this.#bin(BINARY.ge, BINARY_SCALAR.ge, o); }
  logicalAnd(o: Tensor): Tensor { return wrap(native.binary(BINARY.logicalAnd, this.handle, tensorArg('other', o))); }
  logicalOr(o: Tensor): Tensor { return wrap(native.binary(BINARY.logicalOr, this.handle, tensorArg('other', o))); }
  logicalXor(o: Tensor): Tensor { return wrap(native.binary(BINARY.logicalXor, this.handle, tensorArg('other', o))); }
  atan2(o: Tensor): Tensor { return wrap(native.binary(BINARY.atan2, this.handle, tensorArg('other', o))); }
  matmul(o: Tensor): Tensor { return wrap(native.binary(BINARY.matmul, this.handle, tensorArg('other', o))); }

  // Codes are passed in from each method (a constant property read at every call site) rather than
  // looked up here by name: a keyed lookup shared by many ops would be megamorphic.
  #bin(code: number, scalarCode: number, o: unknown): Tensor {
    return o instanceof Tensor ? new Tensor(native.binary(code, this.handle, o.handle)) : this.#scalarOp(scalarCode, o);
  }
  #scalarOp(code: number, o: unknown): Tensor {
    return new Tensor(native.binaryScalar(code, this.handle, scalarArg('other', o)));
  }
  #un(code: number): Tensor { return new Tensor(native.unary(code, this.handle)); }

  neg(): Tensor { return this.#un(UNARY.neg); }
  abs(): Tensor { return this.#un(UNARY.abs); }
  exp(): Tensor { return this.#un(UNARY.exp); }
  log(): Tensor { return this.#un(UNARY.log); }
  log2(): Tensor { return this.#un(UNARY.log2); }
  log1p(): Tensor { return this.#un(UNARY.log1p); }
  expm1(): Tensor { return this.#un(UNARY.expm1); }
  sqrt(): Tensor { return this.#un(UNARY.sqrt); }
  rsqrt(): Tensor { return this.#un(UNARY.rsqrt); }
  square(): Tensor { return this.#un(UNARY.square); }
  reciprocal(): Tensor { return this.#un(UNARY.reciprocal); }
  sigmoid(): Tensor { return this.#un(UNARY.sigmoid); }
  tanh(): Tensor { return this.#un(UNARY.tanh); }
  relu(): Tensor { return this.#un(UNARY.relu); }
  relu6(): Tensor { return this.#un(UNARY.relu6); }
  gelu(): Tensor { return this.#un(UNARY.gelu); }
  silu(): Tensor { return this.#un(UNARY.silu); }
  erf(): Tensor { return this.#un(UNARY.erf); }
  leakyRelu(negativeSlope = 0.01): Tensor { return wrap(native.leakyRelu(this.handle, checkNumber('negativeSlope', negativeSlope))); }
  sin(): Tensor { return this.#un(UNARY.sin); }
  cos(): Tensor { return this.#un(UNARY.cos); }
  floor(): Tensor { return this.#un(UNARY.floor); }
  ceil(): Tensor { return this.#un(UNARY.ceil); }
  round(): Tensor { return this.#un(UNARY.round); }
  trunc(): Tensor { return this.#un(UNARY.trunc); }
  sign(): Tensor { return this.#un(UNARY.sign); }
  logicalNot(): Tensor { return this.#un(UNARY.logicalNot); }
  isnan(): Tensor { return this.#un(UNARY.isnan); }
  isinf(): Tensor { return this.#un(UNARY.isinf); }
  isfinite(): Tensor { return this.#un(UNARY.isfinite); }
  clamp(min?: number | null, max?: number | null): Tensor {
    if (min != null) checkNumber('min', min);
    if (max != null) checkNumber('max', max);
    if (min == null && max == null) throw new TypeError('clamp() needs at least one of min and max');
    return wrap(native.clamp(this.handle, min ?? null, max ?? null));
  }

  // ------------------------------------------------------------ reductions
  #reduce(code: number, dim: number | number[] | undefined, keepdim: boolean, unbiased?: boolean, p?: number): Tensor {
    const dims = dim === undefined ? null : checkDims('dim', dim);
    return new Tensor(native.reduce(code, this.handle, dims, checkBoolean('keepdim', keepdim), unbiased, p));
  }
  sum(dim?: number | number[], keepdim = false): Tensor { return this.#reduce(REDUCE.sum, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return this.#reduce(REDUCE.mean, dim, keepdim); }
  prod(dim?: number, keepdim = false): Tensor { return this.#reduce(REDUCE.prod, dim, keepdim); }
  std(dim?: number | number[], opts: { keepdim?: boolean; unbiased?: boolean } = {}): Tensor {
    return this.#reduce(REDUCE.std, dim, opts.keepdim ?? false, opts.unbiased ?? true);
  }
  var(dim?: number | number[], opts: { keepdim?: boolean; unbiased?: boolean } = {}): Tensor {
    return this.#reduce(REDUCE.var, dim, opts.keepdim ?? false, opts.unbiased ?? true);
  }
  amax(dim: number | number[] = [], keepdim = false): Tensor { return this.#reduce(REDUCE.amax, dim, keepdim); }
  amin(dim: number | number[] = [], keepdim = false): Tensor { return this.#reduce(REDUCE.amin, dim, keepdim); }
  logsumexp(dim?: number | number[], keepdim = false): Tensor { return this.#reduce(REDUCE.logsumexp, dim, keepdim); }
  all(dim?: number, keepdim = false): Tensor { return this.#reduce(REDUCE.all, dim, keepdim); }
  any(dim?: number, keepdim = false): Tensor { return this.#reduce(REDUCE.any, dim, keepdim); }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor { return this.#reduce(REDUCE.norm, dim, keepdim, undefined, checkNumber('p', p)); }
  /** The maximum of all elements, or { values, indices } along a dim. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.#reduce(REDUCE.amax, [], false);
    const [v, i] = native.maxDim(this.handle, dimArg('dim', dim), checkBoolean('keepdim', keepdim));
    return { values: wrap(v), indices: wrap(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.#reduce(REDUCE.amin, [], false);
    const [v, i] = native.minDim(this.handle, dimArg('dim', dim), checkBoolean('keepdim', keepdim));
    return { values: wrap(v), indices: wrap(i) };
  }
  /** Index of the first maximum (over all elements, or along dim). */
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmax(this.handle, dim === undefined ? null : dimArg('dim', dim), keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmin(this.handle, dim === undefined ? null : dimArg('dim', dim), keepdim));
  }
  topk(k: number, opts: { dim?: number; largest?: boolean; sorted?: boolean } = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, checkInteger('k', k, 0), dimArg('dim', opts.dim ?? -1), opts.largest ?? true, opts.sorted ?? true);
    return { values: wrap(v), indices: wrap(i) };
  }
  cumsum(dim: number): Tensor { return wrap(native.cumsum(this.handle, dimArg('dim', dim))); }

  softmax(dim: number): Tensor { return wrap(native.softmax(this.handle, dimArg('dim', dim))); }
  logSoftmax(dim: number): Tensor { return wrap(native.logSoftmax(this.handle, dimArg('dim', dim))); }

  // ------------------------------------------------------------ shape
  reshape(shape: number[]): Tensor { return wrap(native.reshape(this.handle, checkDims('shape', shape))); }
  view(shape: number[]): Tensor { return wrap(native.view(this.handle, checkDims('shape', shape))); }
  permute(dims: number[]): Tensor { return wrap(native.permute(this.handle, checkDims('dims', dims))); }
  transpose(dim0: number, dim1: number): Tensor { return wrap(native.transpose(this.handle, dimArg('dim0', dim0), dimArg('dim1', dim1))); }
  /** Transpose of a 2-D tensor. */
  get T(): Tensor { return this.transpose(0, 1); }
  flatten(startDim = 0, endDim = -1): Tensor { return wrap(native.flatten(this.handle, dimArg('startDim', startDim), dimArg('endDim', endDim))); }
  squeeze(dim?: number): Tensor { return wrap(native.squeeze(this.handle, dim === undefined ? null : dimArg('dim', dim))); }
  unsqueeze(dim: number): Tensor { return wrap(native.unsqueeze(this.handle, dimArg('dim', dim))); }
  expand(shape: number[]): Tensor { return wrap(native.expand(this.handle, checkDims('shape', shape))); }
  expandAs(o: Tensor): Tensor { return this.expand((o instanceof Tensor ? o : (() => { throw invalidParameterError('other', 'a Tensor', o); })()).shape); }
  repeat(repeats: number[]): Tensor { return wrap(native.repeat(this.handle, checkShape('repeats', repeats))); }
  flip(dims: number | number[]): Tensor { return wrap(native.flip(this.handle, checkDims('dims', dims))); }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    const s = Array.isArray(sizeOrSizes) ? checkShape('sizes', sizeOrSizes) : checkInteger('splitSize', sizeOrSizes, 1);
    return native.split(this.handle, s, dimArg('dim', dim)).map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] { return native.chunk(this.handle, checkInteger('chunks', chunks, 1), dimArg('dim', dim)).map(wrap); }

  // ------------------------------------------------------------ indexing
  select(dim: number, index: number): Tensor { return wrap(native.select(this.handle, dimArg('dim', dim), dimArg('index', index))); }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.narrow(this.handle, dimArg('dim', dim), dimArg('start', start), checkInteger('length', length, 0)));
  }
  /** Elements start..end (exclusive) with a step along dim; negative start/end count from the end. */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    return wrap(native.slice(this.handle, dimArg('dim', dim), dimArg('start', start), end === undefined ? Number.MAX_SAFE_INTEGER : dimArg('end', end), checkInteger('step', step, 1)));
  }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(native.indexSelect(this.handle, dimArg('dim', dim), tensorArg('index', index))); }
  gather(dim: number, index: Tensor): Tensor { return wrap(native.gather(this.handle, dimArg('dim', dim), tensorArg('index', index))); }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    const d = dimArg('dim', dim);
    const i = tensorArg('index', index);
    if (src instanceof Tensor) return wrap(native.scatter(this.handle, d, i, src.handle));
    return wrap(native.scatter(this.handle, d, i, null, this.#stored('scatter()', scalarArg('src', src))));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.scatterAdd(this.handle, dimArg('dim', dim), tensorArg('index', index), tensorArg('src', src)));
  }
  maskedFill(mask: Tensor, value: number | boolean): Tensor {
    if (typeof value !== 'number' && typeof value !== 'boolean') throw invalidParameterError('value', 'a number', value);
    return wrap(native.maskedFill(this.handle, tensorArg('mask', mask), this.#stored('maskedFill()', value)));
  }
  maskedSelect(mask: Tensor): Tensor { return wrap(native.maskedSelect(this.handle, tensorArg('mask', mask))); }
  oneHot(numClasses = -1): Tensor { return wrap(native.oneHot(this.handle, checkInteger('numClasses', numClasses, -1))); }

  // ------------------------------------------------------------ conversion
  /** A copy (or this tensor's data, when nothing changes) on another device and/or dtype. */
  to(target: DTypeLike | Device | { dtype?: DTypeLike; device?: Device; nonBlocking?: boolean }): Tensor {
    let dtype: number | null = null;
    let device: string | null = null;
    let nonBlocking = false;
    if (typeof target === 'string') {
      if (isDtypeName(target) || /^(float|int|uint|bool|double|half|long|bfloat)/.test(target)) dtype = dtypeCode('dtype', target);
      else device = checkDevice('device', target); // 'gpu' -> unknown device 'gpu' (did you mean 'cuda'?)
    } else if (typeof target === 'object' && target !== null) {
      const o = checkOptions('to() options', target, { dtype: 'any', device: 'any', nonBlocking: 'boolean' }, { hints: { non_blocking: 'nonBlocking' } });
      if (o.dtype !== undefined) dtype = dtypeCode('dtype', o.dtype);
      if (o.device !== undefined) device = checkDevice('device', o.device);
      nonBlocking = o.nonBlocking === true;
    } else {
      throw invalidParameterError('target', 'a dtype, a device or { dtype, device }', target);
    }
    return wrap(native.to(this.handle, dtype, device, nonBlocking));
  }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index?: number): Tensor { return this.to(index === undefined ? 'cuda' : `cuda:${checkInteger('index', index, 0)}`); }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  clone(): Tensor { return this.#un(UNARY.clone); }
  /** A tensor sharing the data but cut from the autograd graph. */
  detach(): Tensor { return this.#un(UNARY.detach); }
  contiguous(opts: { memoryFormat?: 'contiguous' | 'channelsLast' } = {}): Tensor {
    return this.#un(opts.memoryFormat === 'channelsLast' ? UNARY.channelsLast : UNARY.contiguous);
  }
  allclose(o: Tensor, opts: { rtol?: number; atol?: number } = {}): boolean {
    return native.allclose(this.handle, tensorArg('other', o), opts.rtol ?? 1e-5, opts.atol ?? 1e-8);
  }
  equal(o: Tensor): boolean { return native.equal(this.handle, tensorArg('other', o)); }

  // ------------------------------------------------------------ in place (returns this)
  add_(o: TensorOrScalar, alpha?: number): this { return this.#inPlace(IN_PLACE.add, 'other', o, alpha); }
  sub_(o: TensorOrScalar, alpha?: number): this { return this.#inPlace(IN_PLACE.sub, 'other', o, alpha); }
  mul_(o: TensorOrScalar): this { return this.#inPlace(IN_PLACE.mul, 'other', o); }
  div_(o: TensorOrScalar): this { return this.#inPlace(IN_PLACE.div, 'other', o); }
  copy_(src: Tensor): this { native.inPlace(IN_PLACE.copy, this.handle, tensorArg('src', src)); return this; }
  fill_(value: number | boolean): this {
    if ((value as unknown) instanceof Tensor) return this.#inPlace(IN_PLACE.fill, 'value', value);
    native.inPlace(IN_PLACE.fill, this.handle, null, this.#stored('fill_()', scalarArg('value', value)));
    return this;
  }
  #inPlace(code: number, name: string, o: unknown, alpha?: number): this {
    if (o instanceof Tensor) native.inPlace(code, this.handle, o.handle, undefined, alpha);
    else native.inPlace(code, this.handle, null, scalarArg(name, o), alpha);
    return this;
  }

  /**
   * A JS number written into this tensor's elements: for an integer dtype it must fit (NaN,
   * ±Infinity and out-of-range values raise a RangeError) and fractions truncate toward zero.
   */
  #stored<V>(where: string, v: V): V {
    if (typeof v !== 'number') return v;
    const dtype = this.dtype;
    if (!isCheckedIntDtype(dtype)) return v;
    checkIntValue(where, v, dtype);
    return Math.trunc(v) as V;
  }
  zero_(): this { native.inPlace(IN_PLACE.zero, this.handle, null); return this; }
}
Object.defineProperty(Tensor.prototype, TENSOR_BRAND, { value: true });

/** Wraps a native handle (used by the other lib/ files). */
export function fromHandle(h: Handle): Tensor {
  return new Tensor(h);
}

/** where(condition, a, b): elements of a where condition is true, of b elsewhere. */
export function where(condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const c = tensorArg('condition', condition);
  const sa = a instanceof Tensor ? undefined : scalarArg('input', a);
  const sb = b instanceof Tensor ? undefined : scalarArg('other', b);
  // an integer scalar beside an integer tensor takes that tensor's dtype: it must fit
  if (typeof sa === 'number' && Number.isInteger(sa) && b instanceof Tensor) checkIntValue('where()', sa, b.dtype);
  if (typeof sb === 'number' && Number.isInteger(sb) && a instanceof Tensor) checkIntValue('where()', sb, a.dtype);
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
    throw new TypeError('where(condition, a, b) needs at least one of a and b to be a Tensor (it sets the dtype)');
  }
  return wrap(native.where(c, a instanceof Tensor ? a.handle : null, b instanceof Tensor ? b.handle : null, sa, sb));
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw invalidParameterError('tensors', 'a non-empty array of Tensors', tensors);
  return wrap(native.cat(tensors.map((t, i) => tensorArg(`tensors[${i}]`, t)), dimArg('dim', dim)));
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw invalidParameterError('tensors', 'a non-empty array of Tensors', tensors);
  return wrap(native.stack(tensors.map((t, i) => tensorArg(`tensors[${i}]`, t)), dimArg('dim', dim)));
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  return wrap(native.binary(BINARY.matmul, tensorArg('a', a), tensorArg('b', b)));
}

export { tensorArg as unwrapTensor };
