// The per-class table of complementary regions over a data set: for each class (by target) how many
// images, how many of their regions the teacher predicts complementarily (decouple.ts), overall and
// per scale, and which way (global right and the region wrong, or global wrong and the region right).
// This is what SDD's weighting acts on: complementary rows get complementaryWeight (default 2).
import { dispose } from '../core/scope.js';
import { checkOptions, invalidParameterError } from '../core/errors.js';
import { explainBatch, type ExplainModel, type ImageExplanation } from './decouple.js';
import type { Tensor } from '../core/tensor.js';

export interface ScaleCount {
  scale: number;
  regions: number;
  complementary: number;
  fraction: number;
}

export interface ClassCount {
  /** The class index, or -1 for the totals. */
  class: number;
  /** Its name, when known ('all' for the totals). */
  name?: string;
  images: number;
  /** Images the teacher's global prediction gets right. */
  correct: number;
  regions: number;
  complementary: number;
  /** complementary / regions (0 when there are no regions). */
  fraction: number;
  /** Complementary regions of images the global prediction gets right (the region is wrong). */
  whenGlobalRight: number;
  /** Complementary regions of images the global prediction gets wrong (the region is right). */
  whenGlobalWrong: number;
  /** The same counts split per grid size, in the order of the scales. */
  byScale: ScaleCount[];
}

export interface ComplementaryTable {
  scales: number[];
  classes: ClassCount[];
  total: ClassCount;
}

function emptyRow(cls: number, scales: number[], name?: string): ClassCount {
  return {
    class: cls, ...(name !== undefined ? { name } : {}), images: 0, correct: 0, regions: 0, complementary: 0, fraction: 0, whenGlobalRight: 0, whenGlobalWrong: 0,
    byScale: scales.map((scale) => ({ scale, regions: 0, complementary: 0, fraction: 0 })),
  };
}

/** Accumulates explanations into a table; `finish()` fills in the fractions. */
export class TableBuilder {
  readonly scales: number[];
  readonly #rows: ClassCount[] = [];
  readonly #names: readonly string[] | undefined;
  constructor(opts: { scales?: number[]; numClasses?: number; classes?: readonly string[] } = {}) {
    const o = checkOptions<{ scales?: number[]; numClasses?: number; classes?: readonly string[] }>('explain.TableBuilder options', opts,
      { scales: 'any', numClasses: { kind: 'integer', min: 1 }, classes: 'array' });
    this.scales = o.scales ?? [1, 2, 4];
    this.#names = o.classes;
    const n = o.numClasses ?? o.classes?.length ?? 0;
    for (let c = 0; c < n; c++) this.#row(c);
  }

  #row(c: number): ClassCount {
    while (this.#rows.length <= c) this.#rows.push(emptyRow(this.#rows.length, this.scales, this.#names?.[this.#rows.length]));
    return this.#rows[c]!;
  }

  add(explanations: readonly ImageExplanation[]): this {
    for (const e of explanations) {
      const row = this.#row(e.target);
      row.images++;
      if (e.correct) row.correct++;
      for (const r of e.regions) {
        const s = this.scales.indexOf(r.scale);
        if (s < 0) throw new RangeError(`explain table: a region of scale ${r.scale}, which is not in the table's scales [${this.scales.join(', ')}]`);
        row.regions++;
        row.byScale[s]!.regions++;
        if (r.kind === 'complementary') {
          row.complementary++;
          row.byScale[s]!.complementary++;
          if (e.correct) row.whenGlobalRight++;
          else row.whenGlobalWrong++;
        }
      }
    }
    return this;
  }

  finish(): ComplementaryTable {
    const frac = (a: number, b: number): number => (b > 0 ? a / b : 0);
    const classes = this.#rows.map((r) => ({ ...r, byScale: r.byScale.map((s) => ({ ...s })) }));
    const total = emptyRow(-1, this.scales, 'all');
    for (const r of classes) {
      r.fraction = frac(r.complementary, r.regions);
      for (const s of r.byScale) s.fraction = frac(s.complementary, s.regions);
      for (const k of ['images', 'correct', 'regions', 'complementary', 'whenGlobalRight', 'whenGlobalWrong'] as const) total[k] += r[k];
      r.byScale.forEach((s, i) => { total.byScale[i]!.regions += s.regions; total.byScale[i]!.complementary += s.complementary; });
    }
    total.fraction = frac(total.complementary, total.regions);
    for (const s of total.byScale) s.fraction = frac(s.complementary, s.regions);
    return { scales: [...this.scales], classes, total };
  }
}

