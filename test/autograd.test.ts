import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

describe('autograd', () => {
  it('computes gradients through a small graph', () => {
    const x = sdd.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x).sum(); // d/dx = 2x
    y.backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    expect(x.isLeaf).toBe(true);
    expect(y.isLeaf).toBe(false);
    // gradients accumulate, like PyTorch
    x.mul(3).sum().backward();
    expect(x.grad!.toArray()).toEqual([5, 7, 9]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
  });

  it('takes an explicit gradient for non-scalar outputs and can retain the graph', () => {
    const x = sdd.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(2);
    y.backward(sdd.tensor([1, 10], { dtype: 'float64' }), { retainGraph: true });
    expect(x.grad!.toArray()).toEqual([2, 20]);
    y.backward(sdd.tensor([1, 1], { dtype: 'float64' }));
    expect(x.grad!.toArray()).toEqual([4, 22]);
    expect(() => x.mul(2).backward()).toThrow(/backward\(\) without a gradient needs a scalar/);
  });

  it('backpropagates through matmul, softmax and cross-entropy (checked against finite differences)', () => {
    sdd.manualSeed(0);
    const w = sdd.randn([4, 3], { dtype: 'float64', requiresGrad: true });
    const x = sdd.randn([5, 4], { dtype: 'float64' });
    const y = sdd.tensor([0, 1, 2, 1, 0]);
    const f = () => sdd.losses.crossEntropy(x.matmul(w), y);
    f().backward();
    const g = w.grad!.toTypedArray() as Float64Array;
    const base = w.detach().toTypedArray() as Float64Array;
    const eps = 1e-6;
    for (const i of [0, 5, 11]) {
      const plus = Float64Array.from(base); plus[i]! += eps;
      const minus = Float64Array.from(base); minus[i]! -= eps;
      const lp = sdd.losses.crossEntropy(x.matmul(sdd.tensor(plus, { shape: [4, 3] })), y).item() as number;
      const lm = sdd.losses.crossEntropy(x.matmul(sdd.tensor(minus, { shape: [4, 3] })), y).item() as number;
      expect(g[i]).toBeCloseTo((lp - lm) / (2 * eps), 7);
    }
  });

  it('noGrad, enableGrad and inferenceMode scope gradient recording', () => {
    const x = sdd.ones([2], { requiresGrad: true });
    expect(sdd.isGradEnabled()).toBe(true);
    const a = sdd.noGrad(() => {
      expect(sdd.isGradEnabled()).toBe(false);
      const inner = sdd.enableGrad(() => x.mul(2));
      expect(inner.requiresGrad).toBe(true);
      return x.mul(2);
    });
    expect(a.requiresGrad).toBe(false);
    expect(sdd.isGradEnabled()).toBe(true);
    const b = sdd.inferenceMode(() => x.mul(2));
    expect(b.requiresGrad).toBe(false);
    // the mode is restored when the function throws
    expect(() => sdd.noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(sdd.isGradEnabled()).toBe(true);
    expect(() => sdd.noGrad((async () => 1) as never)).toThrow(/takes a synchronous function/);
    expect(sdd.isGradEnabled()).toBe(true);
  });

  it('detach cuts the graph; backward on a tensor without grad is a clear error', () => {
    const x = sdd.ones([2], { requiresGrad: true });
    expect(x.mul(2).detach().requiresGrad).toBe(false);
    expect(() => sdd.ones([1]).sum().backward()).toThrow(/backward\(\) was called on a tensor that does not require grad/);
    const y = sdd.ones([1]);
    y.requiresGrad = true;
    expect(y.requiresGrad).toBe(true);
    expect(() => { (y as { requiresGrad: unknown }).requiresGrad = 'yes'; }).toThrow(/Expected a boolean for requiresGrad/);
  });
});
