// Making tensors: from JS data (arrays, nested arrays, typed arrays, scalars) and factories.
import { native } from './native.js';
import { Tensor, fromHandle, type NestedArray } from './tensor.js';
import { checkDevice, dtypeCode, dtypeName, type Device, type DType, type DTypeLike } from './dtype.js';
import { checkIntValue, checkIntValues } from './int-check.js';
import { checkBoolean, checkInteger, checkKnownKeys, checkNumber, checkOptions, checkShape, invalidParameterError } from './errors.js';

export interface TensorOptions {
  /** Element type; default float32 (int64 for integer data given as JS numbers, like PyTorch). */
  dtype?: DTypeLike;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: Device;
  requiresGrad?: boolean;
}
export interface TensorDataOptions extends TensorOptions {
  /** The shape of flat data; defaults to the data's own (nested arrays) or [length]. */
  shape?: number[];
}

const OPTION_KEYS = ['dtype', 'device', 'requiresGrad'] as const;

interface Resolved { dtype: number; device: string; requiresGrad: boolean }

function resolve(name: string, opts: unknown, defaultDtype: DType = 'float32', extra: readonly string[] = []): Resolved {
  const o = checkOptions(name, opts) as TensorOptions;
  checkKnownKeys(name, o as Record<string, unknown>, [...OPTION_KEYS, ...extra]);
  return {
    dtype: dtypeCode(`${name}.dtype`, o.dtype ?? defaultDtype),
    device: checkDevice(`${name}.device`, o.device),
    requiresGrad: o.requiresGrad === undefined ? false : checkBoolean(`${name}.requiresGrad`, o.requiresGrad),
  };
}

type AnyTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint8ClampedArray | Int8Array | Int16Array;

const TYPED_DTYPE = new Map<unknown, DType>([
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int32Array, 'int32'], [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'], [Uint8ClampedArray, 'uint8'], [Int8Array, 'int8'], [Int16Array, 'int16'],
]);

function inferShape(data: unknown, path: string): number[] {
  if (!Array.isArray(data)) return [];
  if (data.length === 0) return [0];
  const inner = inferShape(data[0], `${path}[0]`);
  return [data.length, ...inner];
}

function flatten(data: NestedArray, shape: number[], out: number[], depth: number, path: string): { bools: number; ints: number } {
  const counts = { bools: 0, ints: 0 };
  const visit = (v: unknown, d: number, p: string): void => {
    if (d === shape.length) {
      if (typeof v === 'number') {
        out.push(v);
        if (Number.isInteger(v)) counts.ints++;
      } else if (typeof v === 'boolean') {
        out.push(v ? 1 : 0);
        counts.bools++;
      } else {
        throw invalidParameterError(`data${p}`, 'a number or boolean', v);
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw invalidParameterError(`data${p}`, `an array of length ${shape[d]} (nested arrays must be rectangular)`, v);
    }
    for (let i = 0; i < v.length; i++) visit(v[i], d + 1, `${p}[${i}]`);
  };
  visit(data, depth, path);
  return counts;
}

/**
 * A tensor from JS data: a number or boolean (a 0-d tensor), nested arrays, or a typed array
 * (flat; give `shape`). The data is copied: later changes to the JS array do not reach the tensor.
 */
export function tensor(data: NestedArray | AnyTypedArray | ArrayLike<number>, opts: TensorDataOptions = {}): Tensor {
  const o = checkOptions('options', opts) as TensorDataOptions;
  checkKnownKeys('tensor() options', o as Record<string, unknown>, [...OPTION_KEYS, 'shape']);
  const device = checkDevice('options.device', o.device);
  const requiresGrad = o.requiresGrad === undefined ? false : checkBoolean('options.requiresGrad', o.requiresGrad);
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const srcDtype = TYPED_DTYPE.get(data.constructor);
    if (!srcDtype) throw invalidParameterError('data', 'a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array', data);
    const shape = o.shape === undefined ? [data.length] : checkShape('options.shape', o.shape);
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== data.length) {
      throw invalidParameterError('options.shape', `a shape with ${data.length} elements (the data's length)`, `[${shape.join(', ')}] (${numel} elements)` as unknown, true);
    }
    const dtype = dtypeCode('options.dtype', o.dtype ?? srcDtype);
    // values that do not fit an integer dtype raise (no check when the source's own range fits)
    checkIntValues('tensor()', data as ArrayLike<number> | BigInt64Array, dtypeName(dtype), shape, srcDtype);
    return fromHandle(native.fromTypedArray(data, shape, dtype, device, requiresGrad));
  }
  if (typeof data === 'number' || typeof data === 'boolean') {
    const dt = o.dtype ?? (typeof data === 'boolean' ? 'bool' : Number.isInteger(data) ? 'int64' : 'float32');
    const code = dtypeCode('options.dtype', dt);
    checkIntValue('tensor()', data, dtypeName(code));
    const t = fromHandle(native.scalar(integral(data, code), code, device, false));
    if (o.shape !== undefined && checkShape('options.shape', o.shape).length > 0) {
      const r = t.reshape(o.shape);
      t.dispose();
      if (requiresGrad) r.requiresGrad = true;
      return r;
    }
    if (requiresGrad) t.requiresGrad = true;
    return t;
  }
  if (!Array.isArray(data)) throw invalidParameterError('data', 'a number, a boolean, a (nested) array or a typed array', data);
  const shape = inferShape(data, '');
  const flat: number[] = [];
  const counts = flatten(data as NestedArray, shape, flat, 0, '');
  const n = flat.length;
  const inferred: DType = n > 0 && counts.bools === n ? 'bool' : n > 0 && counts.ints === n ? 'int64' : 'float32';
  if (counts.bools > 0 && counts.bools !== n) throw invalidParameterError('data', 'all numbers or all booleans', 'a mix of numbers and booleans');
  const dtype = dtypeCode('options.dtype', o.dtype ?? inferred);
  checkIntValues('tensor()', flat, dtypeName(dtype), shape, undefined,
    o.dtype === undefined ? " (inferred from integer data: pass { dtype: 'float32' } or 'float64' for floating point)" : '');
  const finalShape = o.shape === undefined ? shape : checkShape('options.shape', o.shape);
  if (finalShape.reduce((a, b) => a * b, 1) !== n) {
    throw invalidParameterError('options.shape', `a shape with ${n} elements (the data's)`, o.shape, true);
  }
  return fromHandle(native.fromTypedArray(Float64Array.from(flat), finalShape, dtype, device, requiresGrad));
}

