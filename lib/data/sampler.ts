// Samplers: which data set indices an epoch visits, in which order. Each is a pure function of the
// epoch (and its seed), so a run resumed at epoch e sees exactly the order it would have seen.
import { checkBoolean, checkInteger, checkOptions, invalidParameterError } from '../core/errors.js';
import { permutation, toSeed } from './rng.js';

/** Yields the indices of one epoch. */
export interface Sampler {
  /** How many indices each epoch yields. */
  readonly length: number;
  indices(epoch: number): Int32Array;
}

export function isSampler(s: unknown): s is Sampler {
  return typeof s === 'object' && s !== null && typeof (s as Sampler).indices === 'function' && Number.isInteger((s as Sampler).length);
}

/** 0, 1, …, n-1 every epoch. */
export class SequentialSampler implements Sampler {
  readonly length: number;
  constructor(n: number) {
    this.length = checkInteger('n', n, 0);
  }
  indices(_epoch: number): Int32Array {
    const out = new Int32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = i;
    return out;
  }
}

/** A permutation of 0..n-1 per epoch: permutation(n, seed, epoch) (see rng.ts). */
export class RandomSampler implements Sampler {
  readonly length: number;
  readonly seed: bigint;
  constructor(n: number, opts: { seed?: number | bigint } = {}) {
    const o = checkOptions('RandomSampler options', opts, { seed: 'any' });
    this.length = checkInteger('n', n, 0);
    this.seed = toSeed('options.seed', o.seed ?? 0);
  }
  indices(epoch: number): Int32Array {
    return permutation(this.length, this.seed, checkInteger('epoch', epoch, 0));
  }
}

export interface DistributedOptions {
  /** This process's rank, 0 <= rank < worldSize. */
  rank: number;
  worldSize: number;
  /** Shuffle each epoch (default true), with the same seed on every rank. */
  shuffle?: boolean;
  seed?: number | bigint;
  /** Drop the tail so every rank gets floor(n / worldSize) (default false: pad by repeating). */
  dropLast?: boolean;
}

/**
 * Shards each epoch across `worldSize` ranks like torch.utils.data.DistributedSampler: every rank
 * computes the same epoch order (permutation(n, seed, epoch) when shuffling, else 0..n-1), pads it
 * by repeating its start up to a multiple of worldSize (or, with dropLast, cuts it down to one),
 * and takes every worldSize-th index starting at its rank. The ranks' shards are disjoint and
 * together cover the epoch (plus the padding). Only the order differs from PyTorch's (which uses
 * torch.randperm with seed + epoch).
 */
export class DistributedSampler implements Sampler {
  readonly n: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly seed: bigint;
  readonly dropLast: boolean;
  /** Indices per rank per epoch. */
  readonly length: number;
  /** Indices per epoch over all ranks (length * worldSize). */
  readonly totalSize: number;

  constructor(n: number, opts: DistributedOptions) {
    const o = checkOptions('DistributedSampler options', opts,
      { rank: 'any', worldSize: 'any', shuffle: 'boolean', seed: 'any', dropLast: 'boolean' });
    this.n = checkInteger('n', n, 0);
    this.worldSize = checkInteger('options.worldSize', o.worldSize, 1);
    this.rank = checkInteger('options.rank', o.rank, 0);
    if (this.rank >= this.worldSize) throw invalidParameterError('options.rank', `an integer in [0, ${this.worldSize - 1}]`, o.rank, true);
    this.shuffle = o.shuffle === undefined ? true : checkBoolean('options.shuffle', o.shuffle);
    this.seed = toSeed('options.seed', o.seed ?? 0);
    this.dropLast = o.dropLast === undefined ? false : checkBoolean('options.dropLast', o.dropLast);
    this.length = this.dropLast && this.n % this.worldSize !== 0
      ? Math.ceil((this.n - this.worldSize) / this.worldSize)
      : Math.ceil(this.n / this.worldSize);
    this.totalSize = this.length * this.worldSize;
  }

  /** The whole epoch's (padded or cut) order, before sharding. */
  epochOrder(epoch: number): Int32Array {
    checkInteger('epoch', epoch, 0);
    let order: Int32Array;
    if (this.shuffle) order = permutation(this.n, this.seed, epoch);
    else {
      order = new Int32Array(this.n);
      for (let i = 0; i < this.n; i++) order[i] = i;
    }
    const out = new Int32Array(this.totalSize);
    if (this.totalSize <= this.n) {
      out.set(order.subarray(0, this.totalSize));
    } else {
      out.set(order);
      for (let i = this.n; i < this.totalSize; i++) out[i] = order[(i - this.n) % Math.max(this.n, 1)]!;
    }
    return out;
  }

  indices(epoch: number): Int32Array {
    const all = this.epochOrder(epoch);
    const out = new Int32Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = all[this.rank + i * this.worldSize]!;
    return out;
  }
}

/**
 * Evaluation shards: rank r takes indices r, r + worldSize, r + 2 worldSize, ... in order, so every
 * index is seen exactly once over the ranks (no padding: counts reduced across ranks are exact).
 */
export class ShardSampler implements Sampler {
  readonly n: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly length: number;

  constructor(n: number, opts: { rank: number; worldSize: number }) {
    const o = checkOptions('ShardSampler options', opts, { rank: 'any', worldSize: 'any' });
    this.n = checkInteger('n', n, 0);
    this.worldSize = checkInteger('options.worldSize', o.worldSize, 1);
    this.rank = checkInteger('options.rank', o.rank, 0);
    if (this.rank >= this.worldSize) throw invalidParameterError('options.rank', `an integer in [0, ${this.worldSize - 1}]`, o.rank, true);
    this.length = this.n > this.rank ? Math.ceil((this.n - this.rank) / this.worldSize) : 0;
  }

  indices(_epoch: number): Int32Array {
    const out = new Int32Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.rank + i * this.worldSize;
    return out;
  }
}
