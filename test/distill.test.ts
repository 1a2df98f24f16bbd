// Distillers over a small model written with tensors (the zoo's models follow the same interface).
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

class TinyNet {
  params: sdd.Tensor[];
  constructor(readonly conv: sdd.Tensor, readonly fcW: sdd.Tensor, readonly fcB: sdd.Tensor, readonly scales: number[]) {
    this.params = [conv, fcW, fcB];
  }
  static make(seed: number, channels: number, scales = [1, 2, 4]) {
    sdd.manualSeed(seed);
    return new TinyNet(sdd.randn([3, channels]).mul(0.5).requiresGrad_(), sdd.randn([10, channels]).mul(0.1).requiresGrad_(),
      sdd.zeros([10]).requiresGrad_(), scales);
  }
  forward(x: sdd.Tensor) {
    const features = x.permute([0, 2, 3, 1]).matmul(this.conv).relu().permute([0, 3, 1, 2]);
    const logits = features.mean([2, 3]).matmul(this.fcW.T).add(this.fcB);
    const scaleLogits = sdd.scaleLogits(features, this.fcW, this.fcB, { scales: this.scales });
    return { logits, scaleLogits, features };
  }
  parameters() { return this.params; }
  train() { return this; }
  eval() { return this; }
  clone() { return new TinyNet(...(this.params.map((p) => p.detach().clone().requiresGrad_()) as [sdd.Tensor, sdd.Tensor, sdd.Tensor]), this.scales); }
}

function batches(n: number) {
  sdd.manualSeed(99);
  return Array.from({ length: n }, () => ({ images: sdd.randn([16, 3, 8, 8]), targets: sdd.randint(0, 10, [16]) }));
}

