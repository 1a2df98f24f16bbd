// sdd.onnx: a model to an ONNX file (opset 13-21) that ONNX Runtime and other runtimes load. The
// model's forward runs once on a dummy input while the tracer (trace.ts) writes each native call
// as ONNX nodes, so whatever a family's forward does (plain TS over modules) is what the file does;
// BatchNorm is folded into the convolution before it, what the outputs do not need is dropped.
import { createRequire } from 'node:module';
import { Tensor, fromHandle } from '../core/tensor.js';
import { native } from '../core/native.js';
import { dtypeCode } from '../core/dtype.js';
import { tidy } from '../core/scope.js';
import { noGrad } from '../core/autograd.js';
import { checkOptions, invalidParameterError } from '../core/errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../checkpoint/atomic.js';
import { Module } from '../nn/module.js';
import { SddModel } from '../models/base.js';
import { ImageNetResNet, MobileNetV1 } from '../models/imagenet.js';
import { MAX_OPSET, MIN_OPSET, OnnxGraph, type ValueSpec } from './graph.js';
import { OnnxExportError, Tracer } from './trace.js';

const require = createRequire(import.meta.url);

export interface OnnxExportOptions {
  /**
   * [batch, channels, height, width] of the input (default [1, 3, 32, 32]; [1, 3, 224, 224] for the
   * ImageNet models and the CUB-200 variants: the zoo model's defaultInputSize()). The spatial size is fixed in the file; the batch too unless dynamicBatch.
   */
  inputShape?: number[];
  /** ONNX opset, 13 to 21 (default 17). */
  opset?: number;
  /** The batch dimension is symbolic ('batch'): any batch size runs (default true). */
  dynamicBatch?: boolean;
  /**
   * What the graph returns, by the names of the forward's result: zoo models give 'logits'
   * (default, B×K) and 'scaleLogits' (B×K×N, the SDD head: multi-scale pooling + the shared
   * classifier); 'features.map' and 'features.pooled' also work. A module whose forward returns a
   * tensor has one output, 'output'.
   */
  outputs?: string[];
  /** Name of the graph input (default 'input'). */
  inputName?: string;
}

export interface OnnxExportResult {
  /** The file written (export / exportSync). */
  file?: string;
  /** Size of the ONNX file in bytes. */
  bytes: number;
  opset: number;
  /** Inputs and outputs with their shapes (null: the dynamic batch dimension). */
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  /** How many nodes of each ONNX op the graph has. */
  ops: Record<string, number>;
  /** Weights stored (initializer elements). */
  parameters: number;
}

const DEFAULT_OPSET = 17;

function packageVersion(): string {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface Resolved { inputShape: number[]; opset: number; dynamicBatch: boolean; outputs: string[] | undefined; inputName: string }

function resolve(model: unknown, opts: unknown): Resolved {
  if (!(model instanceof Module)) throw invalidParameterError('model', 'an nn.Module (e.g. sdd.models.create(...))', model);
  const o = checkOptions<OnnxExportOptions>('onnx.export options', opts, {
    inputShape: 'array', opset: { kind: 'integer', min: MIN_OPSET, max: MAX_OPSET }, dynamicBatch: 'boolean', outputs: 'array', inputName: 'string',
  }, { hints: { input_shape: 'inputShape', opset_version: 'opset', dynamic_axes: 'dynamicBatch', output_names: 'outputs', input_names: 'inputName' } });
  const inputShape = o.inputShape ?? [1, 3, ...defaultSize(model)];
  if (!inputShape.every((d) => Number.isInteger(d) && d >= 1) || inputShape.length < 1) {
    throw invalidParameterError('options.inputShape', 'an array of positive integers, e.g. [1, 3, 32, 32]', inputShape);
  }
  if (o.outputs !== undefined && (o.outputs.length === 0 || !o.outputs.every((n) => typeof n === 'string' && n !== ''))) {
    throw invalidParameterError('options.outputs', "a non-empty array of output names, e.g. ['logits', 'scaleLogits']", o.outputs);
  }
  if (o.outputs !== undefined && new Set(o.outputs).size !== o.outputs.length) throw invalidParameterError('options.outputs', 'names without repeats', o.outputs);
  return { inputShape, opset: o.opset ?? DEFAULT_OPSET, dynamicBatch: o.dynamicBatch ?? true, outputs: o.outputs, inputName: o.inputName ?? 'input' };
}

/** The input size a model is built for: its defaultInputSize() (zoo models), 224x224 for the ImageNet ones, else 32x32. */
function defaultSize(model: Module): [number, number] {
  const m = model as Module & { defaultInputSize?: () => [number, number] };
  if (typeof m.defaultInputSize === 'function') return m.defaultInputSize();
  return model instanceof ImageNetResNet || model instanceof MobileNetV1 ? [224, 224] : [32, 32];
}

/** A reproducible dummy input (values do not matter to the graph, only shapes do). */
function dummyInput(shape: number[], device: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    data[i] = ((s >>> 0) / 0xffffffff) * 2 - 1;
  }
  return fromHandle(native.fromTypedArray(data, shape, dtypeCode('dtype', 'float32'), device, false));
}

/** Picks an output of the forward's result by name ('logits', 'features.map', ...). */
function pick(result: unknown, name: string, available: string[]): Tensor {
  let v: unknown = result;
  for (const part of name.split('.')) v = v !== null && typeof v === 'object' && !(v instanceof Tensor) ? (v as Record<string, unknown>)[part] : undefined;
  if (!(v instanceof Tensor)) throw invalidParameterError('options.outputs', `names of the forward's tensors (${available.join(', ')})`, name);
  return v;
}

