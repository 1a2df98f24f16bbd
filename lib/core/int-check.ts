// JS numbers (and BigInts) written into integer tensors: like PyTorch, a value must fit the dtype.
// Fractions truncate toward zero (as torch.tensor([2.5], dtype=torch.int64) does); NaN, ±Infinity
// and values outside the dtype's range raise a RangeError instead of wrapping around. bool and
// the floating dtypes take any number.
import type { DType } from './dtype.js';

/** Inclusive integer ranges of the integer dtypes (int64's upper bound is 2^63 - 1). */
const RANGES: Partial<Record<DType, { lo: number; hi: number; bigLo: bigint; bigHi: bigint; text: string }>> = {};
for (const [d, bits, signed] of [['uint8', 8, false], ['int8', 8, true], ['int16', 16, true], ['int32', 32, true], ['int64', 64, true]] as const) {
  const bigLo = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const bigHi = (signed ? 2n ** BigInt(bits - 1) : 2n ** BigInt(bits)) - 1n;
  // as doubles: int64's 2^63 - 1 rounds up to 2^63, so its upper check is strict (see fits())
  RANGES[d] = { lo: Number(bigLo), hi: Number(bigHi), bigLo, bigHi, text: `[${bigLo}, ${bigHi}]` };
}

/** Whether writing JS numbers into `dtype` needs a check (the integer dtypes other than bool). */
export function isCheckedIntDtype(dtype: DType): boolean {
  return RANGES[dtype] !== undefined;
}

function fits(v: number, dtype: DType): boolean {
  const r = RANGES[dtype]!;
  const t = Math.trunc(v); // NaN stays NaN and fails both comparisons; ±Infinity fails one
  return dtype === 'int64' ? t >= r.lo && t < r.hi : t >= r.lo && t <= r.hi;
}

/** The RangeError for a value that does not fit an integer dtype. */
export function intRangeError(where: string, value: number | bigint, dtype: DType, at: string, hint = ''): RangeError {
  const r = RANGES[dtype]!;
  const v = typeof value === 'bigint' ? `${value}n` : Object.is(value, -0) ? '-0' : String(value);
  const why = typeof value === 'number' && !Number.isFinite(value)
    ? `${v}${at} cannot be stored in dtype ${dtype} (integers in ${r.text})`
    : `${v}${at} does not fit dtype ${dtype} (integers in ${r.text})`;
  return new RangeError(`${where}: ${why}${hint}`);
}

/** A single value (full(), fill_(), a 0-d tensor): throws unless it fits `dtype` (no-op for other dtypes). */
export function checkIntValue(where: string, value: unknown, dtype: DType): void {
  if (typeof value !== 'number' || !isCheckedIntDtype(dtype)) return;
  if (!fits(value, dtype)) throw intRangeError(where, value, dtype, '');
}

/** The index of flat position i in `shape`, as "[i, j, ...]". */
function indexOf(i: number, shape: number[]): string {
  if (shape.length === 0) return '[]';
  const idx: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = n > 0 ? i % n : 0;
    i = n > 0 ? Math.floor(i / n) : 0;
  }
  return `[${idx.join(', ')}]`;
}

type Source = ArrayLike<number> | BigInt64Array;

/**
 * Checks flat values (a JS array or a typed array) bound for `dtype`; the first that does not fit
 * raises a RangeError naming it, its index in `shape` and the dtype's range. `srcDtype` is the
 * typed array's own dtype: when every value of it fits `dtype` (the same dtype, or a wider one)
 * there is nothing to check, so big arrays of the tensor's own dtype cost nothing here.
 */
export function checkIntValues(where: string, values: Source, dtype: DType, shape: number[], srcDtype?: DType, hint = ''): void {
  const r = RANGES[dtype];
  if (r === undefined) return;
  if (srcDtype !== undefined) {
    const s = RANGES[srcDtype];
    if (s !== undefined && s.bigLo >= r.bigLo && s.bigHi <= r.bigHi) return;
  }
  if (values instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) {
      const b = values[i]!;
      if (b < r.bigLo || b > r.bigHi) throw intRangeError(where, b, dtype, ` at index ${indexOf(i, shape)}`, hint);
    }
    return;
  }
  const { lo, hi } = r;
  const strict = dtype === 'int64';
  for (let i = 0; i < values.length; i++) {
    const t = Math.trunc(values[i]!);
    if (t >= lo && (strict ? t < hi : t <= hi)) continue;
    throw intRangeError(where, values[i]!, dtype, ` at index ${indexOf(i, shape)}`, hint);
  }
}