/** A checked value for an integer dtype, truncated toward zero as PyTorch does (2.7 -> 2). */
function integral(value: number | boolean, dtype: number): number | boolean {
  return typeof value === 'number' && !Number.isInteger(value) && isIntegerCode(dtype) ? Math.trunc(value) : value;
}
function isIntegerCode(dtype: number): boolean {
  const d = dtypeName(dtype);
  return d === 'int64' || d === 'int32' || d === 'int16' || d === 'int8' || d === 'uint8';
}

export function zeros(shape: number[], opts?: TensorOptions): Tensor { return full(shape, 0, opts); }
export function ones(shape: number[], opts?: TensorOptions): Tensor { return full(shape, 1, opts); }
export function full(shape: number[], value: number | boolean, opts?: TensorOptions): Tensor {
  const r = resolve('options', opts);
  if (typeof value !== 'number' && typeof value !== 'boolean') throw invalidParameterError('value', 'a number', value);
  checkIntValue('full()', value, dtypeName(r.dtype));
  return fromHandle(native.full(checkShape('shape', shape), integral(value, r.dtype), r.dtype, r.device, r.requiresGrad));
}
/** Uninitialised memory: fill it before reading. */
export function empty(shape: number[], opts?: TensorOptions): Tensor {
  const r = resolve('options', opts);
  return fromHandle(native.empty(checkShape('shape', shape), r.dtype, r.device, r.requiresGrad));
}

/** arange(end) or arange(start, end, step = 1): int64 when every argument is an integer. */
export function arange(startOrEnd: number, end?: number, step = 1, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  const start = end === undefined ? 0 : checkNumber('start', startOrEnd);
  const stop = end === undefined ? checkNumber('end', startOrEnd) : checkNumber('end', end);
  checkNumber('step', step);
  if (step === 0) throw invalidParameterError('step', 'a non-zero number', step, true);
  const allInt = [start, stop, step].every(Number.isInteger);
  const r = resolve('options', opts, allInt ? 'int64' : 'float32');
  return fromHandle(native.arange(start, stop, step, r.dtype, r.device));
}

export function linspace(start: number, end: number, steps: number, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  const r = resolve('options', opts);
  return fromHandle(native.linspace(checkNumber('start', start), checkNumber('end', end), checkInteger('steps', steps, 0), r.dtype, r.device));
}

export function eye(n: number, m?: number, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  const r = resolve('options', opts);
  const rows = checkInteger('n', n, 0);
  return fromHandle(native.eye(rows, m === undefined ? rows : checkInteger('m', m, 0), r.dtype, r.device));
}

/** Uniform samples in [0, 1) from the global generator (see manualSeed). */
export function rand(shape: number[], opts?: TensorOptions): Tensor {
  const r = resolve('options', opts);
  return fromHandle(native.rand(checkShape('shape', shape), r.dtype, r.device, r.requiresGrad));
}
/** Standard normal samples. */
export function randn(shape: number[], opts?: TensorOptions): Tensor {
  const r = resolve('options', opts);
  return fromHandle(native.randn(checkShape('shape', shape), r.dtype, r.device, r.requiresGrad));
}
/** Integers uniform in [low, high); int64 by default. */
export function randint(low: number, high: number, shape: number[], opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  const r = resolve('options', opts, 'int64');
  const lo = checkInteger('low', low);
  const hi = checkInteger('high', high);
  if (hi <= lo) throw invalidParameterError('high', `an integer > low (${lo})`, high, true);
  return fromHandle(native.randint(lo, hi, checkShape('shape', shape), r.dtype, r.device));
}
export function randperm(n: number, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  const r = resolve('options', opts, 'int64');
  return fromHandle(native.randperm(checkInteger('n', n, 0), r.dtype, r.device));
}

function like(t: Tensor, opts?: TensorOptions): TensorOptions {
  if (!(t instanceof Tensor)) throw invalidParameterError('input', 'a Tensor', t);
  return { dtype: t.dtype, device: t.device as Device, ...checkOptions('options', opts) };
}
export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor { return zeros(t.shape, like(t, opts)); }
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor { return ones(t.shape, like(t, opts)); }
export function fullLike(t: Tensor, value: number | boolean, opts?: TensorOptions): Tensor { return full(t.shape, value, like(t, opts)); }
export function emptyLike(t: Tensor, opts?: TensorOptions): Tensor { return empty(t.shape, like(t, opts)); }
export function randLike(t: Tensor, opts?: TensorOptions): Tensor { return rand(t.shape, like(t, opts)); }
export function randnLike(t: Tensor, opts?: TensorOptions): Tensor { return randn(t.shape, like(t, opts)); }