function tensorPaths(result: unknown, prefix = '', depth = 0): string[] {
  if (result instanceof Tensor) return [prefix || 'output'];
  if (result === null || typeof result !== 'object' || Array.isArray(result) || depth > 2) return [];
  return Object.entries(result).flatMap(([k, v]) => tensorPaths(v, prefix ? `${prefix}.${k}` : k, depth + 1));
}

/** Builds the ONNX bytes of a model (see OnnxExportOptions). */
export function toBytes(model: Module, opts: OnnxExportOptions = {}): { bytes: Uint8Array; result: OnnxExportResult } {
  const o = resolve(model, opts);
  const params = [...model.parameters(), ...model.buffers()];
  const wrong = params.find((p) => p.dtype !== 'float32' && p.dtype !== 'int64');
  if (wrong) throw new OnnxExportError(`sdd.onnx.export: the model holds ${wrong.dtype} weights; the exporter writes float32 models (call model.float() first)`);
  if (model.frozen?.dtype) throw new OnnxExportError(`sdd.onnx.export: the model is frozen with dtype ${model.frozen.dtype}; unfreeze() it (or freeze() without a dtype) first`);
  const device = params[0]?.device ?? 'cpu';
  const graph = new OnnxGraph(o.opset);
  const batch = o.dynamicBatch ? Math.max(2, o.inputShape[0]!) : o.inputShape[0]!;
  const tracer = new Tracer({ model, graph, dynamicBatch: o.dynamicBatch ? batch : null });
  const modes = model.modules().map((m) => [m, m.training] as const);
  let outputs: ValueSpec[];
  try {
    model.eval();
    outputs = tidy(() => {
      const x = dummyInput([batch, ...o.inputShape.slice(1)], device);
      const result = noGrad(() => tracer.run(x.handle, o.inputName, () => model.forward(x)));
      const available = tensorPaths(result);
      const names = o.outputs ?? (result instanceof Tensor ? ['output'] : available.includes('logits') ? ['logits'] : available.slice(0, 1));
      if (names.length === 0) throw new OnnxExportError(`sdd.onnx.export: ${model.constructor.name}.forward returned no tensor`);
      return names.map((name) => {
        const t = result instanceof Tensor && name === 'output' ? result : pick(result, name, available);
        const val = tracer.traced(t.handle);
        if (!val) throw new OnnxExportError(`sdd.onnx.export: output "${name}" does not depend on the input`);
        return { name: val.name, shape: val.shape.map((d, i) => (i === val.bdim ? null : d)), as: name };
      }).map(({ name, shape, as }) => bindOutput(graph, name, as, shape));
    });
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  graph.outputs = outputs;
  graph.prune();
  graph.foldBatchNorms();
  const meta: Record<string, string> = { 'sdd-torch.outputs': outputs.map((v) => v.name).join(',') };
  if (model instanceof SddModel) {
    Object.assign(meta, { 'sdd-torch.arch': model.arch, 'sdd-torch.numClasses': String(model.numClasses), 'sdd-torch.scales': model.scales.join(','), 'sdd-torch.poolMode': model.poolMode });
  }
  const bytes = graph.encode({
    producerVersion: packageVersion(),
    graphName: model instanceof SddModel ? model.arch : model.constructor.name,
    docString: 'exported by sdd-torch (sdd.onnx.export)',
    metadata: meta,
  });
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  let parameters = 0;
  for (const i of graph.inits.values()) parameters += i.data.length;
  return { bytes, result: { bytes: bytes.byteLength, opset: o.opset, inputs: graph.inputs, outputs, ops, parameters } };
}

/** Gives a traced value the output's name (or an Identity when it is the input, a weight or another output). */
function bindOutput(graph: OnnxGraph, value: string, as: string, shape: (number | null)[]): ValueSpec {
  const producer = graph.nodes.find((n) => n.outputs.includes(value));
  const taken = graph.outputs.some((o) => o.name === value);
  if (producer && !taken && !graph.inputs.some((i) => i.name === value)) {
    const target = graph.unique(as);
    for (const n of graph.nodes) {
      n.outputs = n.outputs.map((v) => (v === value ? target : v));
      n.inputs = n.inputs.map((v) => (v === value ? target : v));
    }
    graph.outputs.push({ name: target, shape });
    return { name: target, shape };
  }
  const target = graph.unique(as);
  graph.node('Identity', [value], {}, '', [target]);
  graph.outputs.push({ name: target, shape });
  return { name: target, shape };
}

/**
 * Writes a model as ONNX: `await sdd.onnx.export(model, 'student.onnx', { outputs: ['logits', 'scaleLogits'] })`.
 * The forward runs once in eval mode on a dummy input (the modules' training flags are restored
 * afterwards). A module computing something the exporter cannot write raises an OnnxExportError
 * naming it (path in the tree and class).
 */
export async function exportOnnx(model: Module, file: string, opts: OnnxExportOptions = {}): Promise<OnnxExportResult> {
  if (typeof file !== 'string' || file === '') throw invalidParameterError('file', 'a path', file);
  const { bytes, result } = toBytes(model, opts);
  await writeFileAtomic(file, [bytes]);
  return { file, ...result };
}

/** exportOnnx(), synchronously. */
export function exportOnnxSync(model: Module, file: string, opts: OnnxExportOptions = {}): OnnxExportResult {
  if (typeof file !== 'string' || file === '') throw invalidParameterError('file', 'a path', file);
  const { bytes, result } = toBytes(model, opts);
  writeFileAtomicSync(file, [bytes]);
  return { file, ...result };
}
