// Tensors to and from raw little-endian bytes, the payload of both checkpoint formats. Half types
// go through exact float32 conversions in TS, so no native raw-bytes entry point is needed.
import { endianness } from 'node:os';
import { tensor } from '../core/creation.js';
import type { Tensor } from '../core/tensor.js';
import type { Device, DType } from '../core/dtype.js';

export const ITEMSIZE: Readonly<Record<DType, number>> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

// Typed arrays view memory in host order; the formats are little-endian.
const LITTLE_ENDIAN_HOST = endianness() === 'LE';
function checkHost(): void {
  if (!LITTLE_ENDIAN_HOST) throw new Error('sdd-torch checkpoints: big-endian hosts are not supported');
}

/** Number of elements of a shape, or -1 when it is not a safe integer. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (d === 0) return 0;
  }
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

// ------------------------------------------------------------------ half precision
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** float32 value -> float16 bits, rounding to nearest even (exact for representable values). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (m ? 0x200 | (m >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    const shift = 14 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry correctly rounds up to inf
  return sign | r;
}

/** float32 value -> bfloat16 bits (the top half of float32, rounded to nearest even). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

// ------------------------------------------------------------------ bytes <-> tensors
/** A copy of `bytes` in fresh memory, so typed-array views of any alignment work. */
function aligned(bytes: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  return buf;
}

/** A tensor of `dtype` and `shape` from C-contiguous little-endian bytes (length already checked). */
export function tensorFromBytes(bytes: Uint8Array, shape: number[], dtype: DType, device: Device = 'cpu'): Tensor {
  checkHost();
  const buf = aligned(bytes);
  const n = bytes.length / ITEMSIZE[dtype];
  const opts = { shape, dtype, device };
  switch (dtype) {
    case 'float64': return tensor(new Float64Array(buf), opts);
    case 'float32': return tensor(new Float32Array(buf), opts);
    case 'int64': return tensor(new BigInt64Array(buf), opts);
    case 'int32': return tensor(new Int32Array(buf), opts);
    case 'int16': return tensor(new Int16Array(buf), opts);
    case 'int8': return tensor(new Int8Array(buf), opts);
    case 'uint8':
    case 'bool': return tensor(new Uint8Array(buf), opts);
    case 'float16': {
      // Every float16 is exactly a float32, and libtorch converts it back exactly.
      const h = new Uint16Array(buf);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(h[i]!);
      return tensor(out, opts);
    }
    case 'bfloat16': {
      const h = new Uint16Array(buf);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = h[i]! << 16;
      return tensor(new Float32Array(out.buffer), opts);
    }
  }
}

/** The C-contiguous little-endian bytes of a tensor (copied to the CPU, detached). */
export function tensorToBytes(t: Tensor): Uint8Array {
  checkHost();
  const dtype = t.dtype;
  const data = t.toTypedArray();
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const src = data as Float32Array;
    const out = new Uint16Array(src.length);
    const conv = dtype === 'float16' ? floatToHalf : floatToBfloat16;
    for (let i = 0; i < src.length; i++) out[i] = conv(src[i]!);
    return new Uint8Array(out.buffer);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The bytes of a strided view of a storage (PyTorch's as_strided), made C-contiguous. The caller
 * has checked that every element lies inside `storage`.
 */
export function gatherStrided(storage: Uint8Array, itemsize: number, offset: number, size: readonly number[], stride: readonly number[]): Uint8Array {
  const numel = numelOf(size);
  if (isContiguous(size, stride)) {
    return storage.subarray(offset * itemsize, (offset + numel) * itemsize);
  }
  const out = new Uint8Array(numel * itemsize);
  if (numel === 0) return out;
  const ndim = size.length;
  const index = new Array<number>(ndim).fill(0);
  let src = offset;
  for (let i = 0; i < numel; i++) {
    const from = src * itemsize;
    const to = i * itemsize;
    for (let k = 0; k < itemsize; k++) out[to + k] = storage[from + k]!;
    // advance the multi-index, innermost dimension first
    for (let d = ndim - 1; d >= 0; d--) {
      if (++index[d]! < size[d]!) {
        src += stride[d]!;
        break;
      }
      src -= (size[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d]!;
  }
  return true;
}
