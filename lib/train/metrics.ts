// The Trainer's metrics: one epoch's step results summed (skipped steps kept out of the averages),
// reduced over the ranks of a distributed run, and written as JSON lines (metrics.jsonl).
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { tensor } from '../core/creation.js';
import type { StepResult } from '../distill/distiller.js';
import type { ProcessGroup } from '../dist/process-group.js';
import type { EvalResult } from './evaluate.js';

/** An epoch's training figures, as EpochEvent.train reports them. */
export interface TrainFigures { loss: number; accuracy: number; terms: Record<string, number>; imagesPerSecond: number; seconds: number }

/** The sums of one epoch's steps. */
export class EpochTotals {
  seen = 0;
  #lossSum = 0;
  #accSum = 0;
  #steps = 0;
  #termSums: Record<string, number> = {};

  add(r: StepResult, images: number): void {
    this.seen += images;
    // a batch skipped for a non-finite loss (nonFinite: 'skip') stays out of the epoch's averages
    if (r.skipped) return;
    this.#steps++;
    this.#lossSum += r.loss;
    this.#accSum += r.accuracy;
    for (const [k, v] of Object.entries(r.terms)) this.#termSums[k] = (this.#termSums[k] ?? 0) + v;
  }

  #mean(sum: number): number {
    return sum / Math.max(this.#steps, 1);
  }

  get loss(): number { return this.#mean(this.#lossSum); }
  get accuracy(): number { return this.#mean(this.#accSum); }

  /**
   * Sums over the ranks (each trained, and evaluated, its own shard); returns the seconds averaged
   * over the ranks and the test result over all of them.
   */
  async reduce(g: ProcessGroup, seconds: number, test: EvalResult | undefined): Promise<{ seconds: number; test: EvalResult | undefined }> {
    const t = test ?? { top1: 0, top5: 0, loss: 0, count: 0 };
    const terms = Object.keys(this.#termSums); // the same names in the same order on every rank
    const [l, a, n, s2, c1, c5, cl, cn, sec, ...ts] = await allReduceNumbers(g, 'sum',
      [this.#lossSum, this.#accSum, this.#steps, this.seen, t.top1 * t.count, t.top5 * t.count, t.loss * t.count, t.count, seconds, ...terms.map((k) => this.#termSums[k]!)]);
    this.#lossSum = l!; this.#accSum = a!; this.#steps = n!; this.seen = s2!;
    terms.forEach((k, i) => { this.#termSums[k] = ts[i]!; });
    return {
      seconds: sec! / g.worldSize,
      test: test ? { top1: cn ? c1! / cn : 0, top5: cn ? c5! / cn : 0, loss: cn ? cl! / cn : 0, count: cn! } : undefined,
    };
  }

  figures(seconds: number): TrainFigures {
    const terms = Object.fromEntries(Object.entries(this.#termSums).map(([k, v]) => [k, this.#mean(v)]));
    return { loss: this.loss, accuracy: this.accuracy, terms, imagesPerSecond: this.seen / seconds, seconds };
  }
}

/** Appends one JSON line to <dir>/metrics.jsonl. */
export function appendMetrics(dir: string, line: Record<string, unknown>): void {
  appendFileSync(path.join(dir, 'metrics.jsonl'), `${JSON.stringify(line)}\n`);
}

/** A few numbers reduced element-wise over the ranks (float64). */
export async function allReduceNumbers(g: ProcessGroup, op: 'sum' | 'max', values: number[]): Promise<number[]> {
  const t = tensor(values, { dtype: 'float64' });
  try {
    await g.allReduce(t, op);
    return Array.from(t.toTypedArray() as Float64Array);
  } finally {
    t.dispose();
  }
}
