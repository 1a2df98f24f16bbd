// The data loader: batches of { images, targets } tensors as an async iterator. The JS side only
// picks indices and (for user data sets) gathers pixels; reading, decoding, cropping, flipping,
// normalising and batching run in native code on the libuv pool (native/data.cc), `prefetch`
// batches ahead of the one being trained on, so the event loop stays free.
import os from 'node:os';
import { native } from '../core/native.js';
import { fromHandle, type Tensor } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { checkDevice, type Device } from '../core/dtype.js';
import { checkBoolean, checkInteger, checkOptions, invalidParameterError, type OptionSchema } from '../core/errors.js';
import { toNativeOps, type Transform } from './transforms.js';
import { checkDataset, isNativeBacked, NATIVE_SOURCE, type Dataset, type Sample } from './dataset.js';
import { isSampler, RandomSampler, SequentialSampler, type Sampler } from './sampler.js';
import { toSeed } from './rng.js';
import type { NativeBatchRequest, NativeOp } from './binding.js';

export interface LoaderOptions {
  /** Images per batch (default 1, like PyTorch). */
  batchSize?: number;
  /** A new order every epoch: permutation(n, seed, epoch) (default false: 0..n-1). */
  shuffle?: boolean;
  /** Seeds the order and every random transform (default 0). */
  seed?: number | bigint;
  /** Drop the last, smaller batch (default false). */
  dropLast?: boolean;
  /** Run per batch in native code (see sdd.transforms); output float32 B×C×H×W. */
  transforms?: readonly Transform[];
  /** Where the batches go: 'cpu' (default) or 'cuda[:N]' (pinned memory, non-blocking copy). */
  device?: Device;
  /** Batches prepared ahead of the one being consumed (default 2 × workers). */
  prefetch?: number;
  /** Batches prepared at the same time, each on a libuv pool thread (default min(2, cores)). The
   *  pool has UV_THREADPOOL_SIZE threads (4 unless set), shared with fs and zlib. */
  workers?: number;
  /** Threads splitting one batch's images (default 1). */
  threadsPerBatch?: number;
  /** Which indices each epoch visits (e.g. a DistributedSampler); replaces shuffle. */
  sampler?: Sampler;
}

export interface Batch {
  /** float32 B×C×H×W. The consumer owns it: dispose() it (or use tidy around the step). */
  images: Tensor;
  /** int64 B: the class of each image. The consumer owns it. */
  targets: Tensor;
  /** The data set indices of the batch. */
  indices: Int32Array;
  epoch: number;
  /** The batch's position in the epoch. */
  batch: number;
}

const LOADER_SCHEMA: OptionSchema = {
  batchSize: { kind: 'integer', min: 1 }, shuffle: 'boolean', seed: 'any', dropLast: 'boolean', transforms: 'any', device: 'any',
  prefetch: { kind: 'integer', min: 0, max: 1024 }, workers: { kind: 'integer', min: 1, max: 64 },
  threadsPerBatch: { kind: 'integer', min: 1, max: 256 }, sampler: 'any',
};
/** torch.utils.data.DataLoader's names for what this loader does otherwise, or takes under another name. */
const LOADER_HINTS = {
  num_workers: 'workers', prefetch_factor: 'prefetch (batches ahead, not per worker)', pin_memory: "device: 'cuda' (pinned memory is used for CUDA targets)",
  collate_fn: 'transforms (per-batch native transforms; custom collation is not supported)', batch_sampler: 'sampler + batchSize',
};

/** A counting semaphore: at most `n` native batch jobs in flight. */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

