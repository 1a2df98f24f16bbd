// sdd.onnx.export checked by a real runtime: ONNX Runtime (onnxruntime-node, CPU) loads every zoo
// model the exporter writes and its outputs (global and multi-scale logits) match ours within 1e-4
// at batch 1 and at other batch sizes (the batch dimension is dynamic); plus the options, the CLI,
// and the errors for what cannot be exported.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
const root = path.resolve(__dirname, '..');
const TOL = 1e-4;

sdd.setNumThreads(2);

/**
 * A random student with BatchNorm statistics that mean something: one training-mode forward with
 * momentum 1 sets them to a batch's, so that deep nets (ResNet152) stay in range in eval mode;
 * running variances are then raised 4x and γ, β drawn at random. Without that, freshly initialised
 * deep nets amplify float32 rounding far past 1e-4 (our own float32 forward against float64), which
 * would test the weights, not the exporter.
 */
function calibrated(model: sdd.models.SddModel, size: number, batch: number): sdd.models.SddModel {
  const bns = model.modules().filter((m): m is sdd.nn.BatchNorm2d => m instanceof sdd.nn.BatchNorm2d);
  sdd.noGrad(() => {
    for (const bn of bns) {
      bn.momentum = 1;
      const g = sdd.rand([bn.numFeatures]);
      bn.weight!.copy_(g.mul(1).add(0.5));
      const b = sdd.randn([bn.numFeatures]);
      bn.bias!.copy_(b.mul(0.1));
      g.dispose();
      b.dispose();
    }
    model.train();
    sdd.tidy(() => { model.forward(sdd.randn([batch, 3, size, size])); });
    model.eval();
    for (const bn of bns) {
      bn.momentum = 0.1;
      bn.running_var!.mul_(4);
    }
  });
  return model;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Runs ours and ONNX Runtime on the same inputs; returns the largest difference per output. */
async function compare(model: sdd.models.SddModel, bytes: Uint8Array, size: number, batches: number[]): Promise<Record<string, number>> {
  const session = await ort.InferenceSession.create(bytes);
  expect(session.inputNames).toEqual(['input']);
  expect(session.outputNames).toEqual(['logits', 'scaleLogits']);
  const worst: Record<string, number> = {};
  try {
    for (const B of batches) {
      const x = sdd.randn([B, 3, size, size]);
      const ours = sdd.noGrad(() => model.forward(x));
      const theirs = await session.run({ input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, [B, 3, size, size]) });
      for (const k of ['logits', 'scaleLogits'] as const) {
        expect(theirs[k]!.dims).toEqual(ours[k].shape);
        const d = maxAbs(ours[k].toTypedArray() as Float32Array, theirs[k]!.data as Float32Array);
        worst[k] = Math.max(worst[k] ?? 0, d);
      }
      sdd.dispose(ours as never);
      x.dispose();
    }
  } finally {
    await session.release();
  }
  return worst;
}

async function checkZooModel(name: string, dataset: 'cifar' | 'imagenet', batches: number[]): Promise<void> {
  sdd.manualSeed(7);
  const model = sdd.models.create(name, { dataset, allowReplicate: true });
  const size = dataset === 'imagenet' ? 224 : 32;
  calibrated(model, size, dataset === 'imagenet' ? 2 : 16);
  const { bytes, result } = sdd.onnx.toBytes(model, { outputs: ['logits', 'scaleLogits'] });
  expect(result.inputs).toEqual([{ name: 'input', shape: [null, 3, size, size] }]);
  expect(result.outputs.map((o) => o.name)).toEqual(['logits', 'scaleLogits']);
  // every BatchNorm of the zoo's conv-BN pairs is folded; WRN's pre-activation ones stay
  if (!name.startsWith('wrn')) expect(result.ops.BatchNormalization ?? 0).toBe(0);
  const worst = await compare(model, bytes, size, batches);
  expect(worst.logits, `${name} logits`).toBeLessThan(TOL);
  expect(worst.scaleLogits, `${name} scaleLogits`).toBeLessThan(TOL);
}

const CIFAR = sdd.models.list('cifar');
const IMAGENET = sdd.models.list('imagenet');

describe('sdd.onnx.export: every zoo model runs in ONNX Runtime with our outputs', () => {
  it('lists the whole zoo', () => {
    expect(CIFAR.length).toBeGreaterThanOrEqual(23);
    expect(IMAGENET).toEqual(expect.arrayContaining(['ResNet18', 'ResNet34', 'ResNet50', 'ResNet101', 'ResNet152', 'MobileNetV2']));
  });

  for (const [group, names] of [
    ['CIFAR ResNets', CIFAR.filter((n) => /^resnet/.test(n))],
    ['WRNs and VGGs', CIFAR.filter((n) => /^(wrn|vgg)/.test(n))],
    ['MobileNetV2, ShuffleNets, ResNet18/50', CIFAR.filter((n) => !/^(resnet|wrn|vgg)/.test(n))],
  ] as const) {
    it(`CIFAR: ${group}, batch 1 and 8`, async () => {
      for (const name of names) await checkZooModel(name, 'cifar', [1, 8]);
    }, 300_000);
  }

  // 224x224 on two cores: one forward per batch size, batch 1 and 3 (the trace runs at 2)
  for (const name of IMAGENET) {
    it(`ImageNet ${name}, batch 1 and 3`, async () => {
      await checkZooModel(name, 'imagenet', [1, 3]);
    }, 300_000);
  }
});

