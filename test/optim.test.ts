// Optimizers, clipping and schedules against torch.optim (test/fixtures/optim_reference.json, made by
// scripts/gen-optim-reference.py with Debian's python3-torch on float64 inputs).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as sdd from '../lib/index.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/optim_reference.json', import.meta.url), 'utf8'));
const make = (data: number[], shape: number[]) => sdd.tensor(Float64Array.from(data), { shape });

const optimizers: Record<string, (ps: sdd.Tensor[]) => sdd.optim.Optimizer<{ lr: number }>> = {
  sgd_plain: (ps) => sdd.optim.sgd(ps, { lr: 0.1 }),
  sgd_momentum_wd: (ps) => sdd.optim.sgd(ps, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }),
  sgd_nesterov: (ps) => sdd.optim.sgd(ps, { lr: 0.05, momentum: 0.9, weightDecay: 1e-3, nesterov: true }),
  sgd_dampening: (ps) => sdd.optim.sgd(ps, { lr: 0.05, momentum: 0.8, dampening: 0.3 }),
  adamw: (ps) => sdd.optim.adamw(ps, { lr: 1e-2, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05 }),
};

describe('optimizers match torch.optim', () => {
  for (const c of ref.cases) {
    it(`${c.name}: 5 steps`, () => {
      const ps = c.init.map((d: number[], i: number) => make(d, c.shapes[i]).requiresGrad_());
      const opt = optimizers[c.name]!(ps);
      c.grads.forEach((gs: number[][], step: number) => {
        ps.forEach((p: sdd.Tensor, i: number) => { p.grad = make(gs[i]!, c.shapes[i]); });
        opt.step();
        ps.forEach((p: sdd.Tensor, i: number) => {
          const got = p.detach().toTypedArray() as Float64Array;
          c.params[step][i].forEach((v: number, j: number) => expect(got[j]).toBeCloseTo(v, 12));
        });
      });
    });
  }

  it('resumes from a state dict exactly', () => {
    const c = ref.cases.find((x: { name: string }) => x.name === 'sgd_momentum_wd');
    const ps = c.init.map((d: number[], i: number) => make(d, c.shapes[i]).requiresGrad_());
    const opt = optimizers[c.name]!(ps);
    const setGrads = (step: number) => ps.forEach((p: sdd.Tensor, i: number) => { p.grad = make(c.grads[step][i], c.shapes[i]); });
    setGrads(0); opt.step(); setGrads(1); opt.step();
    const saved = opt.stateDict();
    // a fresh optimizer over copies of the parameters continues identically
    const ps2 = ps.map((p: sdd.Tensor) => p.detach().clone().requiresGrad_());
    const opt2 = optimizers[c.name]!(ps2);
    opt2.loadStateDict(saved);
    for (const [pp, oo] of [[ps, opt], [ps2, opt2]] as const) {
      for (let step = 2; step < 5; step++) {
        (pp as sdd.Tensor[]).forEach((p, i) => { p.grad = make(c.grads[step][i], c.shapes[i]); });
        (oo as sdd.optim.Optimizer<{ lr: number }>).step();
      }
    }
    ps.forEach((p: sdd.Tensor, i: number) => expect(p.detach().equal(ps2[i].detach())).toBe(true));
  });

  it('parameter groups take their own options; bad options are clear errors', () => {
    const a = sdd.ones([2], { requiresGrad: true });
    const b = sdd.ones([2], { requiresGrad: true });
    const opt = sdd.optim.sgd([{ params: [a] }, { params: [b], weightDecay: 0, lr: 1 }], { lr: 0.1, weightDecay: 0.5 });
    a.grad = sdd.zeros([2]); b.grad = sdd.zeros([2]);
    opt.step();
    (a.toArray() as number[]).forEach((v) => expect(v).toBeCloseTo(0.95, 6));
    expect(b.toArray()).toEqual([1, 1]);
    expect(() => sdd.optim.sgd([a], { lr: -1 })).toThrow('Expected a non-negative number for options.lr but received -1 of type number');
    expect(() => sdd.optim.sgd([a], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum > 0/);
    expect(() => sdd.optim.sgd([a], { lr: 0.1, momentun: 0.9 } as never)).toThrow(/Unknown option 'momentun'/);
    expect(() => sdd.optim.sgd([a, a], { lr: 0.1 })).toThrow(/appears in more than one parameter group/);
  });
});

describe('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
  it('scales gradients to the max norm and returns the total norm', () => {
    const c = ref.clip;
    const ps = c.shapes.map((s: number[]) => sdd.zeros(s, { dtype: 'float64', requiresGrad: true }));
    ps.forEach((p: sdd.Tensor, i: number) => { p.grad = make(c.grads[i], c.shapes[i]); });
    const total = sdd.optim.clipGradNorm(ps, c.maxNorm);
    expect(total).toBeCloseTo(c.total, 12);
    ps.forEach((p: sdd.Tensor, i: number) => {
      const g = p.grad!.toTypedArray() as Float64Array;
      c.clipped[i].forEach((v: number, j: number) => expect(g[j]).toBeCloseTo(v, 12));
    });
  });
});

describe('schedules', () => {
  it('multiStep follows the reference (×0.1 after 150, 180, 210)', () => {
    const s = sdd.schedules.multiStep({ milestones: [150, 180, 210], gamma: 0.1 });
    expect(s.lr(1, 0.05)).toBe(0.05);
    expect(s.lr(150, 0.05)).toBe(0.05);
    expect(s.lr(151, 0.05)).toBeCloseTo(0.005, 15);
    expect(s.lr(181, 0.05)).toBeCloseTo(0.0005, 15);
    expect(s.lr(240, 0.05)).toBeCloseTo(0.00005, 15);
  });
  it('cosine, warmup and the loss-weight warmup', () => {
    const c = sdd.schedules.cosine({ epochs: 10 });
    expect(c.lr(1, 1)).toBe(1);
    expect(c.lr(6, 1)).toBeCloseTo(0.5, 12);
    expect(c.lr(11, 1)).toBeCloseTo(0, 12);
    const w = sdd.schedules.linearWarmup({ epochs: 5, then: c });
    expect(w.lr(1, 1)).toBe(0.2);
    expect(w.lr(5, 1)).toBe(1);
    expect(sdd.schedules.lossWarmup(5, 20)).toBe(0.25);
    expect(sdd.schedules.lossWarmup(40, 20)).toBe(1);
  });
});

describe('noDecayGroups', () => {
  it('puts BatchNorm parameters and biases in a group without weight decay', () => {
    const w = sdd.ones([2, 2], { requiresGrad: true });
    const b = sdd.ones([2], { requiresGrad: true });
    const groups = sdd.optim.noDecayGroups([['conv.weight', w], ['bn.bias', b]]);
    expect(groups.length).toBe(2);
    const opt = sdd.optim.sgd(groups, { lr: 0.1, weightDecay: 0.5 });
    w.grad = sdd.zeros([2, 2]); b.grad = sdd.zeros([2]);
    opt.step();
    (w.toArray() as number[][]).flat().forEach((v) => expect(v).toBeCloseTo(0.95, 6));
    expect(b.toArray()).toEqual([1, 1]);
  });
});