function concatSamples(samples: Sample[], indices: Int32Array): { data: Uint8Array; offsets: Float64Array; dims: Int32Array; layout: 'CHW' | 'HWC'; targets: Int32Array } {
  const B = samples.length;
  const offsets = new Float64Array(B);
  const dims = new Int32Array(3 * B);
  const targets = new Int32Array(B);
  let layout: 'CHW' | 'HWC' | undefined;
  let total = 0;
  samples.forEach((s, b) => {
    const where = `dataset.get(${indices[b]})`;
    if (typeof s !== 'object' || s === null || !(s.image instanceof Uint8Array)) throw invalidParameterError(where, 'a sample { image: Uint8Array, shape, target }', s);
    const l = s.layout ?? 'HWC';
    if (l !== 'HWC' && l !== 'CHW') throw invalidParameterError(`${where}.layout`, "'HWC' or 'CHW'", l);
    if (layout !== undefined && l !== layout) throw new TypeError(`${where} is ${l} but earlier samples of the batch are ${layout}: a data set must use one layout`);
    layout = l;
    const sh = s.shape;
    if (!Array.isArray(sh) || !sh.every((d) => Number.isInteger(d) && d > 0) || !(sh.length === 3 || (sh.length === 2 && l === 'HWC'))) {
      throw invalidParameterError(`${where}.shape`, l === 'HWC' ? '[H, W, C] or [H, W] of positive integers' : '[C, H, W] of positive integers', sh);
    }
    const [c, h, w] = l === 'CHW' ? sh : [sh[2] ?? 1, sh[0]!, sh[1]!];
    const n = c! * h! * w!;
    if (s.image.length !== n) throw invalidParameterError(`${where}.image`, `${n} bytes (shape [${sh.join(', ')}])`, `${s.image.length} bytes` as unknown, true);
    if (!Number.isInteger(s.target) || s.target < 0) throw invalidParameterError(`${where}.target`, 'a class index (an integer >= 0)', s.target);
    offsets[b] = total;
    dims.set([c!, h!, w!], 3 * b);
    targets[b] = s.target;
    total += n;
  });
  const data = new Uint8Array(total);
  samples.forEach((s, b) => data.set(s.image, offsets[b]!));
  return { data, offsets, dims, layout: layout ?? 'HWC', targets };
}

