// The data pipeline's random numbers: pure functions of (seed, epoch, …), so the order of an epoch
// and every sample's augmentation come out the same across runs, resumes, ranks and threads.
//
// - Keys: splitmix64 (Steele, Lea & Flood 2014). S(x) = mix(x + G), G = 0x9E3779B97F4A7C15,
//   mix = the splitmix64 finaliser. A sample's key is S(S(S(seed) ^ epoch) ^ id), id = its data set
//   index; native/data_pipeline.h computes the same and draws from it: state += G, draw = mix(state),
//   uniform = (draw >> 11) / 2^53, integer in [lo, hi) = lo + floor(uniform * (hi - lo)).
// - Epoch order: a Fisher–Yates shuffle (i from n-1 down to 1, j uniform in [0, i]) driven by
//   xoshiro128** (Blackman & Vigna), whose four 32-bit words are the high and low halves of two
//   splitmix64 draws from the key S(S(S(seed) ^ epoch) ^ SHUFFLE_TAG); j is drawn by rejection so
//   it is exactly uniform. 32-bit arithmetic only: a 1.2M-image epoch is shuffled in ~15 ms.
import { invalidParameterError } from '../core/errors.js';

const MASK = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;
/** Separates the shuffle stream from the per-sample streams (ids are < 2^53). */
export const SHUFFLE_TAG = 0x8000_0000_5348_5546n;

/** The splitmix64 finaliser. */
export function mix64(z: bigint): bigint {
  z &= MASK;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

/** One splitmix64 step from x: mix(x + G). */
export function splitmix64(x: bigint): bigint {
  return mix64((x + GOLDEN) & MASK);
}

/** A seed as an unsigned 64-bit integer (a non-negative safe integer or a bigint < 2^64). */
export function toSeed(name: string, seed: unknown): bigint {
  if (typeof seed === 'bigint' && seed >= 0n && seed <= MASK) return seed;
  if (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) return BigInt(seed);
  throw invalidParameterError(name, 'a non-negative safe integer or a bigint below 2^64', seed);
}

/** The key of sample `id`'s random stream in `epoch` (what the native augmentation draws from). */
export function sampleKey(seed: bigint | number, epoch: number, id: number): bigint {
  const s = toSeed('seed', seed);
  return splitmix64(splitmix64(splitmix64(s) ^ BigInt(epoch)) ^ BigInt(id));
}

/** The per-sample stream (bigint arithmetic: a reference for tests and small jobs). */
export class SampleRng {
  #state: bigint;
  constructor(key: bigint) {
    this.#state = key & MASK;
  }
  next(): bigint {
    this.#state = (this.#state + GOLDEN) & MASK;
    return mix64(this.#state);
  }
  /** Uniform in [0, 1) with 53 bits. */
  uniform(): number {
    return Number(this.next() >> 11n) * 2 ** -53;
  }
  uniformIn(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }
  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo));
  }
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** xoshiro128** over four 32-bit words (state never all zero). */
export class Xoshiro128 {
  #s = new Uint32Array(4);
  constructor(key: bigint) {
    let state = key & MASK;
    for (let k = 0; k < 2; k++) {
      state = (state + GOLDEN) & MASK;
      const v = mix64(state);
      this.#s[2 * k] = Number(v >> 32n);
      this.#s[2 * k + 1] = Number(v & 0xffffffffn);
    }
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }
  /** The next 32-bit output, as a non-negative number. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  /** Uniform integer in [0, n), 1 <= n <= 2^32, by rejection (no modulo bias). */
  below(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The key of the shuffle stream of `epoch`. */
export function shuffleKey(seed: bigint | number, epoch: number): bigint {
  const s = toSeed('seed', seed);
  return splitmix64(splitmix64(splitmix64(s) ^ BigInt(epoch)) ^ SHUFFLE_TAG);
}

/** A random permutation of 0..n-1: a pure function of (n, seed, epoch). */
export function permutation(n: number, seed: bigint | number, epoch: number): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw invalidParameterError('n', 'an integer in [0, 2^31)', n);
  if (!Number.isInteger(epoch) || epoch < 0) throw invalidParameterError('epoch', 'a non-negative integer', epoch);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rng = new Xoshiro128(shuffleKey(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