export interface TableOptions {
  /** The model's SDD grids (default [1, 2, 4]). */
  scales?: number[];
  /** Classes of the model: every class gets a row, also one with no image (default: those seen). */
  numClasses?: number;
  /** Class names (index = target), e.g. the data set's `classes`. */
  classes?: readonly string[];
  /** Stop after this many images (default: all the batches give). */
  limit?: number;
  /** Called after each batch with the number of images counted so far. */
  onBatch?: (images: number) => void;
}

/**
 * The per-class table over batches of { images, targets } (a sdd.data.DataLoader, or loader.epoch(0)).
 * Each batch's tensors are disposed once counted.
 */
export async function complementaryTable(model: ExplainModel, batches: AsyncIterable<{ images: Tensor; targets: Tensor; indices?: Int32Array }> | Iterable<{ images: Tensor; targets: Tensor }>,
  opts: TableOptions = {}): Promise<ComplementaryTable> {
  const o = checkOptions<TableOptions>('explain.complementaryTable options', opts, {
    scales: 'any', numClasses: { kind: 'integer', min: 1 }, classes: 'array', limit: { kind: 'integer', min: 1 }, onBatch: 'function',
  }, { hints: { M: 'scales', max: 'limit', images: 'limit' } });
  if (batches == null || (typeof (batches as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function' && typeof (batches as Iterable<unknown>)[Symbol.iterator] !== 'function')) {
    throw invalidParameterError('batches', 'a DataLoader or an (async) iterable of { images, targets } batches', batches);
  }
  const builder = new TableBuilder({ ...(o.scales ? { scales: o.scales } : {}), ...(o.numClasses ? { numClasses: o.numClasses } : {}), ...(o.classes ? { classes: o.classes } : {}) });
  let seen = 0;
  for await (const batch of batches as AsyncIterable<{ images: Tensor; targets: Tensor }>) {
    try {
      if (o.limit !== undefined && seen >= o.limit) break;
      let images = batch.images;
      let targets = batch.targets;
      const take = o.limit === undefined ? images.shape[0]! : Math.min(images.shape[0]!, o.limit - seen);
      if (take < images.shape[0]!) { images = images.narrow(0, 0, take); targets = targets.narrow(0, 0, take); }
      try {
        builder.add(explainBatch(model, images, targets, o.scales ? { scales: o.scales } : {}));
      } finally {
        if (images !== batch.images) dispose([images, targets]);
      }
      seen += take;
      o.onBatch?.(seen);
    } finally {
      dispose([batch.images, batch.targets]);
    }
    if (o.limit !== undefined && seen >= o.limit) break;
  }
  return builder.finish();
}

const pct = (f: number): string => `${(100 * f).toFixed(1)}%`;

/** The table as Markdown: one row per class and a totals row; columns per scale after the overall ones. */
export function tableMarkdown(table: ComplementaryTable): string {
  const scaleHeads = table.scales.map((m) => `${m}x${m} compl.`);
  const head = ['class', 'images', 'teacher top-1', 'regions', 'complementary', 'fraction', 'global right / region wrong', 'global wrong / region right', ...scaleHeads];
  const line = (r: ClassCount): string => `| ${[
    r.class < 0 ? '**all**' : `${r.class}${r.name !== undefined ? ` ${r.name}` : ''}`,
    r.images, r.images ? pct(r.correct / r.images) : '-', r.regions, r.complementary, pct(r.fraction), r.whenGlobalRight, r.whenGlobalWrong,
    ...r.byScale.map((s) => `${s.complementary} (${pct(s.fraction)})`),
  ].join(' | ')} |`;
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...table.classes.map(line), line(table.total)].join('\n');
}

/** The table as fixed-width text for a terminal. */
export function tableText(table: ComplementaryTable): string {
  const head = ['class', 'images', 'top-1', 'regions', 'compl.', 'frac.', 'g.right', 'g.wrong', ...table.scales.map((m) => `${m}x${m}`)];
  const rows = [...table.classes, table.total].map((r) => [
    r.class < 0 ? 'all' : `${r.class}${r.name !== undefined ? ` ${r.name}` : ''}`,
    String(r.images), r.images ? pct(r.correct / r.images) : '-', String(r.regions), String(r.complementary), pct(r.fraction), String(r.whenGlobalRight), String(r.whenGlobalWrong),
    ...r.byScale.map((s) => pct(s.fraction)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), ...rows.map(fmt)].join('\n');
}
