import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

describe('creation and read-back', () => {
  it('makes tensors from nested arrays, inferring shape and dtype like PyTorch', () => {
    const a = sdd.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('int64');
    expect(a.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const b = sdd.tensor([[1.5, 2], [3, 4]]);
    expect(b.dtype).toBe('float32');
    expect(Array.from(b.toTypedArray() as Float32Array)).toEqual([1.5, 2, 3, 4]);
    const c = sdd.tensor([true, false]);
    expect(c.dtype).toBe('bool');
    expect(c.toArray()).toEqual([true, false]);
  });

  it('makes tensors from typed arrays with a shape, and from scalars', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = sdd.tensor(data, { shape: [3, 2] });
    expect(t.shape).toEqual([3, 2]);
    data[0] = 100; // copied: the tensor does not change
    expect(t.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(sdd.tensor(new Float64Array([1, 2])).dtype).toBe('float64');
    expect(sdd.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(sdd.tensor(new BigInt64Array([1n, 2n])).toTypedArray()).toEqual(new BigInt64Array([1n, 2n]));
    expect(sdd.tensor(new Uint8Array([255])).toArray()).toEqual([255]);
    const s = sdd.tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    expect(sdd.tensor(7).dtype).toBe('int64');
  });

  it('converts between all dtypes', () => {
    const t = sdd.tensor([1.25, -2.5, 3]);
    for (const dtype of sdd.DTYPES) {
      const c = t.to(dtype);
      expect(c.dtype).toBe(dtype);
    }
    expect(t.to('float16').toArray()).toEqual([1.25, -2.5, 3]);
    expect(t.to('bfloat16').toArray()).toEqual([1.25, -2.5, 3]);
    expect(t.to('int32').toArray()).toEqual([1, -2, 3]);
    expect(t.to('bool').toArray()).toEqual([true, true, true]);
    expect(t.to({ dtype: 'float64' }).dtype).toBe('float64');
    expect(t.double().dtype).toBe('float64');
    expect(t.long().dtype).toBe('int64');
  });

  it('has the factories PyTorch users reach for', () => {
    expect(sdd.zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(sdd.ones([2], { dtype: 'int32' }).toArray()).toEqual([1, 1]);
    expect(sdd.full([2], 7).toArray()).toEqual([7, 7]);
    expect(sdd.empty([4, 5]).shape).toEqual([4, 5]);
    expect(sdd.arange(4).toArray()).toEqual([0, 1, 2, 3]);
    expect(sdd.arange(4).dtype).toBe('int64');
    expect(sdd.arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(sdd.linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(sdd.eye(2).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(sdd.eye(2, 3).shape).toEqual([2, 3]);
    const r = sdd.rand([1000]);
    expect(r.min().item()).toBeGreaterThanOrEqual(0);
    expect(r.max().item()).toBeLessThan(1);
    const n = sdd.randn([10000]);
    expect(Math.abs(n.mean().item() as number)).toBeLessThan(0.05);
    expect(Math.abs((n.std().item() as number) - 1)).toBeLessThan(0.05);
    const i = sdd.randint(3, 7, [1000]);
    expect(i.dtype).toBe('int64');
    expect(i.min().item()).toBeGreaterThanOrEqual(3);
    expect(i.max().item()).toBeLessThan(7);
    const like = sdd.zerosLike(sdd.ones([2, 2], { dtype: 'float64' }));
    expect([like.dtype, like.shape]).toEqual(['float64', [2, 2]]);
    expect(sdd.onesLike(i).dtype).toBe('int64');
    expect(sdd.fullLike(r, 2).shape).toEqual([1000]);
    expect(sdd.randnLike(r).shape).toEqual([1000]);
    expect((sdd.randperm(5).toArray() as number[]).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('manualSeed makes random draws reproducible', () => {
    sdd.manualSeed(42);
    const a = sdd.randn([5]).toArray();
    sdd.manualSeed(42);
    const b = sdd.randn([5]).toArray();
    expect(a).toEqual(b);
  });

  it('prints like PyTorch', () => {
    expect(sdd.tensor([[1, 2], [3, 4]]).toString()).toBe('tensor([[1, 2],\n        [3, 4]])');
    expect(sdd.tensor([1.5, 2]).toString()).toBe('tensor([1.5000, 2.0000])');
    expect(sdd.tensor([1, 2], { dtype: 'float64', requiresGrad: true }).toString()).toBe('tensor([1., 2.], dtype=float64, requires_grad=True)');
    expect(sdd.zeros([2000]).toString()).toContain('...');
    expect(sdd.tensor([true, false]).toString()).toBe('tensor([True, False])');
  });
});

describe('operations', () => {
  const a = () => sdd.tensor([[1, 2], [3, 4]], { dtype: 'float32' });

  it('does arithmetic with broadcasting and scalars', () => {
    expect(a().add(sdd.tensor([10, 20], { dtype: 'float32' })).toArray()).toEqual([[11, 22], [13, 24]]);
    expect(a().mul(2).toArray()).toEqual([[2, 4], [6, 8]]);
    expect(a().sub(1).toArray()).toEqual([[0, 1], [2, 3]]);
    expect(a().div(2).toArray()).toEqual([[0.5, 1], [1.5, 2]]);
    expect(a().pow(2).toArray()).toEqual([[1, 4], [9, 16]]);
    expect(a().rsub(10).toArray()).toEqual([[9, 8], [7, 6]]);
    expect(a().neg().abs().toArray()).toEqual([[1, 2], [3, 4]]);
    expect(a().clamp(2, 3).toArray()).toEqual([[2, 2], [3, 3]]);
    expect(a().maximum(sdd.full([2, 2], 2.5)).toArray()).toEqual([[2.5, 2.5], [3, 4]]);
    expect(sdd.tensor([4, 9]).sqrt().toArray()).toEqual([2, 3]);
    expect((sdd.tensor([0]).exp().toArray() as number[])[0]).toBe(1);
    expect(sdd.tensor([-1, 2]).relu().toArray()).toEqual([0, 2]);
    expect(sdd.tensor([5, 7]).remainder(3).toArray()).toEqual([2, 1]);
  });

  it('compares, combines logically and selects with where', () => {
    const t = sdd.tensor([1, 5, 3]);
    expect(t.gt(2).toArray()).toEqual([false, true, true]);
    expect(t.eq(sdd.tensor([1, 0, 3])).toArray()).toEqual([true, false, true]);
    expect(t.gt(2).logicalAnd(t.lt(4)).toArray()).toEqual([false, false, true]);
    expect(t.gt(2).logicalNot().toArray()).toEqual([true, false, false]);
    expect(sdd.where(t.gt(2), t, 0).toArray()).toEqual([0, 5, 3]);
    expect(sdd.where(t.gt(2), 1, t).toArray()).toEqual([1, 1, 1]);
  });

  it('reduces with dims and keepdim', () => {
    const t = sdd.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' });
    expect(t.sum().item()).toBe(21);
    expect(t.sum(0).toArray()).toEqual([5, 7, 9]);
    expect(t.sum(1, true).shape).toEqual([2, 1]);
    expect(t.mean([0, 1]).item()).toBe(3.5);
    expect(t.max().item()).toBe(6);
    const m = t.max(1);
    expect([m.values.toArray(), m.indices.toArray()]).toEqual([[3, 6], [2, 2]]);
    expect(t.min(0).indices.toArray()).toEqual([0, 0, 0]);
    expect(t.argmax().item()).toBe(5);
    expect(t.argmax(0).toArray()).toEqual([1, 1, 1]);
    expect(t.argmin(1).toArray()).toEqual([0, 0]);
    expect(t.prod().item()).toBe(720);
    expect(t.var(1).toArray()).toEqual([1, 1]);
    expect(t.std(1, { unbiased: false }).toArray()[0]).toBeCloseTo(Math.sqrt(2 / 3), 6);
    expect(t.gt(0).all().item()).toBe(true);
    expect(t.gt(5).any().item()).toBe(true);
    expect(sdd.tensor([3, 4], { dtype: 'float32' }).norm().item()).toBe(5);
    expect(sdd.tensor([1, 1], { dtype: 'float32' }).logsumexp(0).item()).toBeCloseTo(1 + Math.log(2), 6);
    expect(sdd.tensor([3, 1, 2]).topk(2).values.toArray()).toEqual([3, 2]);
  });

  it('argmax returns the first maximum on ties', () => {
    expect(sdd.tensor([[1, 3, 3, 0]]).argmax(1).toArray()).toEqual([1]);
  });

  it('does matmul, linear algebra and softmax', () => {
    const x = sdd.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    expect(x.matmul(sdd.eye(2)).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(sdd.matmul(x, x).toArray()).toEqual([[7, 10], [15, 22]]);
    const s = sdd.tensor([[1, 2, 3]], { dtype: 'float64' }).softmax(1).toArray() as number[][];
    const e = [1, 2, 3].map(Math.exp);
    const z = e.reduce((p, q) => p + q);
    s[0]!.forEach((v, i) => expect(v).toBeCloseTo(e[i]! / z, 12));
    const ls = sdd.tensor([[1, 2, 3]], { dtype: 'float64' }).logSoftmax(1).toArray() as number[][];
    ls[0]!.forEach((v, i) => expect(v).toBeCloseTo(Math.log(e[i]! / z), 12));
  });

  it('reshapes, permutes, concatenates and splits', () => {
    const t = sdd.arange(24).reshape([2, 3, 4]);
    expect(t.permute([2, 0, 1]).shape).toEqual([4, 2, 3]);
    expect(t.transpose(0, 2).shape).toEqual([4, 3, 2]);
    expect(t.flatten(1).shape).toEqual([2, 12]);
    expect(t.view([6, 4]).shape).toEqual([6, 4]);
    expect(t.unsqueeze(0).shape).toEqual([1, 2, 3, 4]);
    expect(t.unsqueeze(0).squeeze(0).shape).toEqual([2, 3, 4]);
    expect(sdd.tensor([[1], [2]]).expand([2, 3]).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(t.permute([2, 0, 1]).isContiguous()).toBe(false);
    expect(t.permute([2, 0, 1]).contiguous().isContiguous()).toBe(true);
    expect(sdd.cat([sdd.ones([2]), sdd.zeros([1])]).toArray()).toEqual([1, 1, 0]);
    expect(sdd.stack([sdd.ones([2]), sdd.zeros([2])], 1).shape).toEqual([2, 2]);
    expect(sdd.arange(5).split(2).map((p) => p.toArray())).toEqual([[0, 1], [2, 3], [4]]);
    expect(sdd.arange(5).split([1, 4]).map((p) => p.shape)).toEqual([[1], [4]]);
    expect(sdd.arange(6).chunk(3).length).toBe(3);
    expect(sdd.tensor([1, 2, 3]).flip(0).toArray()).toEqual([3, 2, 1]);
    expect(sdd.tensor([1, 2]).repeat([2]).toArray()).toEqual([1, 2, 1, 2]);
  });

  it('indexes: select, narrow, slice, indexSelect, gather, scatter, masks, oneHot', () => {
    const t = sdd.arange(12).reshape([3, 4]);
    expect(t.select(0, 1).toArray()).toEqual([4, 5, 6, 7]);
    expect(t.narrow(1, 1, 2).toArray()).toEqual([[1, 2], [5, 6], [9, 10]]);
    expect(t.slice(1, 0, undefined, 2).toArray()).toEqual([[0, 2], [4, 6], [8, 10]]);
    expect(t.slice(0, -1).toArray()).toEqual([[8, 9, 10, 11]]);
    expect(t.indexSelect(0, sdd.tensor([2, 0])).toArray()).toEqual([[8, 9, 10, 11], [0, 1, 2, 3]]);
    expect(t.gather(1, sdd.tensor([[0], [1], [3]])).toArray()).toEqual([[0], [5], [11]]);
    expect(sdd.zeros([2, 3]).scatter(1, sdd.tensor([[1], [2]]), 1).toArray()).toEqual([[0, 1, 0], [0, 0, 1]]);
    expect(sdd.zeros([3]).scatterAdd(0, sdd.tensor([0, 0, 2]), sdd.ones([3])).toArray()).toEqual([2, 0, 1]);
    expect(t.maskedFill(t.gt(9), -1).select(0, 2).toArray()).toEqual([8, 9, -1, -1]);
    expect(t.maskedSelect(t.gt(9)).toArray()).toEqual([10, 11]);
    expect(sdd.tensor([0, 2]).oneHot(3).toArray()).toEqual([[1, 0, 0], [0, 0, 1]]);
  });

  it('works in place', () => {
    const t = sdd.zeros([2]);
    t.add_(1).mul_(3).sub_(sdd.ones([2]), 0.5).div_(2);
    expect(t.toArray()).toEqual([1.25, 1.25]);
    t.fill_(7);
    expect(t.toArray()).toEqual([7, 7]);
    t.copy_(sdd.tensor([1, 2], { dtype: 'float32' }));
    expect(t.toArray()).toEqual([1, 2]);
    t.zero_();
    expect(t.toArray()).toEqual([0, 0]);
  });

  it('computes cross-entropy like PyTorch', () => {
    const logits = sdd.tensor([[2, 0, 0], [0, 0, 2]], { dtype: 'float64' });
    const y = sdd.tensor([0, 1]);
    const l = sdd.losses.crossEntropy(logits, y).item() as number;
    const lse = Math.log(Math.exp(2) + 2);
    expect(l).toBeCloseTo(((lse - 2) + lse) / 2, 12);
  });
});

describe('errors are clear JS errors, never crashes', () => {
  it('reports libtorch shape errors without a C++ backtrace', () => {
    expect(() => sdd.ones([2, 3]).matmul(sdd.ones([2, 3]))).toThrow(/^libtorch: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)$/);
    expect(() => sdd.ones([2]).add(sdd.ones([3]))).toThrow(/libtorch: The size of tensor a \(2\) must match the size of tensor b \(3\)/);
  });

  it('reports dtype mismatches and index errors', () => {
    expect(() => sdd.ones([2, 2]).matmul(sdd.ones([2, 2], { dtype: 'float64' }))).toThrow(/libtorch: .*(dtype|Double|Float)/);
    expect(() => sdd.ones([2, 2]).select(0, 5)).toThrow(/libtorch: .*index 5 out of range/);
    expect(() => sdd.ones([3]).indexSelect(0, sdd.tensor([7]))).toThrow(/libtorch: .*(out of range|index)/i);
    expect(() => sdd.ones([2]).item()).toThrow(/item\(\) needs a tensor with exactly one element/);
  });

  it('validates arguments in TS with one message shape', () => {
    expect(() => sdd.zeros([2, -1])).toThrow('Expected an array of non-negative integers for shape but received an array of length 2');
    expect(() => sdd.zeros([2], { dtype: 'float8' as never })).toThrow(/^Expected one of float32, .* for options.dtype but received 'float8' of type string$/);
    expect(() => sdd.zeros([2], { device: 'tpu' as never })).toThrow("Expected 'cpu', 'cuda' or 'cuda:N' for options.device but received 'tpu' of type string");
    expect(() => sdd.ones([2]).sum(1.5)).toThrow('Expected an integer or an array of integers for dim but received 1.5 of type number');
    expect(() => sdd.ones([2]).add('x' as never)).toThrow("Expected a Tensor or a number for other but received 'x' of type string");
    expect(() => sdd.tensor([[1, 2], [3]])).toThrow(/Expected an array of length 2 \(nested arrays must be rectangular\) for data\[1\]/);
    expect(() => sdd.tensor(new Float32Array(6), { shape: [4, 2] })).toThrow(/Expected a shape with 6 elements/);
    expect(() => sdd.zeros([2], { dtpye: 'float32' } as never)).toThrow("Unknown option 'dtpye' in options; expected one of: dtype, device, requiresGrad");
    expect(() => sdd.randint(5, 5, [2])).toThrow(/Expected an integer > low \(5\) for high/);
  });

  it('asks for a CUDA tensor without CUDA clearly', () => {
    if (sdd.cuda.isAvailable()) return;
    expect(() => sdd.zeros([2], { device: 'cuda' })).toThrow(/device 'cuda' was requested but this libtorch has no usable CUDA/);
    expect(() => sdd.zeros([2]).to('cuda:1')).toThrow(/no usable CUDA/);
  });
});

describe('zero-copy views', () => {
  it('toTypedArray({ copy: false }) shares the tensor memory both ways', () => {
    const t = sdd.zeros([4]);
    const view = t.toTypedArray({ copy: false }) as Float32Array;
    view[1] = 5;
    expect(t.toArray()).toEqual([0, 5, 0, 0]);
    t.add_(1);
    expect(Array.from(view)).toEqual([1, 6, 1, 1]);
    // the view keeps the memory alive after the tensor handle is disposed
    t.dispose();
    expect(view[1]).toBe(6);
  });

  it('explains when a view is impossible', () => {
    expect(() => sdd.zeros([4]).half().toTypedArray({ copy: false })).toThrow(/JS has no typed array for Half/);
    expect(() => sdd.zeros([2, 3]).transpose(0, 1).toTypedArray({ copy: false })).toThrow(/needs a contiguous tensor/);
  });
});
