// `sdd-torch eval --model <name> --checkpoint <file> --data <dir>`: top-1/top-5 on the test split.
import * as models from '../../models/index.js';
import * as data from '../../data/index.js';
import { load } from '../../checkpoint/index.js';
import { dispose } from '../../core/scope.js';
import { evaluate } from '../../train/evaluate.js';
import { ConfigError } from '../../core/errors.js';
import { checkDevice } from '../../core/dtype.js';
import { datasetRecipe } from '../../experiment/datasets.js';
import type { Tensor } from '../../core/tensor.js';

export interface EvalArgs { model: string; checkpoint: string; data: string; dataset?: string; device?: string; batchSize?: string; json?: boolean }

/** The model's weights of a checkpoint: a plain state dict as it is; a Trainer checkpoint
 *  (latest/best.safetensors: model.*, optim.*, rng.*, distiller.*) reduced to its model.* entries. */
export function modelWeights(sd: Record<string, Tensor>): Record<string, Tensor> {
  const keys = Object.keys(sd);
  if (keys.length === 0 || !keys.every((k) => /^(model|optim|rng|distiller)\./.test(k)) || !keys.some((k) => k.startsWith('model.'))) return sd;
  return Object.fromEntries(keys.filter((k) => k.startsWith('model.')).map((k) => [k.slice(6), sd[k]!]));
}

export async function runEval(args: EvalArgs): Promise<void> {
  const recipe = datasetRecipe(args.dataset ?? 'cifar100', '--dataset');
  const device = checkDevice('--device', args.device ?? 'cpu');
  const batchSize = Number(args.batchSize ?? 64);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`--batch-size must be a positive integer, got ${args.batchSize}`);
  const model = models.create(args.model, { numClasses: recipe.classes, dataset: recipe.family });
  const sd = await load(args.checkpoint);
  try { model.loadStateDict(modelWeights(sd), { strict: true }); } finally { dispose(sd); }
  model.to(device).eval();
  const test = await recipe.open(args.data, 'test');
  const loader = new data.DataLoader(test, { batchSize, transforms: recipe.transforms('test'), device });
  const r = await evaluate(model, loader.epoch(0));
  if (args.json) console.log(JSON.stringify({ model: args.model, checkpoint: args.checkpoint, ...r }));
  else console.log(`${args.model} on ${recipe.type} test
 (${r.count} images): top-1 ${(100 * r.top1).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%  loss ${r.loss.toFixed(4)}`);
}
