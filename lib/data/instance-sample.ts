// CRD's instance sampling (the reference's CIFAR100InstanceSample, for any data set): every sample
// comes with its position in the data set (`index`) and `contrastIndex` = [positive, K negatives],
// the positive being the sample itself ('exact') or a random sample of its class ('relax') and the
// negatives drawn from the samples of the other classes (without replacement unless K exceeds them).
// Negatives are drawn from a per-sample stream: (seed, sample, how many times it was drawn).
import { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { checkInteger, checkOptions, invalidParameterError } from '../core/errors.js';
import { checkDataset, isNativeBacked, NATIVE_SOURCE, toTargets, type Dataset, type Sample } from './dataset.js';
import { sampleKey, Xoshiro128 } from './rng.js';

export interface InstanceSampleOptions {
  /** negatives per sample (the reference's CRD.NCE.K; default 16384) */
  k?: number;
  /** 'exact' (default): the positive is the sample itself; 'relax': a random sample of the same class */
  mode?: 'exact' | 'relax';
  /** the class of every sample, when the data set does not expose them (the built-in ones do) */
  targets?: Tensor | ArrayLike<number | bigint>;
  /** seed of the negatives' streams (default 0) */
  seed?: number;
}

/** A sample with CRD's indices. */
export interface InstanceSample extends Sample {
  /** the sample's position in the data set */
  index: number;
  /** the positive followed by K negatives (K + 1 positions) */
  contrastIndex: Int32Array;
}

/**
 * A data set wrapper yielding CRD's `index` and `contrastIndex` with each sample (get(i)), or for a
 * loader's batch (forBatch(batch.indices): the tensors a CRD step takes).
 */
export class InstanceSampleDataset implements Dataset {
  readonly k: number;
  readonly mode: 'exact' | 'relax';
  readonly seed: number;
  readonly targets: Int32Array;
  /** sample positions ordered by class, and each class's [start, end) in it */
  readonly #byClass: Int32Array;
  readonly #start: Map<number, [number, number]>;
  readonly #draws: Uint32Array;

  constructor(readonly base: Dataset, opts: InstanceSampleOptions = {}) {
    checkDataset('dataset', base);
    if (base.classes !== undefined) (this as { classes?: readonly string[] }).classes = base.classes;
    const o = checkOptions<InstanceSampleOptions>('instanceSample options', opts, { k: 'number', mode: 'string', targets: 'object', seed: 'number' });
    this.k = checkInteger('instanceSample.k', o.k ?? 16384, 1);
    const mode = o.mode ?? 'exact';
    if (mode !== 'exact' && mode !== 'relax') throw invalidParameterError('instanceSample.mode', "'exact' or 'relax'", mode);
    this.mode = mode;
    this.seed = checkInteger('instanceSample.seed', o.seed ?? 0, 0);
    const n = base.length;
    if (o.targets !== undefined) this.targets = toTargets('instanceSample.targets', o.targets, n);
    else if (isNativeBacked(base)) this.targets = base[NATIVE_SOURCE]().targets;
    else throw invalidParameterError('instanceSample.targets', "the class of every sample (the data set does not expose them: pass { targets })", undefined);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.targets[a]! - this.targets[b]! || a - b);
    this.#byClass = Int32Array.from(order);
    this.#start = new Map();
    for (let i = 0; i < n; i++) {
      const c = this.targets[order[i]!]!;
      const r = this.#start.get(c);
      if (r) r[1] = i + 1;
      else this.#start.set(c, [i, i + 1]);
    }
    if (this.#start.size < 2) throw new RangeError('instanceSample: the data set needs samples of at least two classes (negatives are the other classes\' samples)');
    this.#draws = new Uint32Array(n);
  }

  get length(): number {
    return this.base.length;
  }
  /** The wrapped data set's class names, when it has them (an own property only then, so the class
   *  fits Dataset under exactOptionalPropertyTypes too). */
  declare readonly classes?: readonly string[];

  /** [positive, K negatives] for sample `index` (a fresh draw each call). */
  contrastIndexOf(index: number): Int32Array {
    checkInteger('index', index, 0, this.length - 1);
    const rng = new Xoshiro128(sampleKey(this.seed, this.#draws[index]!++, index));
    const c = this.targets[index]!;
    const [s, e] = this.#start.get(c)!;
    const own = e - s, nNeg = this.length - own;
    const out = new Int32Array(this.k + 1);
    out[0] = this.mode === 'exact' ? index : this.#byClass[s + rng.below(own)]!;
    // the j-th negative: position j of byClass with the class's own block skipped
    const neg = (j: number): number => this.#byClass[j < s ? j : j + own]!;
    if (this.k > nNeg) {
      for (let i = 1; i <= this.k; i++) out[i] = neg(rng.below(nNeg));
    } else if (this.k * 2 <= nNeg) {
      const seen = new Set<number>();
      for (let i = 1; i <= this.k;) {
        const j = rng.below(nNeg);
        if (!seen.has(j)) { seen.add(j); out[i++] = neg(j); }
      }
    } else {
      const pool = Int32Array.from({ length: nNeg }, (_, j) => j);
      for (let i = 0; i < this.k; i++) {
        const r = i + rng.below(nNeg - i);
        const t = pool[i]!; pool[i] = pool[r]!; pool[r] = t;
        out[i + 1] = neg(pool[i]!);
      }
    }
    return out;
  }

  async get(index: number): Promise<InstanceSample> {
    const s = await this.base.get(index);
    return { ...s, index, contrastIndex: this.contrastIndexOf(index) };
  }

  /** A loader batch's CRD inputs: index (int64 B) and contrastIndex (int64 B x (K+1)), from batch.indices. */
  forBatch(indices: ArrayLike<number>): { index: Tensor; contrastIndex: Tensor } {
    const b = indices.length;
    const all = new Int32Array(b * (this.k + 1));
    for (let i = 0; i < b; i++) all.set(this.contrastIndexOf(indices[i]!), i * (this.k + 1));
    return {
      index: tensor(Int32Array.from(indices), { dtype: 'int64' }),
      contrastIndex: tensor(all, { shape: [b, this.k + 1], dtype: 'int64' }),
    };
  }
}

/** sdd.data.instanceSample(dataset, { k }): CRD's instance-sample wrapper (see InstanceSampleDataset). */
export function instanceSample(dataset: Dataset, opts: InstanceSampleOptions = {}): InstanceSampleDataset {
  return new InstanceSampleDataset(dataset, opts);
}
