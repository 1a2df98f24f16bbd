// Stored teacher outputs (sdd.distillers.OfflineTeacher): the same losses, gradients and weights as
// running the teacher on every batch, a file that round-trips, and refusals of every pipeline the
// stored rows would not describe (random transforms, other transforms, another data set, methods
// that read the teacher's features, a step without sample indices).
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';

const N = 48;
const NORM = sdd.transforms.normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);
let dir = '';
let trainSet: sdd.data.TensorDataset;
let teacher: sdd.models.SddModel;

function dataset(seed: number, n = N): sdd.data.TensorDataset {
  sdd.manualSeed(seed);
  const images = sdd.randint(0, 256, [n, 3, 32, 32], { dtype: 'uint8' });
  const targets = Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10);
  return new sdd.data.TensorDataset(images, targets, { owned: true });
}

/** A student with the weights of `from` (both start equal). */
function twin(from?: sdd.models.SddModel): sdd.models.SddModel {
  sdd.manualSeed(11);
  const m = sdd.models.create('resnet8', { numClasses: 10 });
  if (from) m.loadStateDict(from.stateDict());
  return m;
}

beforeAll(() => {
  sdd.setNumThreads(1);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-offline-'));
  trainSet = dataset(1);
  sdd.manualSeed(5);
  teacher = sdd.models.create('resnet20', { numClasses: 10 });
  teacher.freeze();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const params = (m: sdd.models.SddModel): Float32Array[] => m.parameters().map((p) => p.toTypedArray() as Float32Array);
const maxAbsDiff = (a: Float32Array[], b: Float32Array[]): number => Math.max(...a.map((x, i) => x.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]![j]!)), 0)));

describe('teacherOutputs', () => {
  it('stores, per sample, what the teacher returns for that image (global and region logits)', async () => {
    const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM], batchSize: 20 });
    expect(offline.length).toBe(N);
    expect(offline.numClasses).toBe(10);
    expect(offline.regions).toBe(21);
    const loader = new sdd.data.DataLoader(trainSet, { batchSize: 16, shuffle: true, seed: 3, transforms: [NORM] });
    for await (const b of loader.epoch(1)) {
      sdd.tidy(() => {
        const live = sdd.noGrad(() => teacher.forward(b.images));
        const stored = offline.outputs(b.indices);
        expect(stored.logits.sub(live.logits).abs().max().item()).toBeLessThan(1e-5);
        expect(stored.scaleLogits!.sub(live.scaleLogits!).abs().max().item()).toBeLessThan(1e-5);
      });
      sdd.dispose([b.images, b.targets]);
    }
    offline.dispose();
  });

  it('SD-KD, SD-DKD and KD take the same steps from stored outputs as from the live teacher', async () => {
    const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM] });
    for (const method of ['sdd_kd', 'sdd_dkd', 'kd', 'dkd']) {
      const a = twin(), b = twin(a);
      const opt = (m: sdd.models.SddModel) => sdd.optim.sgd(m, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const live = sdd.distillers.create(method, { teacher, student: a, optimizer: opt(a) });
      const stored = sdd.distillers.create(method, { teacher: offline, student: b, optimizer: opt(b) });
      const loader = new sdd.data.DataLoader(trainSet, { batchSize: 16, shuffle: true, seed: 9, transforms: [NORM] });
      for (let epoch = 1; epoch <= 2; epoch++) {
        for await (const batch of loader.epoch(epoch)) {
          const r1 = live.step({ images: batch.images, targets: batch.targets, epoch });
          const r2 = stored.step({ images: batch.images, targets: batch.targets, epoch, indices: batch.indices });
          expect(Math.abs(r1.loss - r2.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(r1.loss)));
          for (const k of Object.keys(r1.terms)) expect(Math.abs(r1.terms[k]! - r2.terms[k]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(r1.terms[k]!)));
          expect(Math.abs(r1.gradNorm - r2.gradNorm)).toBeLessThan(1e-4 * r1.gradNorm);
          if (r1.sdd) expect(r2.sdd).toEqual(r1.sdd);
          sdd.dispose([batch.images, batch.targets]);
        }
      }
      expect(maxAbsDiff(params(a), params(b)), method).toBeLessThan(1e-5);
    }
    offline.dispose();
  });

  it('a Trainer run from the stored outputs ends where the live run does', async () => {
    const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM] });
    const run = async (t: sdd.distillers.OfflineTeacher | sdd.models.SddModel) => {
      const student = twin();
      const distiller = sdd.distillers.create('sdd_kd', { teacher: t, student, optimizer: sdd.optim.sgd(student, { lr: 0.05, momentum: 0.9 }) });
      const train = new sdd.data.DataLoader(trainSet, { batchSize: 16, shuffle: true, seed: 4, transforms: [NORM] });
      const losses: number[] = [];
      const trainer = new sdd.Trainer({ distiller, train, epochs: 2, progress: false, log: () => {}, onStep: (e) => losses.push(e.loss) });
      await trainer.fit();
      return { losses, params: params(student) };
    };
    const live = await run(teacher);
    const stored = await run(offline);
    expect(stored.losses.length).toBe(6);
    stored.losses.forEach((l, i) => expect(Math.abs(l - live.losses[i]!)).toBeLessThan(1e-5 * Math.max(1, live.losses[i]!)));
    expect(maxAbsDiff(live.params, stored.params)).toBeLessThan(1e-5);
    offline.dispose();
  });

  it('writes a file that loads back exactly, with what it was computed on', async () => {
    const file = path.join(dir, 'outputs.safetensors');
    const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM], file, teacherName: 'resnet20 (random)' });
    expect(statSync(file).size).toBeGreaterThan(N * 10 * 22 * 4);
    const back = sdd.distillers.OfflineTeacher.load(file);
    expect(back.provenance).toEqual(offline.provenance);
    expect(back.provenance.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(back.provenance.transforms).toEqual(['normalize(mean [0.5,0.5,0.5], std [0.25,0.25,0.25])']);
    expect(back.logits.equal(offline.logits)).toBe(true);
    expect(back.scaleLogits!.equal(offline.scaleLogits!)).toBe(true);
    // loadOrCompute reads an existing file instead of running the teacher again
    const again = await sdd.distillers.OfflineTeacher.loadOrCompute(file, teacher, trainSet, { transforms: [NORM] });
    expect(again.logits.equal(offline.logits)).toBe(true);
    for (const o of [offline, back, again]) o.dispose();
  });

  it('counts its tensors: outputs() inside tidy leaves nothing behind', async () => {
    const offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM] });
    sdd.tidy(() => {
      const before = sdd.memory().numTensors;
      for (let i = 0; i < 50; i++) sdd.tidy(() => offline.outputs([0, 5, 7]));
      expect(sdd.memory().numTensors).toBe(before);
    });
    offline.dispose();
  });
});