describe('distillers', () => {
  it('every method trains: finite losses, named terms, loss going down', () => {
    // the feature-distillation methods read the models' stage features, which TinyNet does not
    // have: test/feature-distillers.test.ts and feature-distillers-b.test.ts train them on the zoo's models
    const featureMethods = new Set(['at', 'fitnet', 'kdsvd', 'nst', 'pkt', 'rkd', 'sp', 'vid', 'ofd', 'reviewkd', 'reviewkd_sdd_dkd', 'crd']);
    for (const name of sdd.distillers.names().filter((n) => !featureMethods.has(n))) {
      const teacher = TinyNet.make(1, 12);
      const student = TinyNet.make(2, 6);
      const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.1, momentum: 0.9 });
      const d = sdd.distillers.create(name, { teacher, student, optimizer, ...(name.includes('dkd') || name.includes('nkd') ? { warmup: 0 } : {}) });
      const data = batches(4);
      const results = [];
      for (let epoch = 0; epoch < 8; epoch++) for (const b of data) results.push(d.step({ ...b, epoch: epoch + 1 }));
      for (const r of results) {
        expect(Number.isFinite(r.loss)).toBe(true);
        const sum = Object.values(r.terms).reduce((a, b) => a + b, 0);
        expect(Math.abs(r.loss - sum) / Math.max(1, Math.abs(sum))).toBeLessThan(1e-6);
      }
      expect(Object.keys(results[0]!.terms)).toEqual(name === 'vanilla' ? ['ce'] : ['ce', 'kd']);
      const first = results.slice(0, 4).reduce((a, r) => a + r.loss, 0);
      const last = results.slice(-4).reduce((a, r) => a + r.loss, 0);
      expect(last, name).toBeLessThan(first);
      if (name.startsWith('sdd_')) expect(results[0]!.sdd!.rows).toBe(16 * 21);
    }
  });

  it('SD-KD with scales [1] trains exactly like KD', () => {
    const teacher = TinyNet.make(1, 12, [1]);
    const a = TinyNet.make(2, 6, [1]);
    const b = a.clone();
    const da = sdd.distillers.create('kd', { teacher, student: a, optimizer: sdd.optim.sgd(a.parameters(), { lr: 0.1, momentum: 0.9 }) });
    const db = sdd.distillers.create('sdd_kd', { teacher, student: b, optimizer: sdd.optim.sgd(b.parameters(), { lr: 0.1, momentum: 0.9 }) });
    for (const batch of batches(3)) {
      const ra = da.step(batch);
      const rb = db.step(batch);
      expect(rb.terms.kd).toBeCloseTo(ra.terms.kd!, 6);
      expect(rb.sdd!.complementary).toBe(0);
    }
    a.parameters().forEach((p, i) => expect(p.allclose(b.parameters()[i]!, { rtol: 1e-5, atol: 1e-6 })).toBe(true));
  });

  it('the DKD family warms its loss weight up over the first epochs', () => {
    const teacher = TinyNet.make(1, 12);
    const student = TinyNet.make(2, 6);
    const d = sdd.distillers.create('dkd', { teacher, student, optimizer: sdd.optim.sgd(student.parameters(), { lr: 0 }) });
    const [batch] = batches(1);
    const e1 = d.step({ ...batch!, epoch: 1 }).terms.kd!;
    const e20 = d.step({ ...batch!, epoch: 20 }).terms.kd!;
    expect(e20 / e1).toBeCloseTo(20, 3);
  });

  it('returns every SDD row weight with details, and clear errors for bad use', () => {
    const teacher = TinyNet.make(1, 12);
    const student = TinyNet.make(2, 6);
    const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.1 });
    const d = sdd.distillers.create('SDD_KD', { teacher, student, optimizer, details: true });
    const r = d.step(batches(1)[0]!);
    expect(r.sdd!.weights!.length).toBe(16 * 21);
    expect(r.sdd!.weights!.filter((w) => w === 2).length).toBe(r.sdd!.complementary);
    expect(() => sdd.distillers.create('sdd_xx', { student, optimizer })).toThrow(/Unknown distiller 'sdd_xx'; known: vanilla, kd/);
    expect(() => sdd.distillers.create('kd', { student, optimizer }).step(batches(1)[0]!)).toThrow(/needs a teacher/);
    expect(() => sdd.distillers.create('kd', { teacher, student, optimizer, temprature: 3 })).toThrow(/Unknown option 'temprature' in kd settings/);
  });

  it('a distillation step leaks no tensors', () => {
    const teacher = TinyNet.make(1, 12);
    const student = TinyNet.make(2, 6);
    const d = sdd.distillers.create('sdd_kd', { teacher, student, optimizer: sdd.optim.sgd(student.parameters(), { lr: 0.1, momentum: 0.9 }) });
    const data = batches(2);
    d.step(data[0]!);
    const before = sdd.memory().liveTensors;
    for (let i = 0; i < 50; i++) d.step(data[i % 2]!);
    expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
  });
});

describe('the distiller registry', () => {
  it('follows the models registry rule: a taken name (a built-in one too) needs { override: true }', () => {
    const factory = (o: sdd.distillers.DistillerOptions) => new sdd.distillers.Vanilla(o);
    sdd.distillers.register('my-ce', factory);
    expect(sdd.distillers.names()).toContain('my-ce');
    expect(() => sdd.distillers.register('my-ce', factory)).toThrow('distillers.register: "my-ce" is already registered; pass { override: true } to replace it');
    expect(() => sdd.distillers.register('kd', factory)).toThrow('"kd" is already registered');
    sdd.distillers.register('my-ce', factory, { override: true });
    expect(() => sdd.distillers.register('my ce', factory)).toThrow("Expected a name of letters, digits, '_', '-' or '.' for name");
    expect(() => sdd.distillers.register('my-ce', factory, { overide: true } as never)).toThrow('did you mean override?');
    expect(() => sdd.models.register('bad name', () => sdd.models.create('resnet8'))).toThrow("Expected a name of letters, digits, '_', '-' or '.' for name");
  });
});
