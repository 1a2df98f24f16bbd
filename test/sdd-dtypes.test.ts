// SDD losses and head in half precision: computed in float32 inside, gradients in the input dtype.
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

describe.each(['float16', 'bfloat16'] as const)('%s inputs', (dtype) => {
  it('sddKd / sddDkd / sddNkd stay close to float32 and return gradients in the input dtype', () => {
    sdd.manualSeed(7);
    const s32 = sdd.randn([8, 10, 21]);
    const t32 = sdd.randn([8, 10, 21]).mul(2);
    const y = sdd.randint(0, 10, [8]);
    for (const loss of ['sddKd', 'sddDkd', 'sddNkd'] as const) {
      const ref = sdd.losses[loss](s32, t32, y).item() as number;
      const s = s32.to(dtype).requiresGrad_();
      const l = sdd.losses[loss](s, t32.to(dtype), y);
      expect(l.dtype).toBe(dtype);
      const v = l.item() as number;
      expect(Math.abs(v - ref) / Math.max(1, Math.abs(ref))).toBeLessThan(dtype === 'bfloat16' ? 3e-2 : 5e-3);
      l.backward();
      expect(s.grad!.dtype).toBe(dtype);
      expect(s.grad!.isfinite().all().item()).toBe(true);
    }
  });

  it('scaleLogits works in the input dtype', () => {
    const f = sdd.randn([2, 8, 8, 8]);
    const w = sdd.randn([5, 8]);
    const b = sdd.randn([5]);
    const ref = sdd.scaleLogits(f, w, b);
    const half = sdd.scaleLogits(f.to(dtype), w.to(dtype), b.to(dtype));
    expect(half.dtype).toBe(dtype);
    expect(half.float().sub(ref).abs().max().item()).toBeLessThan(dtype === 'bfloat16' ? 0.2 : 0.02);
  });
});