describe('refusals', () => {
  let offline: sdd.distillers.OfflineTeacher;
  beforeAll(async () => { offline = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM] }); });
  afterAll(() => offline.dispose());

  const trainerWith = (train: sdd.data.DataLoader, t: sdd.distillers.OfflineTeacher = offline) => {
    const student = twin();
    const distiller = sdd.distillers.create('sdd_kd', { teacher: t, student, optimizer: sdd.optim.sgd(student, { lr: 0.05 }) });
    return () => new sdd.Trainer({ distiller, train, epochs: 1, progress: false, log: () => {} });
  };

  it('computing with a random transform', async () => {
    await expect(sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [sdd.transforms.randomCrop(32, { padding: 4 }), NORM] }))
      .rejects.toThrow(/random transforms \(randomCrop\(size \[32,32\], padding \[4,4,4,4\].*deterministic pipeline/);
    await expect(sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [sdd.transforms.randomHorizontalFlip(), NORM] }))
      .rejects.toBeInstanceOf(sdd.distillers.TeacherOutputsError);
  });

  it('training with a random transform in the loader', () => {
    const train = new sdd.data.DataLoader(trainSet, { batchSize: 16, transforms: [sdd.transforms.randomHorizontalFlip(), NORM] });
    expect(trainerWith(train)).toThrow(/Trainer options.train: the pipeline has random transforms \(randomHorizontalFlip\(p 0.5\)\)/);
  });

  it('training with other transforms, or on another data set', () => {
    expect(trainerWith(new sdd.data.DataLoader(trainSet, { batchSize: 16 }))).toThrow(/computed with transforms \[normalize.*the training loader applies \[none\]/);
    const other = dataset(2);
    expect(trainerWith(new sdd.data.DataLoader(other, { batchSize: 16, transforms: [NORM] }))).toThrow(/not the one the teacher outputs were computed on/);
    const shorter = dataset(1, 40);
    expect(trainerWith(new sdd.data.DataLoader(shorter, { batchSize: 16, transforms: [NORM] }))).toThrow(/hold 48 samples, the training data set has 40/);
    other.dispose();
    shorter.dispose();
  });

  it('a step without sample indices, or with indices outside the store', () => {
    const student = twin();
    const d = sdd.distillers.create('sdd_kd', { teacher: offline, student, optimizer: sdd.optim.sgd(student, { lr: 0.05 }) });
    const images = sdd.randn([4, 3, 32, 32]);
    const targets = sdd.tensor([1, 2, 3, 4], { dtype: 'int64' });
    expect(() => d.step({ images, targets })).toThrow(/pass indices to step\(\{ images, targets, indices \}\)/);
    expect(() => d.step({ images, targets, indices: [0, 1] })).toThrow(/one sample index per image \(4\)/);
    expect(() => d.step({ images, targets, indices: [0, 1, 2, 48] })).toThrow(/sample index 48 is outside the store's 48 samples/);
    sdd.dispose([images, targets]);
  });

  it('methods that read the teacher\'s features, and forward()', () => {
    const student = twin();
    expect(() => sdd.distillers.create('at', { teacher: offline, student, optimizer: sdd.optim.sgd(student, { lr: 0.05 }) }))
      .toThrow(/distiller 'at' reads the teacher's features.*pass the teacher model itself/);
    expect(() => offline.forward()).toThrow(/has no forward\(\)/);
    expect(() => offline.train()).toThrow(/cannot be put in training mode/);
  });

  it('a file that is not a store, and an existing store that does not match is never overwritten', async () => {
    const plain = path.join(dir, 'plain.safetensors');
    await sdd.checkpoint.save(teacher.stateDict(), plain);
    expect(() => sdd.distillers.OfflineTeacher.load(plain)).toThrow(/not a teacher-outputs file of sdd-torch/);
    const file = path.join(dir, 'kept.safetensors');
    const stored = await sdd.distillers.teacherOutputs(teacher, trainSet, { transforms: [NORM], file });
    stored.dispose();
    const before = statSync(file).mtimeMs;
    const other = dataset(3);
    await expect(sdd.distillers.OfflineTeacher.loadOrCompute(file, teacher, other, { transforms: [NORM] })).rejects.toThrow(/delete .*kept\.safetensors to compute them again/);
    expect(existsSync(file) && statSync(file).mtimeMs).toBe(before);
    other.dispose();
  });
});