/** Conv and BatchNorm run one after the other (not fused): the graph folds the pair itself. */
class Head extends sdd.nn.Module {
  conv = new sdd.nn.Conv2d(8, 8, 1);
  bn = new sdd.nn.BatchNorm2d(8);
  fc = new sdd.nn.Linear(8, 4);
  override forward(x: sdd.Tensor): sdd.Tensor {
    return this.fc.forward(this.bn.forward(this.conv.forward(x)).relu().mean([2, 3]));
  }
}

class Cumulative extends sdd.nn.Module {
  override forward(x: sdd.Tensor): sdd.Tensor {
    return x.cumsum(1);
  }
}

class Peeking extends sdd.nn.Module {
  override forward(x: sdd.Tensor): sdd.Tensor {
    return x.sum().item() > 0 ? x.relu() : x;
  }
}

class Net extends sdd.nn.Module {
  body: sdd.nn.Sequential;
  head: sdd.nn.Module;
  constructor(head: sdd.nn.Module) {
    super();
    this.body = new sdd.nn.Sequential(new sdd.nn.Conv2d(3, 8, 3, { padding: 1, bias: false }), new sdd.nn.BatchNorm2d(8), new sdd.nn.ReLU(),
      new sdd.nn.MaxPool2d(2), new sdd.nn.Conv2d(8, 8, 3, { padding: 1, paddingMode: 'reflect' }), new sdd.nn.BatchNorm2d(8), new sdd.nn.ReLU6(),
      new sdd.nn.AdaptiveAvgPool2d(3), new sdd.nn.Dropout(0.5));
    this.head = head;
  }
  override forward(x: sdd.Tensor): sdd.Tensor {
    return this.head.forward(this.body.forward(x) as sdd.Tensor) as sdd.Tensor;
  }
}

async function runOrt(bytes: Uint8Array, x: sdd.Tensor): Promise<Record<string, import('onnxruntime-node').Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape) });
  } finally {
    await session.release();
  }
}

describe('sdd.onnx.export: options', () => {
  it('writes the global logits by default, to a file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-onnx-'));
    try {
      sdd.manualSeed(1);
      const model = calibrated(sdd.models.create('resnet8', { numClasses: 10 }), 32, 8);
      const file = path.join(dir, 'resnet8.onnx');
      const r = await sdd.onnx.export(model, file);
      expect(r.file).toBe(file);
      expect(readFileSync(file).byteLength).toBe(r.bytes);
      expect(r.outputs).toEqual([{ name: 'logits', shape: [null, 10] }]);
      expect(r.opset).toBe(17);
      const session = await ort.InferenceSession.create(file);
      expect(session.outputNames).toEqual(['logits']);
      await session.release();
      const x = sdd.randn([2, 3, 32, 32]);
      const out = await runOrt(new Uint8Array(readFileSync(file)), x);
      const ours = sdd.noGrad(() => model.forward(x)).logits;
      expect(maxAbs(ours.toTypedArray() as Float32Array, out.logits!.data as Float32Array)).toBeLessThan(TOL);
      // the training flags are left as they were
      model.train();
      sdd.onnx.toBytes(model);
      expect(model.modules().every((m) => m.training)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opsets 13 to 21, a fixed batch, features as outputs, a frozen and a channels-last model', async () => {
    sdd.manualSeed(2);
    const model = calibrated(sdd.models.create('resnet8x4', { numClasses: 10, scales: [1, 2] }), 32, 8);
    const x = sdd.randn([1, 3, 32, 32]);
    const ours = sdd.noGrad(() => model.forward(x));
    for (const opset of [13, 18, 21]) {
      const { bytes } = sdd.onnx.toBytes(model, { opset, outputs: ['scaleLogits', 'features.pooled'] });
      const out = await runOrt(bytes, x);
      expect(out.scaleLogits!.dims).toEqual([1, 10, 5]);
      expect(maxAbs(ours.scaleLogits.toTypedArray() as Float32Array, out.scaleLogits!.data as Float32Array)).toBeLessThan(TOL);
      expect(maxAbs(ours.features.pooled.toTypedArray() as Float32Array, out['features.pooled']!.data as Float32Array)).toBeLessThan(TOL);
    }
    const fixed = sdd.onnx.toBytes(model, { dynamicBatch: false });
    expect(fixed.result.inputs[0]!.shape).toEqual([1, 3, 32, 32]);
    await expect(runOrt(fixed.bytes, sdd.randn([2, 3, 32, 32]))).rejects.toThrow();
    model.freeze();
    const frozen = await runOrt(sdd.onnx.toBytes(model).bytes, x);
    expect(maxAbs(ours.logits.toTypedArray() as Float32Array, frozen.logits!.data as Float32Array)).toBeLessThan(TOL);
    model.unfreeze().toChannelsLast();
    const cl = await runOrt(sdd.onnx.toBytes(model).bytes, x);
    expect(maxAbs(ours.logits.toTypedArray() as Float32Array, cl.logits!.data as Float32Array)).toBeLessThan(TOL);
    expect(() => sdd.onnx.toBytes(model, { opset: 9 })).toThrow(/opset/);
    expect(() => sdd.onnx.toBytes(model, { outputs: ['logit'] })).toThrow(/logits/);
    expect(() => sdd.onnx.toBytes(model, { input_shape: [1, 3, 32, 32] } as never)).toThrow(/inputShape/);
  });

  it('exports a module tree of its own: BatchNorm folded, reflect padding, ReLU6, adaptive pooling, dropout in eval', async () => {
    sdd.manualSeed(3);
    const net = new Net(new Head());
    for (const m of net.modules()) {
      if (m instanceof sdd.nn.BatchNorm2d) sdd.noGrad(() => { m.running_mean!.copy_(sdd.randn([8]).mul(0.1)); m.running_var!.copy_(sdd.rand([8]).add(0.5)); });
    }
    const { bytes, result } = sdd.onnx.toBytes(net, { inputShape: [1, 3, 14, 14] });
    expect(result.outputs).toEqual([{ name: 'output', shape: [null, 4] }]);
    expect(result.ops.BatchNormalization ?? 0).toBe(0);
    expect(result.ops.Pad).toBe(1);
    net.eval();
    const x = sdd.randn([5, 3, 14, 14]);
    const out = await runOrt(bytes, x);
    const ours = sdd.noGrad(() => net.forward(x));
    expect(maxAbs(ours.toTypedArray() as Float32Array, out.output!.data as Float32Array)).toBeLessThan(TOL);
  });
});

