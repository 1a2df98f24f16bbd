// CUDA paths: run where a CUDA libtorch and a GPU exist; elsewhere skipped with a visible reason.
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

const hasCuda = sdd.cuda.isAvailable();
if (!hasCuda) {
  console.warn(`CUDA tests skipped: this libtorch (${sdd.doctor().libtorch.version}, ` +
    `${sdd.doctor().libtorch.builtWithCuda ? 'CUDA build, no GPU visible' : 'CPU-only build'}) has no usable CUDA.`);
}

describe.skipIf(!hasCuda)('CUDA', () => {
  it('creates CUDA tensors and moves data both ways', () => {
    const a = sdd.tensor([1, 2, 3], { dtype: 'float32', device: 'cuda' });
    expect(a.device).toBe('cuda:0');
    const b = sdd.ones([3]).cuda();
    expect(a.add(b).cpu().toArray()).toEqual([2, 3, 4]);
    expect(a.toArray()).toEqual([1, 2, 3]); // read-back copies to the host
    expect(sdd.cuda.deviceCount()).toBeGreaterThan(0);
  });

  it('runs a backward pass on the GPU and matches the CPU', () => {
    sdd.manualSeed(3);
    const wCpu = sdd.randn([16, 8], { dtype: 'float64' });
    const x = sdd.randn([4, 16], { dtype: 'float64' });
    const y = sdd.tensor([0, 1, 2, 3]);
    const run = (device: 'cpu' | 'cuda') => {
      const w = wCpu.to(device).requiresGrad_();
      const loss = sdd.losses.crossEntropy(x.to(device).matmul(w), y.to(device));
      loss.backward();
      return { loss: loss.item() as number, grad: w.grad!.cpu() };
    };
    const c = run('cpu');
    const g = run('cuda');
    expect(g.loss).toBeCloseTo(c.loss, 10);
    expect(g.grad.allclose(c.grad, { rtol: 1e-9, atol: 1e-12 })).toBe(true);
  });

  it('SD-KD on CUDA equals the CPU result', () => {
    sdd.manualSeed(4);
    const s = sdd.randn([8, 10, 21]);
    const t = sdd.randn([8, 10, 21]);
    const y = sdd.randint(0, 10, [8]);
    const cpu = sdd.losses.sddKd(s, t, y).item() as number;
    const gpu = sdd.losses.sddKd(s.cuda(), t.cuda(), y.cuda()).item() as number;
    expect(gpu).toBeCloseTo(cpu, 5);
  });
});