/**
 * Batches a data set. `for await (const { images, targets } of loader)` runs one epoch and then
 * advances the loader's epoch; `loader.epoch(e)` runs epoch e without changing it, and
 * `loader.setEpoch(e)` picks which runs next (resumes: setEpoch(e), or epoch(e, { startBatch })).
 * Everything an epoch yields is a function of (dataset, options, seed, epoch).
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly seed: bigint;
  readonly device: Device;
  readonly prefetch: number;
  readonly workers: number;
  readonly threadsPerBatch: number;
  readonly sampler: Sampler;
  /** the transforms each batch goes through (empty: pixels / 255 only) */
  readonly transforms: readonly Transform[];
  readonly #ops: NativeOp[];
  #nextEpoch = 0;

  constructor(dataset: Dataset, opts: LoaderOptions = {}) {
    this.dataset = checkDataset('dataset', dataset);
    const o = checkOptions<LoaderOptions>('DataLoader options', opts, LOADER_SCHEMA, { hints: LOADER_HINTS });
    this.batchSize = checkInteger('options.batchSize', o.batchSize ?? 1, 1);
    this.dropLast = o.dropLast === undefined ? false : checkBoolean('options.dropLast', o.dropLast);
    this.seed = toSeed('options.seed', o.seed ?? 0);
    this.device = checkDevice('options.device', o.device);
    if (this.device !== 'cpu' && !native.cudaIsAvailable()) {
      throw invalidParameterError('options.device', "'cpu' (CUDA is not available here)", o.device, true);
    }
    this.workers = checkInteger('options.workers', o.workers ?? Math.min(2, os.availableParallelism()), 1, 64);
    this.prefetch = checkInteger('options.prefetch', o.prefetch ?? 2 * this.workers, 0, 1024);
    this.threadsPerBatch = checkInteger('options.threadsPerBatch', o.threadsPerBatch ?? 1, 1, 256);
    this.#ops = toNativeOps(o.transforms);
    this.transforms = Object.freeze([...(o.transforms ?? [])]);
    const shuffle = o.shuffle === undefined ? false : checkBoolean('options.shuffle', o.shuffle);
    if (o.sampler !== undefined) {
      if (!isSampler(o.sampler)) throw invalidParameterError('options.sampler', 'a sampler (length and indices(epoch))', o.sampler);
      if (o.shuffle !== undefined) throw new TypeError('DataLoader: give either options.sampler or options.shuffle, not both');
      this.sampler = o.sampler;
    } else {
      this.sampler = shuffle ? new RandomSampler(this.dataset.length, { seed: this.seed }) : new SequentialSampler(this.dataset.length);
    }
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next `for await` runs. */
  get nextEpoch(): number {
    return this.#nextEpoch;
  }

  /** Sets the epoch the next `for await` runs (like DistributedSampler.set_epoch). */
  setEpoch(epoch: number): void {
    this.#nextEpoch = checkInteger('epoch', epoch, 0);
  }

  /** The data set indices of every batch of `epoch` (what the epoch will yield, without pixels). */
  batchIndices(epoch: number): Int32Array[] {
    const order = this.sampler.indices(checkInteger('epoch', epoch, 0));
    const out: Int32Array[] = [];
    for (let b = 0; b < this.length; b++) out.push(order.slice(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize)));
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    const e = this.#nextEpoch;
    this.#nextEpoch = e + 1;
    return this.epoch(e);
  }

  /**
   * Iterates epoch `epoch` (from batch `startBatch`, default 0, for a resume mid-epoch) without
   * changing the loader's epoch. Breaking out of the loop disposes the batches prepared ahead.
   */
  epoch(epoch: number, opts: { startBatch?: number } = {}): AsyncGenerator<Batch, void, undefined> {
    // checked here, when called, not at the first next()
    checkInteger('epoch', epoch, 0);
    const start = checkOptions<{ startBatch: number }>('DataLoader.epoch() options', opts, { startBatch: { kind: 'integer', min: 0, default: 0 } }).startBatch;
    return this.#epoch(epoch, start);
  }

  async *#epoch(epoch: number, start: number): AsyncGenerator<Batch, void, undefined> {
    const batches = this.batchIndices(epoch);
    const slots = new Slots(this.workers);
    const pending: Promise<Batch>[] = [];
    let next = start;
    try {
      for (let b = start; b < batches.length; b++) {
        while (next < batches.length && next <= b + this.prefetch) {
          const p = this.#make(epoch, next, batches[next]!, slots);
          p.catch(() => undefined); // awaited in order below; this only marks it handled meanwhile
          pending.push(p);
          next++;
        }
        yield await pending.shift()!;
      }
    } finally {
      // Batches prepared but never handed out belong to nobody: free them when they land.
      for (const p of pending) p.then((bt) => { bt.images.dispose(); bt.targets.dispose(); }, () => undefined);
    }
  }

  async #make(epoch: number, batch: number, indices: Int32Array, slots: Slots): Promise<Batch> {
    await slots.acquire();
    try {
      const ids = Float64Array.from(indices);
      const base = { ops: this.#ops, ids, seed: this.seed, epoch, device: this.device, threads: this.threadsPerBatch };
      let req: NativeBatchRequest;
      if (isNativeBacked(this.dataset)) {
        const src = this.dataset[NATIVE_SOURCE]();
        const targets = new Int32Array(indices.length);
        for (let i = 0; i < indices.length; i++) targets[i] = src.targets[indices[i]!]!;
        if (src.kind === 'tensor') {
          req = { ...base, targets, source: { kind: 'tensor', images: src.images.handle, layout: src.layout } };
        } else {
          const paths = Array.from(indices, (i) => src.paths[i]!);
          req = { ...base, targets, source: { kind: 'files', paths } };
        }
      } else {
        const samples = await Promise.all(Array.from(indices, (i) => this.dataset.get(i)));
        const { data, offsets, dims, layout, targets } = concatSamples(samples, indices);
        req = { ...base, targets, source: { kind: 'buffer', data, offsets, dims, layout } };
      }
      const [ih, th] = await native.dataBatch(req);
      const images = keep(fromHandle(ih));
      const targets = keep(fromHandle(th!));
      return { images, targets, indices, epoch, batch };
    } finally {
      slots.release();
    }
  }
}