describe('sdd.onnx.export: what cannot be exported is an error naming the module', () => {
  it('an operation the exporter does not know', () => {
    const err = (() => { try { sdd.onnx.toBytes(new Net(new Cumulative()), { inputShape: [1, 3, 8, 8] }); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(sdd.onnx.OnnxExportError);
    expect((err as Error).message).toMatch(/module "head" \(Cumulative\)/);
    expect((err as Error).message).toMatch(/cumsum/);
    expect((err as sdd.onnx.OnnxExportError).modulePath).toBe('head');
    expect((err as sdd.onnx.OnnxExportError).moduleClass).toBe('Cumulative');
  });

  it('data-dependent control flow and unsupported settings', () => {
    expect(() => sdd.onnx.toBytes(new Net(new Peeking()), { inputShape: [1, 3, 8, 8] })).toThrow(/module "head" \(Peeking\) reads the values/);
    const circular = new sdd.nn.Sequential(new sdd.nn.Conv2d(3, 4, 3, { padding: 1, paddingMode: 'circular' }));
    expect(() => sdd.onnx.toBytes(circular, { inputShape: [1, 3, 8, 8] })).toThrow(/module "0" \(Conv2d\) pads with paddingMode 'circular'/);
    const bf16 = sdd.models.create('resnet8').freeze({ dtype: 'bfloat16' });
    expect(() => sdd.onnx.toBytes(bf16)).toThrow(/frozen with dtype bfloat16/);
    expect(() => sdd.onnx.toBytes({} as never)).toThrow(/nn.Module/);
  });
});

describe('sdd-torch export', () => {
  it('writes a checkpoint as ONNX (multi-scale on request) that ONNX Runtime runs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-onnx-cli-'));
    try {
      sdd.manualSeed(4);
      const model = calibrated(sdd.models.create('resnet8', { numClasses: 10 }), 32, 8);
      await sdd.checkpoint.save(model.stateDict(), path.join(dir, 'student.pth'));
      const cli = (args: string[]) => spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      const r = cli(['export', '--model', 'resnet8', '--checkpoint', 'student.pth', '--format', 'onnx', '--num-classes', '10', '--multi-scale']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/wrote student\.onnx .*input \[batch, 3, 32, 32\] -> logits \[batch, 10\], scaleLogits \[batch, 10, 21\]/);
      const x = sdd.randn([2, 3, 32, 32]);
      const out = await runOrt(new Uint8Array(readFileSync(path.join(dir, 'student.onnx'))), x);
      const ours = sdd.noGrad(() => model.forward(x));
      expect(maxAbs(ours.scaleLogits.toTypedArray() as Float32Array, out.scaleLogits!.data as Float32Array)).toBeLessThan(TOL);
      const r2 = cli(['export', '--model', 'resnet8', '--checkpoint', 'student.pth', '--format', 'tflite']);
      expect(r2.status).toBe(1);
      expect(r2.stderr).toMatch(/--format tflite is not supported/);
      const r3 = cli(['export', '--model', 'resnet8', '--checkpoint', 'student.pth', '--out', 'r8.onnx']);
      expect(r3.stderr).toMatch(/numClasses|shape|size mismatch|\[100, 64\]/i);
      expect(existsSync(path.join(dir, 'r8.onnx'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
