// `sdd-torch export --model <name> --checkpoint <file> --format onnx`: a trained student as an ONNX
// file that ONNX Runtime (or any ONNX runtime) runs without this package.
import path from 'node:path';
import * as models from '../../models/index.js';
import { load } from '../../checkpoint/index.js';
import { dispose } from '../../core/scope.js';
import { ConfigError } from '../../core/errors.js';
import { exportOnnx } from '../../export/onnx.js';
import type { Tensor } from '../../core/tensor.js';

export interface ExportArgs {
  model: string;
  checkpoint: string;
  format?: string;
  out?: string;
  numClasses?: string;
  dataset?: string;
  multiScale?: boolean;
  M?: string;
  opset?: string;
  inputSize?: string;
  staticBatch?: boolean;
}

/** A plain state dict as it is; a Trainer checkpoint (model.*, optim.*, rng.*, distiller.*) reduced to its model.* entries. */
function modelWeights(sd: Record<string, Tensor>): Record<string, Tensor> {
  const keys = Object.keys(sd);
  if (keys.length === 0 || !keys.every((k) => /^(model|optim|rng|distiller)\./.test(k)) || !keys.some((k) => k.startsWith('model.'))) return sd;
  return Object.fromEntries(keys.filter((k) => k.startsWith('model.')).map((k) => [k.slice(6), sd[k]!]));
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function parseScales(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = v.replace(/[[\]\s]/g, '').split(',').filter((s) => s !== '');
  const scales = parts.map(Number);
  if (scales.length === 0 || !scales.every((s) => Number.isInteger(s) && s > 0)) throw new ConfigError(`--M must be positive integers such as 1,2,4, got ${JSON.stringify(v)}`);
  return scales;
}

export async function runExport(args: ExportArgs): Promise<void> {
  const format = args.format ?? 'onnx';
  if (format !== 'onnx') throw new ConfigError(`--format ${format} is not supported (onnx)`);
  const dataset = (args.dataset ?? 'cifar') as models.Dataset;
  const numClasses = positiveInt('--num-classes', args.numClasses);
  const opset = positiveInt('--opset', args.opset);
  const size = positiveInt('--input-size', args.inputSize);
  const scales = parseScales(args.M);
  // A map smaller than the largest scale repeats cells, as the reference's CIFAR MobileNetV2 does
  // (without it that model has no multi-scale output at all).
  const model = models.create(args.model, {
    dataset, ...(numClasses !== undefined ? { numClasses } : {}), ...(scales !== undefined ? { scales } : {}), allowReplicate: true,
  });
  const sd = await load(args.checkpoint);
  try {
    model.loadStateDict(modelWeights(sd), { strict: true });
  } finally {
    dispose(sd);
  }
  const out = args.out ?? path.join(path.dirname(args.checkpoint), `${path.basename(args.checkpoint).replace(/\.[^.]*$/, '')}.onnx`);
  const r = await exportOnnx(model, out, {
    outputs: args.multiScale ? ['logits', 'scaleLogits'] : ['logits'],
    dynamicBatch: !args.staticBatch,
    ...(opset !== undefined ? { opset } : {}),
    ...(size !== undefined ? { inputShape: [1, 3, size, size] } : {}),
  });
  const shape = (s: (number | null)[]) => `[${s.map((d) => d ?? 'batch').join(', ')}]`;
  console.log(`${args.model}: wrote ${out} (${(r.bytes / 2 ** 20).toFixed(2)} MiB, ONNX opset ${r.opset}): ` +
    `${r.inputs.map((i) => `${i.name} ${shape(i.shape)}`).join(', ')} -> ${r.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(', ')}`);
}
