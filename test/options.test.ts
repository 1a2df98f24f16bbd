// One option checker for every public entry point: a misspelt key, a value of the wrong type and a
// non-finite number are each a clear error at construction (naming the key, and the nearest known
// key for a misspelling), never silently ignored or deferred to the first use. Plus the cases of
// issue 13 (points 3 and 6) and `sdd-torch eval` on Trainer checkpoints and the authors' .pth files.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { runEval } from '../lib/cli/commands/eval.js';
import { runTrain } from '../lib/cli/commands/train.js';
import { writeCifar100 } from './helpers/cifar.js';
import { REPO_ROOT, fixturePath } from './helpers/fixtures.js';

let dir = '';

/** An MNIST-layout IDX file: uint8 images n×4×4 or labels n. */
function writeIdx(file: string, n: number, images: boolean): void {
  const dims = images ? [n, 4, 4] : [n];
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(images ? 0x00000803 : 0x00000801, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(dims.reduce((a, b) => a * b, 1), 7);
  writeFileSync(file, Buffer.concat([head, body]));
}

beforeAll(async () => {
  sdd.setNumThreads(1);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-options-'));
  mkdirSync(path.join(dir, 'fmnist'));
  writeIdx(path.join(dir, 'fmnist', 'train-images-idx3-ubyte'), 3, true);
  writeIdx(path.join(dir, 'fmnist', 'train-labels-idx1-ubyte'), 3, false);
  writeIdx(path.join(dir, 'fmnist', 't10k-images-idx3-ubyte'), 2, true);
  writeIdx(path.join(dir, 'fmnist', 't10k-labels-idx1-ubyte'), 2, false);
  mkdirSync(path.join(dir, 'cifar', 'cifar-100-binary'), { recursive: true });
  writeCifar100(path.join(dir, 'cifar', 'cifar-100-binary', 'train.bin'), 5, 1);
  writeCifar100(path.join(dir, 'cifar', 'cifar-100-binary', 'test.bin'), 8, 2);
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** The error a call throws, or the rejection of the promise it returns. */
async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    const r = fn();
    if (r && typeof (r as Promise<unknown>).then === 'function') await r;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but the call succeeded');
}

/** A small model with the distiller's forward ({ logits }). */
class Tiny extends sdd.nn.Module {
  fc = new sdd.nn.Linear(4, 3);
  override forward(x: sdd.Tensor) { return { logits: this.fc.forward(x) as sdd.Tensor }; }
}

function tinyDistiller(opt: 'sgd' | 'adamw' = 'sgd') {
  sdd.manualSeed(0);
  const student = new Tiny();
  const optimizer = opt === 'sgd' ? sdd.optim.sgd(student.parameters(), { lr: 0.1, momentum: 0.9 }) : sdd.optim.adamw(student.parameters(), { lr: 0.01 });
  return { student, optimizer, distiller: sdd.distillers.create('vanilla', { student, optimizer }) };
}

function tinyLoader() {
  const images = sdd.randint(0, 256, [4, 3, 8, 8], { dtype: 'uint8' });
  return new sdd.data.DataLoader(new sdd.data.TensorDataset(images, [0, 1, 2, 0]), { batchSize: 2 });
}

const logits = () => sdd.randn([4, 5]);
const regionLogits = () => sdd.randn([4, 5, 5]); // scales [1, 2]: N = 5
const targets = () => sdd.tensor([0, 1, 2, 3], { dtype: 'int64' });
const features = () => sdd.randn([2, 3, 4, 4]);
const sdTeacher = () => new Tiny();

interface Case {
  /** what is called */
  name: string;
  call: (opts: Record<string, unknown>) => unknown;
  /** options that must be there for the call to be valid otherwise */
  base?: Record<string, unknown>;
  /** [misspelt key, its value, the key the error suggests] */
  typo: [string, unknown, string];
  /** a key given a value of the wrong type */
  wrongType: [string, unknown];
  /** a key given a non-finite number */
  nonFinite: [string, number];
}

// Built from lib/index.ts's exports: every public factory / constructor that takes an options object.
const cases: Case[] = [
  // data
  { name: 'data.mnist', call: (o) => sdd.data.mnist(path.join(dir, 'fmnist'), o as never), typo: ['splt', 'test', 'split'], wrongType: ['split', 1], nonFinite: ['split', NaN] },
  { name: 'data.fashionMnist', call: (o) => sdd.data.fashionMnist(path.join(dir, 'fmnist'), o as never), typo: ['Split', 'test', 'split'], wrongType: ['split', true], nonFinite: ['split', Infinity] },
  { name: 'data.kmnist', call: (o) => sdd.data.kmnist(path.join(dir, 'fmnist'), o as never), typo: ['spilt', 'test', 'split'], wrongType: ['split', 0], nonFinite: ['split', -Infinity] },
  { name: 'data.cifar10', call: (o) => sdd.data.cifar10(path.join(dir, 'cifar'), o as never), typo: ['fromat', 'binary', 'format'], wrongType: ['format', 2], nonFinite: ['split', NaN] },
  { name: 'data.cifar100', call: (o) => sdd.data.cifar100(path.join(dir, 'cifar'), o as never), typo: ['label', 'coarse', 'labels'], wrongType: ['labels', true], nonFinite: ['split', Infinity] },
  { name: 'data.cub200', call: (o) => sdd.data.cub200(path.join(dir, 'nowhere'), o as never), typo: ['verfy', 'none', 'verify'], wrongType: ['verify', false], nonFinite: ['split', NaN] },
  { name: 'data.imageFolder', call: (o) => sdd.data.imageFolder(path.join(dir, 'nowhere'), o as never), typo: ['extension', ['.jpg'], 'extensions'], wrongType: ['verify', true], nonFinite: ['extensions', Infinity] },
  { name: 'data.TensorDataset', call: (o) => new sdd.data.TensorDataset(sdd.zeros([2, 1, 2, 2], { dtype: 'uint8' }), [0, 1], o as never), typo: ['clases', ['a', 'b'], 'classes'], wrongType: ['owned', 'yes'], nonFinite: ['layout', NaN] },
  { name: 'data.DataLoader', call: (o) => new sdd.data.DataLoader(new sdd.data.TensorDataset(sdd.zeros([2, 1, 2, 2], { dtype: 'uint8' }), [0, 1]), o as never), typo: ['batch_size', 2, 'batchSize'], wrongType: ['shuffle', 'true'], nonFinite: ['batchSize', Infinity] },
  { name: 'DataLoader.epoch', call: (o) => tinyLoader().epoch(0, o as never), typo: ['start_batch', 1, 'startBatch'], wrongType: ['startBatch', '1'], nonFinite: ['startBatch', NaN] },
  { name: 'data.RandomSampler', call: (o) => new sdd.data.RandomSampler(10, o as never), typo: ['sed', 1, 'seed'], wrongType: ['seed', '1'], nonFinite: ['seed', Infinity] },
  { name: 'data.DistributedSampler', call: (o) => new sdd.data.DistributedSampler(10, o as never), base: { rank: 0, worldSize: 2 }, typo: ['shufle', true, 'shuffle'], wrongType: ['dropLast', 'no'], nonFinite: ['worldSize', Infinity] },
  { name: 'data.ShardSampler', call: (o) => new sdd.data.ShardSampler(10, o as never), base: { rank: 0, worldSize: 2 }, typo: ['world_size', 2, 'worldSize'], wrongType: ['rank', '0'], nonFinite: ['rank', NaN] },
  // transforms
  { name: 'transforms.randomCrop', call: (o) => sdd.transforms.randomCrop(32, o as never), typo: ['paddng', 4, 'padding'], wrongType: ['padding', '4'], nonFinite: ['padding', Infinity] },
  { name: 'transforms.randomResizedCrop', call: (o) => sdd.transforms.randomResizedCrop(32, o as never), typo: ['scales', [0.5, 1], 'scale'], wrongType: ['scale', 'big'], nonFinite: ['ratio', NaN] },
  { name: 'transforms.toFloat', call: (o) => sdd.transforms.toFloat(o as never), typo: ['scal', 1, 'scale'], wrongType: ['scale', '1'], nonFinite: ['scale', Infinity] },
  { name: 'transforms.apply', call: (o) => sdd.transforms.apply(sdd.zeros([1, 1, 2, 2], { dtype: 'uint8' }), [], o as never), typo: ['thread', 1, 'threads'], wrongType: ['layout', 1], nonFinite: ['epoch', Infinity] },
  // training
  { name: 'Trainer', call: (o) => new sdd.Trainer(o as never), base: { epochs: 1, log: () => {} }, typo: ['outdir', 'runs/x', 'outDir'], wrongType: ['progress', 'yes'], nonFinite: ['checkpointEvery', Infinity] },
  { name: 'schedules.multiStep', call: (o) => sdd.schedules.multiStep(o as never), base: { milestones: [2] }, typo: ['Gamma', 0.5, 'gamma'], wrongType: ['gamma', '0.5'], nonFinite: ['gamma', NaN] },
  { name: 'schedules.cosine', call: (o) => sdd.schedules.cosine(o as never), base: { epochs: 10 }, typo: ['min_lr', 0.1, 'minLr'], wrongType: ['epochs', '10'], nonFinite: ['minLr', Infinity] },
  { name: 'schedules.linearWarmup', call: (o) => sdd.schedules.linearWarmup(o as never), base: { epochs: 5 }, typo: ['then_', sdd.schedules.constant(), 'then'], wrongType: ['then', 3], nonFinite: ['epochs', Infinity] },
  { name: 'optim.sgd', call: (o) => sdd.optim.sgd([sdd.zeros([2], { requiresGrad: true })], o as never), base: { lr: 0.1 }, typo: ['momentun', 0.9, 'momentum'], wrongType: ['nesterov', 'false'], nonFinite: ['lr', Infinity] },
  { name: 'optim.adamw', call: (o) => sdd.optim.adamw([sdd.zeros([2], { requiresGrad: true })], o as never), typo: ['weight_decay', 0.1, 'weightDecay'], wrongType: ['lr', '0.1'], nonFinite: ['lr', NaN] },
  { name: 'optim.noDecayGroups', call: (o) => sdd.optim.noDecayGroups([], o as never), typo: ['extra_no_decay', ['x'], 'extraNoDecay'], wrongType: ['extraNoDecay', 'bias'], nonFinite: ['extraNoDecay', Infinity] },
  // losses
  { name: 'losses.kd', call: (o) => sdd.losses.kd(logits(), logits(), o as never), typo: ['temprature', 4, 'temperature'], wrongType: ['details', 'yes'], nonFinite: ['temperature', Infinity] },
  { name: 'losses.dkd', call: (o) => sdd.losses.dkd(logits(), logits(), targets(), o as never), typo: ['alpah', 1, 'alpha'], wrongType: ['alpha', '1'], nonFinite: ['beta', NaN] },
  { name: 'losses.nkd', call: (o) => sdd.losses.nkd(logits(), logits(), targets(), o as never), typo: ['gama', 1, 'gamma'], wrongType: ['excludeTarget', 'true'], nonFinite: ['gamma', Infinity] },
  { name: 'losses.sddKd', call: (o) => sdd.losses.sddKd(regionLogits(), regionLogits(), targets(), o as never), typo: ['complementary_weight', 2, 'complementaryWeight'], wrongType: ['nonFinite', true], nonFinite: ['complementaryWeight', NaN] },
  { name: 'losses.sddDkd', call: (o) => sdd.losses.sddDkd(regionLogits(), regionLogits(), targets(), o as never), typo: ['betta', 8, 'beta'], wrongType: ['details', 1], nonFinite: ['temperature', -Infinity] },
  { name: 'losses.sddNkd', call: (o) => sdd.losses.sddNkd(regionLogits(), regionLogits(), targets(), o as never), typo: ['exclude_target', true, 'excludeTarget'], wrongType: ['excludeTarget', 'false'], nonFinite: ['gamma', NaN] },
  { name: 'losses.crossEntropy', call: (o) => sdd.losses.crossEntropy(logits(), targets(), o as never), typo: ['label_smoothing', 0.1, 'labelSmoothing'], wrongType: ['reduction', 1], nonFinite: ['labelSmoothing', Infinity] },
  { name: 'multiScalePool', call: (o) => sdd.multiScalePool(features(), o as never), typo: ['scale', [1, 2], 'scales'], wrongType: ['allowReplicate', 'true'], nonFinite: ['scales', Infinity] },
  { name: 'scaleLogits', call: (o) => sdd.scaleLogits(features(), sdd.randn([5, 3]), sdd.randn([5]), o as never), typo: ['Mode', 'direct', 'mode'], wrongType: ['allowReplicate', 1], nonFinite: ['scales', NaN] },
  // nn
  { name: 'nn.Conv2d', call: (o) => new sdd.nn.Conv2d(3, 4, 3, o as never), typo: ['padding_mode', 'zeros', 'paddingMode'], wrongType: ['bias', 'false'], nonFinite: ['stride', Infinity] },
  { name: 'nn.BatchNorm2d', call: (o) => new sdd.nn.BatchNorm2d(4, o as never), typo: ['track_running_stats', true, 'trackRunningStats'], wrongType: ['eps', '1e-5'], nonFinite: ['momentum', NaN] },
  { name: 'nn.BatchNorm1d', call: (o) => new sdd.nn.BatchNorm1d(4, o as never), typo: ['afine', true, 'affine'], wrongType: ['affine', 1], nonFinite: ['eps', Infinity] },
  { name: 'nn.Linear', call: (o) => new sdd.nn.Linear(3, 4, o as never), typo: ['bais', false, 'bias'], wrongType: ['bias', 0], nonFinite: ['dtype', NaN] },
  { name: 'nn.MaxPool2d', call: (o) => new sdd.nn.MaxPool2d(2, o as never), typo: ['ceil_mode', true, 'ceilMode'], wrongType: ['ceilMode', 'true'], nonFinite: ['padding', Infinity] },
  { name: 'nn.AvgPool2d', call: (o) => new sdd.nn.AvgPool2d(2, o as never), typo: ['count_include_pad', false, 'countIncludePad'], wrongType: ['countIncludePad', 1], nonFinite: ['divisorOverride', Infinity] },
  { name: 'nn.ReLU', call: (o) => new sdd.nn.ReLU(o as never), typo: ['inplce', true, 'inplace'], wrongType: ['inplace', 'true'], nonFinite: ['inplace', NaN] },
  { name: 'nn.ReLU6', call: (o) => new sdd.nn.ReLU6(o as never), typo: ['in_place', true, 'inplace'], wrongType: ['inplace', 1], nonFinite: ['inplace', Infinity] },
  { name: 'nn.LeakyReLU', call: (o) => new sdd.nn.LeakyReLU(0.1, o as never), typo: ['Inplace', true, 'inplace'], wrongType: ['inplace', 'no'], nonFinite: ['inplace', NaN] },
  { name: 'nn.Dropout', call: (o) => new sdd.nn.Dropout(0.5, o as never), typo: ['inplac', true, 'inplace'], wrongType: ['inplace', 0], nonFinite: ['inplace', Infinity] },
  { name: 'Module.to', call: (o) => new Tiny().to(o as never), typo: ['dtyp', 'float64', 'dtype'], wrongType: ['memoryFormat', 1], nonFinite: ['device', Infinity] },
  { name: 'Module.loadStateDict', call: (o) => { const m = new Tiny(); return m.loadStateDict(m.stateDict(), o as never); }, typo: ['strcit', true, 'strict'], wrongType: ['strict', 'false'], nonFinite: ['stripPrefix', NaN] },
  { name: 'Module.freeze', call: (o) => new Tiny().freeze(o as never), typo: ['fold_batch_norm', false, 'foldBatchNorm'], wrongType: ['foldBatchNorm', 'no'], nonFinite: ['dtype', NaN] },
  { name: 'nn.init.kaimingUniform_', call: (o) => sdd.nn.init.kaimingUniform_(sdd.zeros([4, 3]), o as never), typo: ['Mode', 'fan_out', 'mode'], wrongType: ['mode', 1], nonFinite: ['a', Infinity] },
  { name: 'nn.functional.maxPool2d', call: (o) => sdd.nn.functional.maxPool2d(features(), 2, o as never), typo: ['ceil_mode', true, 'ceilMode'], wrongType: ['ceilMode', 'yes'], nonFinite: ['stride', Infinity] },
  // models
  { name: 'models.create', call: (o) => sdd.models.create('resnet8', o as never), typo: ['num_classes', 10, 'numClasses'], wrongType: ['channelsLast', 'yes'], nonFinite: ['numClasses', Infinity] },
  { name: 'models.register', call: (o) => sdd.models.register('resnet8', () => sdd.models.create('resnet8'), o as never), typo: ['overide', true, 'override'], wrongType: ['override', 'yes'], nonFinite: ['dataset', NaN] },
  // tensors and checkpoints
  { name: 'zeros', call: (o) => sdd.zeros([2], o as never), typo: ['dtpye', 'float32', 'dtype'], wrongType: ['requiresGrad', 'yes'], nonFinite: ['dtype', NaN] },
  { name: 'Tensor.to', call: (o) => sdd.zeros([2]).to(o as never), typo: ['non_blocking', true, 'nonBlocking'], wrongType: ['nonBlocking', 'yes'], nonFinite: ['device', Infinity] },
  { name: 'load', call: (o) => sdd.load(fixturePath('reference/model_resnet8_sdd.safetensors'), o as never), typo: ['strip_prefix', false, 'stripPrefix'], wrongType: ['key', 1], nonFinite: ['device', Infinity] },
  { name: 'save', call: (o) => sdd.save({ a: sdd.zeros([1]) }, path.join(dir, 'x.safetensors'), o as never), typo: ['formt', 'pth', 'format'], wrongType: ['format', 1], nonFinite: ['format', NaN] },
  // stored teacher outputs and the explain pictures
  { name: 'distillers.teacherOutputs', call: (o) => sdd.distillers.teacherOutputs(sdd.models.create('resnet8', { numClasses: 3 }), tinyLoader().dataset, o as never), typo: ['batch_size', 2, 'batchSize'], wrongType: ['batchSize', '2'], nonFinite: ['batchSize', Infinity] },
  { name: 'explain.explainBatch', call: (o) => sdd.explain.explainBatch(sdd.models.create('resnet8', { numClasses: 3 }), sdd.randn([2, 3, 32, 32]), [0, 1], o as never), typo: ['scale', [1, 2, 4], 'scales'], wrongType: ['scales', 'all'], nonFinite: ['scales', Infinity] },
  { name: 'explain.complementaryTable', call: (o) => sdd.explain.complementaryTable(sdd.models.create('resnet8', { numClasses: 3 }), [], o as never), typo: ['limt', 2, 'limit'], wrongType: ['limit', '2'], nonFinite: ['limit', Infinity] },
];

// the distillers: every registered method, each with one of its own settings misspelt
const settings: Record<string, [string, string, string]> = {
  vanilla: ['clip_grad_norm', 'clipGradNorm', 'clipGradNorm'], kd: ['kd_weight', 'kdWeight', 'temperature'], dkd: ['warmpu', 'warmup', 'beta'],
  nkd: ['exclude_target', 'excludeTarget', 'gamma'], sdd_kd: ['complementaryWeigth', 'complementaryWeight', 'temperature'],
  sdd_dkd: ['Alpha', 'alpha', 'warmup'], sdd_nkd: ['gama', 'gamma', 'complementaryWeight'],
};
for (const [method, [typo, near, numeric]] of Object.entries(settings)) {
  cases.push({
    name: `distillers.create('${method}')`,
    call: (o) => {
      const { student, optimizer } = tinyDistiller();
      return sdd.distillers.create(method, { teacher: sdTeacher(), student, optimizer, ...o } as never);
    },
    typo: [typo, 1, near],
    wrongType: method === 'vanilla' ? ['details', 'yes'] : [numeric, String(2)],
    nonFinite: method === 'vanilla' ? ['clipGradNorm', Infinity] : [numeric, NaN],
  });
}

function withBase(c: Case, extra: Record<string, unknown>): Record<string, unknown> {
  const base = { ...(c.base ?? {}) };
  if (c.name === 'Trainer') {
    const { distiller } = tinyDistiller();
    Object.assign(base, { distiller, train: tinyLoader() });
  }
  return { ...base, ...extra };
}

describe('one option checker at every public entry point', () => {
  it('covers every factory of lib/index.ts that takes options', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  for (const c of cases) {
    it(`${c.name}: a misspelt key, a wrong type and a non-finite number are clear errors`, async () => {
      const [typo, value, near] = c.typo;
      let e = await errorOf(() => c.call(withBase(c, { [typo]: value })));
      expect(e.message).toContain(`Unknown option '${typo}'`);
      expect(e.message).toContain(`did you mean ${near}?`);

      const [key, wrong] = c.wrongType;
      e = await errorOf(() => c.call(withBase(c, { [key]: wrong })));
      expect(e.message).toMatch(/^Expected .+ but received /);
      expect(e.message).toContain(key);

      const [nkey, bad] = c.nonFinite;
      e = await errorOf(() => c.call(withBase(c, { [nkey]: bad })));
      expect(e.message).toMatch(/^Expected .+ but received /);
      expect(e.message).toContain(nkey);
      expect(e.message).toContain(String(bad));
    });
  }

  it('sdd-torch train: misspelt flags, wrong types and non-finite numbers', async () => {
    // commander rejects unknown flags (with its own suggestion) before anything runs
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli', 'main.js'), 'train', '--outdir', 'x'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown option '--outdir'");
    expect(r.stderr).toContain('Did you mean --out?');
    await expect(runTrain({ threads: 'four' })).rejects.toThrow('--threads must be a non-negative integer, got four');
    await expect(runTrain({ limitBatches: 'Infinity' })).rejects.toThrow('--limit-batches must be a positive integer, got Infinity');
    await expect(runTrain({ device: 'gpu' })).rejects.toThrow("Expected 'cpu', 'cuda' or 'cuda:N' for --device but received 'gpu' of type string: unknown device 'gpu' (did you mean 'cuda'?)");
  });
});

describe('issue 13, point 3: options that were silently ignored', () => {
  it("data sets: torchvision's train: false is an error pointing to split: 'test'", async () => {
    for (const open of [sdd.data.fashionMnist, sdd.data.mnist] as const) {
      const e = await errorOf(() => open(path.join(dir, 'fmnist'), { train: false } as never));
      expect(e.message).toContain("Unknown option 'train'");
      expect(e.message).toContain("did you mean split: 'test'");
    }
    const e = await errorOf(() => sdd.data.cifar100(path.join(dir, 'cifar'), { train: false } as never));
    expect(e.message).toContain("did you mean split: 'test'");
    expect((await errorOf(() => sdd.data.cifar10(path.join(dir, 'cifar'), { train: true } as never))).message).toContain("did you mean split: 'train'");
    // the right spelling gives the test split
    const fm = await sdd.data.fashionMnist(path.join(dir, 'fmnist'), { split: 'test' });
    const c100 = await sdd.data.cifar100(path.join(dir, 'cifar'), { split: 'test' });
    try {
      expect(fm.length).toBe(2);
      expect(c100.length).toBe(8);
    } finally {
      fm.dispose();
      c100.dispose();
    }
  });

  it('Trainer: outdir and checkpoint_every are errors, not a run that writes nothing', () => {
    const { distiller } = tinyDistiller();
    const base = { distiller, train: tinyLoader(), epochs: 1 };
    expect(() => new sdd.Trainer({ ...base, outdir: 'runs/x' } as never)).toThrow(/Unknown option 'outdir' in Trainer options; .*\(did you mean outDir\?\)/);
    expect(() => new sdd.Trainer({ ...base, checkpoint_every: 10 } as never)).toThrow('did you mean checkpointEvery?');
    expect(() => new sdd.Trainer({ ...base, outDir: 'x', checkpointEvery: 0 })).toThrow('Expected an integer >= 1 for options.checkpointEvery but received 0');
    expect(() => new sdd.Trainer({ ...base, handleSigint: 'yes' } as never)).toThrow('Expected a boolean (true or false) for options.handleSigint');
  });

  it('losses, schedules, samplers, loaders, data sets and transforms name the key they do not know', () => {
    expect(() => sdd.losses.crossEntropy(logits(), targets(), { label_smoothing: 0.1 } as never)).toThrow('did you mean labelSmoothing?');
    expect(() => sdd.losses.crossEntropy(logits(), targets(), { reduce: false } as never)).toThrow("did you mean reduction: 'none'?");
    expect(() => sdd.losses.crossEntropy(logits(), targets(), { labelSmoothing: 1.5 })).toThrow('Expected a number in [0, 1] for options.labelSmoothing');
    expect(() => sdd.schedules.multiStep({ milestones: [1], Gamma: 0.5 } as never)).toThrow('did you mean gamma?');
    expect(() => sdd.schedules.cosine({ epochs: 3, min_lr: 0.1 } as never)).toThrow('did you mean minLr?');
    expect(() => new sdd.data.RandomSampler(4, { sed: 1 } as never)).toThrow('did you mean seed?');
    const loader = tinyLoader();
    // at the call, not at the first next()
    expect(() => loader.epoch(0, { start_batch: 1 } as never)).toThrow('did you mean startBatch?');
    expect(() => new sdd.data.TensorDataset(sdd.zeros([2, 1, 2, 2], { dtype: 'uint8' }), [0, 1], { clases: ['a', 'b'] } as never)).toThrow('did you mean classes?');
    expect(() => sdd.transforms.toFloat({ scal: 2 } as never)).toThrow('did you mean scale?');
  });

  it('booleans given as strings are errors, not false', () => {
    expect(() => sdd.losses.nkd(logits(), logits(), targets(), { excludeTarget: 'true' } as never))
      .toThrow("Expected a boolean (true or false) for losses.nkd options.excludeTarget but received 'true' of type string");
    expect(() => sdd.losses.sddKd(regionLogits(), regionLogits(), targets(), { details: 'yes' } as never))
      .toThrow("Expected a boolean (true or false) for losses.sddKd options.details but received 'yes' of type string");
  });

  it("optimizers check every hyper-parameter when they are built, not at the first step", () => {
    const p = () => [sdd.zeros([2], { requiresGrad: true })];
    expect(() => sdd.optim.sgd(p(), { lr: 0.1, momentum: 0.9, nesterov: 'false' } as never))
      .toThrow("Expected a boolean (true or false) for options.nesterov but received 'false' of type string");
    expect(() => sdd.optim.adamw(p(), { lr: '0.1' } as never)).toThrow("Expected a finite non-negative number for options.lr but received '0.1' of type string");
    for (const make of [sdd.optim.sgd, sdd.optim.adamw] as const) {
      expect(() => make(p(), { lr: Infinity })).toThrow('Expected a finite non-negative number for options.lr but received Infinity of type number');
      expect(() => make(p(), { lr: NaN })).toThrow('Expected a finite non-negative number for options.lr but received NaN of type number');
      expect(() => make(p(), { lr: -0.1 })).toThrow('Expected a non-negative number for options.lr but received -0.1 of type number');
      expect(() => make(p(), { lr: 0.1, weightDecay: Infinity })).toThrow('options.weightDecay but received Infinity');
      // parameter groups' own values too
      expect(() => make([{ params: p() }, { params: p(), lr: Infinity }], { lr: 0.1 })).toThrow('for params[1].lr but received Infinity');
    }
    expect(() => sdd.optim.sgd(p(), {} as never)).toThrow('for options.lr but received undefined');
  });
});

describe('issue 13, point 6: messages that say what to do', () => {
  it("model.to('gpu') / tensor.to('gpu'): unknown device, expected 'cpu', 'cuda' or 'cuda:N'", () => {
    const msg = "Expected 'cpu', 'cuda' or 'cuda:N' for device but received 'gpu' of type string: unknown device 'gpu' (did you mean 'cuda'?)";
    expect(() => new Tiny().to('gpu' as never)).toThrow(msg);
    expect(() => sdd.zeros([1]).to('gpu' as never)).toThrow(msg);
    expect(() => new Tiny().to('cuda0' as never)).toThrow("did you mean 'cuda:0'?");
    expect(() => new Tiny().to('float8' as never)).toThrow(/^Expected one of float32, .* for dtype/);
    const m = new Tiny().to('float64');
    expect(m.fc.weight.dtype).toBe('float64');
  });

  it('optim.sgd(model, …) takes the model\'s parameters; anything else says to pass model.parameters()', () => {
    const model = new Tiny();
    const opt = sdd.optim.sgd(model, { lr: 0.1 });
    expect(opt.params).toEqual(model.parameters());
    expect(sdd.optim.adamw(model).params.length).toBe(2);
    expect(() => sdd.optim.sgd(42 as never, { lr: 0.1 })).toThrow('Expected a list of tensors (model.parameters()), parameter groups, or a module for params but received 42');
  });

  it('resuming an SGD run with AdamW names both optimizers and changes nothing', () => {
    const file = path.join(dir, 'sgd-run.safetensors');
    const sgdRun = tinyDistiller('sgd');
    new sdd.Trainer({ distiller: sgdRun.distiller, train: tinyLoader(), epochs: 1, log: () => {} }).saveCheckpoint(file);
    const adamRun = tinyDistiller('adamw');
    const before = adamRun.student.fc.weight.toArray();
    const trainer = new sdd.Trainer({ distiller: adamRun.distiller, train: tinyLoader(), epochs: 1, log: () => {} });
    expect(() => trainer.loadCheckpoint(file)).toThrow("the checkpoint's optimizer state is SGD's but this run uses AdamW");
    expect(adamRun.student.fc.weight.toArray()).toEqual(before);

    // a state dict without the type (older checkpoints, user code) is told apart by its names
    const w = sdd.zeros([3], { requiresGrad: true });
    const sgd = sdd.optim.sgd([w], { lr: 0.1, momentum: 0.9 });
    w.mul(w).add(w).sum().backward();
    sgd.step();
    const adam = sdd.optim.adamw([sdd.zeros([3], { requiresGrad: true })]);
    expect(() => adam.loadStateDict(sgd.stateDict())).toThrow(/the saved optimizer state is SGD's .* but this optimizer is AdamW/);
    const sgd2 = sdd.optim.sgd([sdd.zeros([3], { requiresGrad: true })], { lr: 0.1 });
    expect(() => sgd2.loadStateDict(adam.stateDict())).toThrow(/the saved optimizer state is AdamW's .* but this optimizer is SGD/);
    sgd.dispose();
  });

  it("sdd-torch eval reads a Trainer checkpoint and the authors' .pth ({ model: state_dict }) as they are", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((l: string) => { lines.push(l); });
    const evalJson = async (checkpoint: string) => {
      lines.length = 0;
      await runEval({ model: 'resnet8', checkpoint, data: path.join(dir, 'cifar'), dataset: 'cifar100', batchSize: '4', json: true });
      const { top1, top5, loss, count } = JSON.parse(lines.pop()!) as { top1: number; top5: number; loss: number; count: number };
      return { top1, top5, loss, count };
    };
    try {
      // the authors' .pth holds {"model": state_dict}; its .safetensors twin holds the same tensors
      const pth = await evalJson(fixturePath('reference/model_resnet8_sdd.pth'));
      const st = await evalJson(fixturePath('reference/model_resnet8_sdd.safetensors'));
      expect(pth.count).toBe(8);
      expect(pth).toEqual(st);
      // a Trainer checkpoint (model.*, optim.*, rng.*) of the same weights gives the same numbers
      const student = sdd.models.create('resnet8', { numClasses: 100 });
      const sd = await sdd.load(fixturePath('reference/model_resnet8_sdd.safetensors'));
      try { student.loadStateDict(sd); } finally { sdd.dispose(sd); }
      const optimizer = sdd.optim.sgd(student, { lr: 0.1, momentum: 0.9 });
      const distiller = sdd.distillers.create('vanilla', { student, optimizer });
      const file = path.join(dir, 'best.safetensors');
      new sdd.Trainer({ distiller, train: tinyLoader(), epochs: 1, log: () => {} }).saveCheckpoint(file);
      expect(await evalJson(file)).toEqual(st);
      await expect(runEval({ model: 'resnet8', checkpoint: file, data: path.join(dir, 'cifar'), device: 'gpu' }))
        .rejects.toThrow("unknown device 'gpu' (did you mean 'cuda'?)");
    } finally {
      spy.mockRestore();
    }
  });
});
