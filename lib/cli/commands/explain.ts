// `sdd-torch explain --model <name> --checkpoint <file> --dataset <type>`: pictures of SDD's
// decoupling for a few test images (explain.svg, explain.png: each image at its 1x1, 2x2, 4x4 grids,
// cells tinted consistent / complementary, the teacher's local top class in each) and the per-class
// table of complementary regions over the test split (classes.md, classes.json).
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as models from '../../models/index.js';
import * as data from '../../data/index.js';
import { load } from '../../checkpoint/index.js';
import { dispose } from '../../core/scope.js';
import { ConfigError } from '../../core/errors.js';
import { checkDevice } from '../../core/dtype.js';
import { setNumThreads } from '../../core/runtime.js';
import { datasetRecipe } from '../../experiment/datasets.js';
import { explainBatch } from '../../explain/decouple.js';
import { complementaryTable, tableMarkdown, tableText } from '../../explain/table.js';
import { displayImages, normalizationOf } from '../../explain/display.js';
import { renderExplanation } from '../../explain/render.js';
import { modelWeights } from './eval.js';
import type { Tensor } from '../../core/tensor.js';

export interface ExplainArgs {
  model: string; checkpoint: string; dataset?: string; data?: string; images?: string; first?: string; indices?: string; out?: string;
  tableImages?: string; batchSize?: string; device?: string; threads?: string; json?: boolean;
}

/** Where each data set is when --data is not given. */
const DEFAULT_ROOTS: Record<string, string> = { 'fashion-mnist': '/usr/share/datasets/fashion-mnist' };
const SCALES = [1, 2, 4];

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** The test images to draw: --indices a,b,c, else --images n from --first i (default 8 from 0). */
function pickIndices(args: ExplainArgs, length: number): number[] {
  if (args.indices !== undefined) {
    if (args.first !== undefined) throw new ConfigError('give --indices or --first, not both');
    const list = args.indices.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) throw new ConfigError(`--indices must be a comma-separated list of test image indices, got ${JSON.stringify(args.indices)}`);
    return list.map((s) => {
      const i = int('--indices', s, 0)!;
      if (i >= length) throw new ConfigError(`--indices: image ${i} is out of range (the test split has ${length} images: 0-${length - 1})`);
      return i;
    });
  }
  const n = int('--images', args.images, 1) ?? 8;
  const first = int('--first', args.first, 0) ?? 0;
  if (first >= length) throw new ConfigError(`--first ${first} is out of range (the test split has ${length} images: 0-${length - 1})`);
  return Array.from({ length: Math.min(n, length - first) }, (_, k) => first + k);
}

export async function runExplain(args: ExplainArgs): Promise<void> {
  const recipe = datasetRecipe(args.dataset ?? 'fashion-mnist', '--dataset');
  const device = checkDevice('--device', args.device ?? 'cpu');
  const threads = int('--threads', args.threads, 1);
  if (threads) setNumThreads(threads);
  const batchSize = int('--batch-size', args.batchSize, 1) ?? 100;
  const tableLimit = int('--table-images', args.tableImages, 1);
  int('--images', args.images, 1); // checked before anything is loaded
  models.resolve(args.model, recipe.family); // an unknown name fails here, before anything is loaded
  if (!existsSync(args.checkpoint)) throw new ConfigError(`--checkpoint ${args.checkpoint}: no such file`);
  const root = args.data ?? DEFAULT_ROOTS[recipe.type];
  if (root === undefined) throw new ConfigError(`--data: give the folder of the ${recipe.type} data set`);
  const out = args.out ?? 'explain';

  const model = models.create(args.model, { numClasses: recipe.classes, dataset: recipe.family, scales: SCALES });
  const sd = await load(args.checkpoint);
  try { model.loadStateDict(modelWeights(sd), { strict: true }); } finally { dispose(sd); }
  model.to(device).eval();

  const test = await recipe.open(root, 'test');
  const classes = test.classes;
  const transforms = recipe.transforms('test');
  const chosen = pickIndices(args, test.length);
  const picked = Int32Array.from(chosen);
  const loader = new data.DataLoader(test, { batchSize: chosen.length, transforms, device, sampler: { length: picked.length, indices: () => picked } });
  let rendered;
  let explained;
  for await (const batch of loader.epoch(0)) {
    try {
      explained = explainBatch(model, batch.images, batch.targets, { scales: SCALES, indices: batch.indices });
      const norm = normalizationOf(transforms);
      rendered = renderExplanation(explained, displayImages(batch.images, norm), {
        ...(classes ? { classes } : {}),
        title: `SDD regions of ${args.model} (${path.basename(args.checkpoint)}) on ${recipe.type} test`,
      });
    } finally {
      dispose([batch.images, batch.targets]);
    }
  }
  if (!rendered || !explained) throw new Error('explain: the loader gave no batch');

  const n = tableLimit === undefined ? test.length : Math.min(tableLimit, test.length);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const tableLoader = new data.DataLoader(test, { batchSize, transforms, device, sampler: { length: n, indices: () => all } });
  const table = await complementaryTable(model, tableLoader.epoch(0), { scales: SCALES, numClasses: recipe.classes, ...(classes ? { classes } : {}) });
  if ('dispose' in test && typeof (test as { dispose?: () => void }).dispose === 'function') (test as { dispose: () => void }).dispose();

  await mkdir(out, { recursive: true });
  const files = { svg: path.join(out, 'explain.svg'), png: path.join(out, 'explain.png'), md: path.join(out, 'classes.md'), json: path.join(out, 'classes.json') };
  const header = `# Complementary regions per class\n\n${args.model} (${args.checkpoint}) on the ${recipe.type} test split, first ${n} images, ` +
    `scales [${SCALES.join(', ')}] (21 regions per image). A region is complementary when its local prediction's correctness differs ` +
    'from the global prediction\'s (sdd-method.md §3); SDD weights those rows by complementaryWeight (default 2). The 1x1 region is the global prediction, so it is never complementary.\n\n';
  await Promise.all([
    writeFile(files.svg, rendered.svg),
    writeFile(files.png, rendered.png),
    writeFile(files.md, `${header}${tableMarkdown(table)}\n`),
    writeFile(files.json, `${JSON.stringify({ model: args.model, checkpoint: args.checkpoint, dataset: recipe.type, images: explained, table }, null, 1)}\n`),
  ]);
  if (args.json) {
    console.log(JSON.stringify({ files, table }));
    return;
  }
  console.log(`sdd-torch explain: ${args.model} on ${recipe.type} test, images ${chosen.join(', ')}`);
  for (const e of explained) {
    const name = (c: number): string => classes?.[c] ?? String(c);
    const comp = e.regions.filter((r) => r.kind === 'complementary').length;
    console.log(`  #${e.index}: target ${name(e.target)}, global ${name(e.pred)} (${(100 * e.prob).toFixed(0)}%), ${comp} of ${e.regions.length} regions complementary`);
  }
  console.log(`\ncomplementary regions per class (first ${n} test images):\n${tableText(table)}\n`);
  console.log(`wrote ${files.svg}, ${files.png}, ${files.md}, ${files.json}`);
}
