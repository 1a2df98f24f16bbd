import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

const { nn } = sdd;

const arr = (t: sdd.Tensor): number[] => Array.from(t.toTypedArray() as Float32Array, Number);

function expectClose(actual: number[], expected: number[], atol = 1e-5, rtol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    worst = Math.max(worst, err);
  }
  expect(worst).toBeLessThanOrEqual(atol);
}

// ---------------------------------------------------------------- naive references
type Pad = 'zeros' | 'reflect' | 'replicate' | 'circular';

/** x [N, C, H, W] (flat), padded per side by (ph, pw) in the given mode. */
function pad(x: number[], [N, C, H, W]: number[], ph: number, pw: number, mode: Pad): { data: number[]; shape: number[] } {
  const H2 = H + 2 * ph, W2 = W + 2 * pw;
  const out = new Array<number>(N * C * H2 * W2).fill(0);
  const idx = (i: number, n: number): number | null => {
    if (i >= 0 && i < n) return i;
    if (mode === 'zeros') return null;
    if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
    if (mode === 'circular') return ((i % n) + n) % n;
    return i < 0 ? -i : 2 * (n - 1) - i; // reflect (edge not repeated)
  };
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < H2; i++) for (let j = 0; j < W2; j++) {
    const si = idx(i - ph, H), sj = idx(j - pw, W);
    if (si !== null && sj !== null) out[((n * C + c) * H2 + i) * W2 + j] = x[((n * C + c) * H + si) * W + sj]!;
  }
  return { data: out, shape: [N, C, H2, W2] };
}

function conv(x: number[], xs: number[], w: number[], ws: number[], b: number[] | null,
  { stride = [1, 1], padding = [0, 0], dilation = [1, 1], groups = 1, mode = 'zeros' as Pad } = {}): { data: number[]; shape: number[] } {
  const p = pad(x, xs, padding[0]!, padding[1]!, mode);
  const [N, C, H, W] = p.shape as [number, number, number, number];
  const [O, I, KH, KW] = ws as [number, number, number, number];
  const OH = Math.floor((H - dilation[0]! * (KH - 1) - 1) / stride[0]!) + 1;
  const OW = Math.floor((W - dilation[1]! * (KW - 1) - 1) / stride[1]!) + 1;
  const out: number[] = [];
  const og = O / groups;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = b ? b[o]! : 0;
    const g = Math.floor(o / og);
    for (let ci = 0; ci < I; ci++) for (let u = 0; u < KH; u++) for (let v = 0; v < KW; v++) {
      const c = g * I + ci;
      s += p.data[((n * C + c) * H + i * stride[0]! + u * dilation[0]!) * W + j * stride[1]! + v * dilation[1]!]! * w[((o * I + ci) * KH + u) * KW + v]!;
    }
    out.push(s);
  }
  return { data: out, shape: [N, O, OH, OW] };
}

describe('nn layers against hand computations', () => {
  it('Conv2d: stride, padding, dilation, groups, bias', () => {
    sdd.manualSeed(1);
    const cases = [
      { cin: 2, cout: 4, k: 3, opts: { stride: 2, padding: 1 } },
      { cin: 4, cout: 6, k: [3, 2] as [number, number], opts: { padding: [2, 1] as [number, number], dilation: [2, 1] as [number, number], groups: 2 } },
      { cin: 3, cout: 3, k: 3, opts: { padding: 1, groups: 3, bias: false } },
    ];
    for (const c of cases) {
      const layer = new nn.Conv2d(c.cin, c.cout, c.k, c.opts);
      const x = sdd.randn([2, c.cin, 7, 6]);
      const y = layer.forward(x);
      const o = c.opts as { stride?: number; padding?: number | number[]; dilation?: number[]; groups?: number };
      const ref = conv(arr(x), x.shape, arr(layer.weight), layer.weight.shape, layer.bias ? arr(layer.bias) : null, {
        stride: [o.stride ?? 1, o.stride ?? 1],
        padding: typeof o.padding === 'number' ? [o.padding, o.padding] : (o.padding ?? [0, 0]),
        dilation: o.dilation ?? [1, 1], groups: o.groups ?? 1,
      });
      expect(y.shape).toEqual(ref.shape);
      expectClose(arr(y), ref.data, 1e-5);
    }
  });

  it('Conv2d padding modes: reflect, replicate, circular (as PyTorch: pad, then convolve)', () => {
    sdd.manualSeed(2);
    const x = sdd.randn([1, 2, 5, 4]);
    for (const mode of ['zeros', 'reflect', 'replicate', 'circular'] as const) {
      const layer = new nn.Conv2d(2, 3, 3, { padding: [2, 1], paddingMode: mode });
      const y = layer.forward(x);
      const ref = conv(arr(x), x.shape, arr(layer.weight), layer.weight.shape, arr(layer.bias!), { padding: [2, 1], mode });
      expect(y.shape).toEqual(ref.shape);
      expectClose(arr(y), ref.data, 1e-5);
    }
    expect(new nn.Conv2d(2, 2, 3, { padding: 'same' }).padding).toEqual([1, 1]);
    expect(() => new nn.Conv2d(2, 2, 3, { paddingMode: 'mirror' as never })).toThrow("Expected 'zeros', 'reflect', 'replicate' or 'circular' for paddingMode but received 'mirror' of type string");
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow('inChannels (3) must be divisible by groups (2)');
  });

  it('BatchNorm2d in training: batch statistics, running-stat update (unbiased variance), counter', () => {
    sdd.manualSeed(3);
    const bn = new nn.BatchNorm2d(3);
    sdd.noGrad(() => { bn.weight!.copy_(sdd.tensor([1.5, -0.5, 2])); bn.bias!.copy_(sdd.tensor([0.1, 0.2, -0.3])); });
    const x = sdd.randn([4, 3, 2, 2]).mul(2).add(1);
    const y = bn.forward(x);
    const xs = arr(x);
    const mean: number[] = [], varB: number[] = [], varU: number[] = [];
    for (let c = 0; c < 3; c++) {
      const v: number[] = [];
      for (let n = 0; n < 4; n++) for (let k = 0; k < 4; k++) v.push(xs[(n * 3 + c) * 4 + k]!);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      const ss = v.reduce((a, b) => a + (b - m) ** 2, 0);
      mean.push(m); varB.push(ss / v.length); varU.push(ss / (v.length - 1));
    }
    const w = [1.5, -0.5, 2], b = [0.1, 0.2, -0.3];
    const expected = xs.map((v, i) => { const c = Math.floor(i / 4) % 3; return (v - mean[c]!) / Math.sqrt(varB[c]! + 1e-5) * w[c]! + b[c]!; });
    expectClose(arr(y), expected, 1e-5);
    expectClose(arr(bn.running_mean!), mean.map((m) => 0.1 * m), 1e-6);
    expectClose(arr(bn.running_var!), varU.map((v) => 0.9 + 0.1 * v), 1e-6);
    expect(Number(bn.num_batches_tracked!.item())).toBe(1);

    // eval: the running statistics normalise, nothing is updated
    bn.eval();
    const rm = arr(bn.running_mean!), rv = arr(bn.running_var!);
    const ye = bn.forward(x);
    expectClose(arr(ye), xs.map((v, i) => { const c = Math.floor(i / 4) % 3; return (v - rm[c]!) / Math.sqrt(rv[c]! + 1e-5) * w[c]! + b[c]!; }), 1e-5);
    expect(arr(bn.running_mean!)).toEqual(rm);
    expect(Number(bn.num_batches_tracked!.item())).toBe(1);
  });

  it('BatchNorm momentum null is the cumulative average; no running stats uses batch stats in eval; BatchNorm1d', () => {
    sdd.manualSeed(4);
    const bn = new nn.BatchNorm2d(2, { momentum: null });
    const a = sdd.randn([3, 2, 2, 2]), b = sdd.randn([3, 2, 2, 2]).add(3);
    bn.forward(a);
    bn.forward(b);
    const ma = arr(a.mean([0, 2, 3])), mb = arr(b.mean([0, 2, 3]));
    expectClose(arr(bn.running_mean!), ma.map((v, i) => (v + mb[i]!) / 2), 1e-6);
    expect(Number(bn.num_batches_tracked!.item())).toBe(2);

    const free = new nn.BatchNorm2d(2, { trackRunningStats: false, affine: false }).eval();
    expect(free.running_mean).toBeNull();
    const y = free.forward(b);
    expectClose(arr(y.mean([0, 2, 3])), [0, 0], 1e-6);
    expect(Object.keys(free.stateDict())).toEqual([]);

    const bn1 = new nn.BatchNorm1d(4);
    expect(bn1.forward(sdd.randn([5, 4])).shape).toEqual([5, 4]);
    expect(bn1.forward(sdd.randn([5, 4, 3])).shape).toEqual([5, 4, 3]);
    expect(() => bn1.forward(sdd.randn([5, 4, 3, 2]))).toThrow('BatchNorm1d: expected a 2-D or 3-D input (got 4-D input)');
    expect(() => new nn.BatchNorm2d(4).forward(sdd.randn([5, 4]))).toThrow('BatchNorm2d: expected a 4-D input [N, C, H, W] (got 2-D input)');
  });

  it('pooling, dropout, flatten, channel shuffle, activations', () => {
    const x = sdd.arange(0, 32).reshape([1, 2, 4, 4]).float();
    expect(new nn.MaxPool2d(2).forward(x).toArray()).toEqual([[[[5, 7], [13, 15]], [[21, 23], [29, 31]]]]);
    expect(new nn.AvgPool2d(2).forward(x).toArray()).toEqual([[[[2.5, 4.5], [10.5, 12.5]], [[18.5, 20.5], [26.5, 28.5]]]]);
    // padding counts the zeros (countIncludePad default) as PyTorch: corner = (0 + 1 + 4 + 5) / 9
    const ap = new nn.AvgPool2d(3, { stride: 2, padding: 1 }).forward(x);
    expect((ap.toArray() as number[][][][])[0]![0]![0]![0]).toBeCloseTo(10 / 9, 6);
    expect((new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).forward(x).toArray() as number[][][][])[0]![0]![0]![0]).toBeCloseTo(2.5, 6);
    expect(new nn.AdaptiveAvgPool2d(1).forward(x).flatten().toArray()).toEqual([7.5, 23.5]);
    expect(new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(x).shape).toEqual([1, 2, 2, 2]);
    expect(new nn.Flatten().forward(x).shape).toEqual([1, 32]);
    expect(new nn.Identity().forward(x)).toBe(x);

    // channel shuffle: [N, g, C/g] -> [N, C/g, g]
    const c = sdd.arange(0, 6).float().reshape([1, 6, 1, 1]);
    expect(new nn.ChannelShuffle(3).forward(c).flatten().toArray()).toEqual([0, 2, 4, 1, 3, 5]);
    expect(new nn.ChannelShuffle(2).forward(c).flatten().toArray()).toEqual([0, 3, 1, 4, 2, 5]);
    expect(new nn.ChannelShuffle(2).forward(c.contiguous({ memoryFormat: 'channelsLast' })).flatten().toArray()).toEqual([0, 3, 1, 4, 2, 5]);

    const d = new nn.Dropout(0.5);
    sdd.manualSeed(5);
    const ones = sdd.ones([10000]);
    const dropped = arr(d.forward(ones));
    const kept = dropped.filter((v) => v !== 0);
    expect(kept.every((v) => v === 2)).toBe(true);
    expect(Math.abs(kept.length / 10000 - 0.5)).toBeLessThan(0.03);
    d.eval();
    expect(arr(d.forward(ones)).every((v) => v === 1)).toBe(true);

    const v = sdd.tensor([-2, -0.5, 0, 3, 7]);
    expect(new nn.ReLU().forward(v).toArray()).toEqual([0, 0, 0, 3, 7]);
    expect(new nn.ReLU6().forward(v).toArray()).toEqual([0, 0, 0, 3, 6]);
    expectClose(arr(new nn.LeakyReLU(0.1).forward(v)), [-0.2, -0.05, 0, 3, 7], 1e-7);
    expectClose(arr(new nn.Sigmoid().forward(v)), [-2, -0.5, 0, 3, 7].map((t) => 1 / (1 + Math.exp(-t))), 1e-6);
    expectClose(arr(new nn.Tanh().forward(v)), [-2, -0.5, 0, 3, 7].map(Math.tanh), 1e-6);
  });

  it('Linear matches x W^T + b and PyTorch default init bounds', () => {
    sdd.manualSeed(6);
    const l = new nn.Linear(5, 3);
    const bound = 1 / Math.sqrt(5);
    expect(arr(l.weight).every((w) => Math.abs(w) <= bound)).toBe(true);
    const x = sdd.randn([2, 5]);
    expectClose(arr(l.forward(x)), arr(x.matmul(l.weight.transpose(0, 1)).add(l.bias!)), 1e-6);
    expect(new nn.Linear(5, 3, { bias: false }).bias).toBeNull();
  });

  it('initialisers: kaiming normal fan_out/relu, constants, without recording gradients', () => {
    sdd.manualSeed(7);
    const w = new nn.Conv2d(64, 128, 3).weight;
    nn.init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
    const std = Math.sqrt(arr(w.square().mean())[0]!);
    expect(std).toBeCloseTo(Math.sqrt(2 / (128 * 9)), 3);
    expect(w.isLeaf).toBe(true);
    expect(w.grad).toBeNull();
    nn.init.constant_(w, 0.25);
    expect(arr(w).every((v) => v === 0.25)).toBe(true);
    expect(nn.init.calculateFanInAndFanOut(w)).toEqual({ fanIn: 64 * 9, fanOut: 128 * 9 });
    expect(nn.init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
  });

  it('functional forms match the layers; foldBatchNorm equals conv then eval BN', () => {
    sdd.manualSeed(8);
    const c = new nn.Conv2d(3, 4, 3, { padding: 1, stride: 2 });
    const x = sdd.randn([2, 3, 6, 6]);
    expectClose(arr(nn.functional.conv2d(x, c.weight, c.bias, { padding: 1, stride: 2 })), arr(c.forward(x)), 1e-6);
    const bn = new nn.BatchNorm2d(4);
    bn.forward(c.forward(x).detach());
    bn.eval();
    const [w, b] = nn.functional.foldBatchNorm(c.weight, c.bias, { weight: bn.weight, bias: bn.bias, runningMean: bn.running_mean!, runningVar: bn.running_var!, eps: bn.eps });
    expectClose(arr(nn.functional.conv2d(x, w, b, { padding: 1, stride: 2 })), arr(bn.forward(c.forward(x))), 1e-5);
  });
});

class TinyNet extends nn.Module {
  stem = new nn.Conv2d(3, 4, 3, { padding: 1, bias: false });
  bn = new nn.BatchNorm2d(4);
  head: sdd.nn.Linear;
  scale: sdd.nn.Parameter;
  constructor() {
    super();
    this.head = new nn.Linear(4, 2);
    this.scale = new nn.Parameter(sdd.ones([1]));
    this.registerBuffer('steps', sdd.zeros([1]));
    this.registerBuffer('scratch', sdd.zeros([2]), { persistent: false });
    this.registerConvBn(this.stem, this.bn);
  }
  override forward(x: sdd.Tensor): sdd.Tensor {
    const h = this.stem.forwardFused(x, { bn: this.bn, activation: 'relu' });
    return this.head.forward(h.mean([2, 3])).mul(this.scale);
  }
}

describe('nn.Module', () => {
  it('discovers members by assignment and registration, in PyTorch state-dict order', () => {
    const net = new TinyNet();
    expect(net.namedParameters().map(([n]) => n)).toEqual(['scale', 'stem.weight', 'bn.weight', 'bn.bias', 'head.weight', 'head.bias']);
    expect(Object.keys(net.stateDict())).toEqual([
      'scale', 'steps', 'stem.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked', 'head.weight', 'head.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['steps', 'scratch', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['stem', 'bn', 'head']);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'stem', 'bn', 'head']);
    expect(net.numParameters()).toBe(1 + 4 * 27 + 8 + 10);
    expect(net.stateDict()['bn.num_batches_tracked']!.dtype).toBe('int64');
    expect(String(net)).toContain('(stem): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)');
  });

  it('trains a user subclass: forward, backward, zeroGrad, train/eval recursion', () => {
    sdd.manualSeed(9);
    const net = new TinyNet();
    const y = net.forward(sdd.randn([2, 3, 5, 5]));
    y.sum().backward();
    for (const p of net.parameters()) expect(p.grad?.shape).toEqual(p.shape);
    net.zeroGrad();
    for (const p of net.parameters()) expect(p.grad).toBeNull();
    expect(Number(net.bn.num_batches_tracked!.item())).toBe(1);
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.bn.training).toBe(true);
  });

  it('to(dtype) and toChannelsLast keep the Parameter objects (optimizers still hold them)', () => {
    const net = new TinyNet();
    const w = net.stem.weight;
    net.to('float64');
    expect(net.stem.weight).toBe(w);
    expect(w.dtype).toBe('float64');
    expect(w.requiresGrad).toBe(true);
    expect(net.bn.num_batches_tracked!.dtype).toBe('int64');
    expect(net.forward(sdd.randn([1, 3, 4, 4], { dtype: 'float64' })).dtype).toBe('float64');
    net.to('float32').toChannelsLast();
    expect(net.memoryFormat).toBe('channelsLast');
    expect(w.isContiguous()).toBe(false); // NHWC strides now
    expect(net.forward(sdd.randn([1, 3, 4, 4])).shape).toEqual([1, 2]);
    expect(() => net.to('int64')).toThrow('Expected a floating dtype (float32, float64, float16, bfloat16) for dtype');
  });

  it('loadStateDict copies values, and reports missing, unexpected and mis-shaped keys in one error', () => {
    sdd.manualSeed(10);
    const a = new TinyNet();
    const b = new TinyNet();
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(arr(b.stem.weight)).toEqual(arr(a.stem.weight));

    const sd = a.stateDict();
    delete sd['head.bias'];
    delete sd['steps'];
    sd['extra.weight'] = sdd.zeros([1]);
    sd['head.weight'] = sdd.zeros([3, 4]);
    let err: unknown;
    try { b.loadStateDict(sd); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(nn.StateDictError);
    const e = err as InstanceType<typeof nn.StateDictError>;
    expect(e.missingKeys).toEqual(['steps', 'head.bias']);
    expect(e.unexpectedKeys).toEqual(['extra.weight']);
    expect(e.mismatchedKeys).toEqual([{ key: 'head.weight', expected: [2, 4], received: [3, 4] }]);
    expect(e.message).toBe([
      'Error(s) in loading state dict for TinyNet:',
      '  missing keys (2): "steps", "head.bias"',
      '  unexpected keys (1): "extra.weight"',
      '  shape mismatch (1): "head.weight": checkpoint [3, 4] vs model [2, 4]',
    ].join('\n'));
    // nothing was copied by the failed call
    expect(arr(b.head.weight)).toEqual(arr(a.head.weight));

    // non-strict: missing/unexpected are returned, shapes must still fit
    sd['head.weight'] = sdd.ones([2, 4]);
    expect(b.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['steps', 'head.bias'], unexpectedKeys: ['extra.weight'] });
    expect(arr(b.head.weight)).toEqual(Array(8).fill(1));

    // DataParallel prefixes: a hint, and stripPrefix
    const wrapped = Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [`module.${k}`, v]));
    expect(() => b.loadStateDict(wrapped)).toThrow("every checkpoint key starts with 'module.' (saved from DataParallel): pass { stripPrefix: 'module.' }");
    expect(b.loadStateDict(wrapped, { stripPrefix: 'module.' }).missingKeys).toEqual([]);

    // a checkpoint from before num_batches_tracked existed loads (the counters stay 0)
    const legacy = a.stateDict();
    delete legacy['bn.num_batches_tracked'];
    expect(b.loadStateDict(legacy).missingKeys).toEqual([]);
    expect(() => b.loadStateDict({ x: 1 } as never)).toThrow('Expected a Tensor for stateDict["x"] but received 1 of type number');
  });

  it('Sequential fuses conv -> BN -> ReLU into one call with the same result and BN updates', () => {
    sdd.manualSeed(11);
    const seq = new nn.Sequential(new nn.Conv2d(3, 5, 3, { padding: 1 }), new nn.BatchNorm2d(5), new nn.ReLU(), new nn.MaxPool2d(2));
    const [conv, bn] = [seq.at(0) as InstanceType<typeof nn.Conv2d>, seq.at(1) as InstanceType<typeof nn.BatchNorm2d>];
    const ref = new nn.BatchNorm2d(5);
    const x = sdd.randn([2, 3, 6, 6]);
    const expected = new nn.MaxPool2d(2).forward(ref.forward(conv.forward(x)).relu());
    const y = seq.forward(x) as sdd.Tensor;
    expectClose(arr(y), arr(expected), 1e-6);
    expectClose(arr(bn.running_var!), arr(ref.running_var!), 1e-7);
    expect(seq.length).toBe(4);
    expect(seq.at(-1)).toBeInstanceOf(nn.MaxPool2d);
    const list = new nn.ModuleList([new nn.ReLU(), new nn.Linear(2, 2)]);
    expect(Object.keys(list.stateDict())).toEqual(['1.weight', '1.bias']);
    const dict = new nn.ModuleDict({ a: new nn.Linear(1, 1), b: new nn.Linear(1, 2) });
    expect(Object.keys(dict.stateDict())).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias']);
    expect(dict.keys()).toEqual(['a', 'b']);
  });

  it('freeze(): eval, no grad, BN folded (same outputs), train() refused, unfreeze() restores', () => {
    sdd.manualSeed(12);
    const net = new TinyNet();
    net.forward(sdd.randn([4, 3, 5, 5]));
    net.eval();
    const x = sdd.randn([2, 3, 5, 5]);
    const before = arr(net.forward(x));
    const sdBefore = Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, arr(v.float())]));
    net.freeze();
    expect(net.parameters().every((p) => !p.requiresGrad)).toBe(true);
    expect(net.bn._foldedInto).toBe(net.stem);
    expectClose(arr(net.forward(x)), before, 1e-5);
    expect(Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, arr(v.float())]))).toEqual(sdBefore);
    expect(() => net.train()).toThrow('TinyNet is frozen (freeze()): a frozen teacher stays in eval mode. Call unfreeze() first to train it.');
    expect(() => net.to('float64')).toThrow('call to() / toChannelsLast() before freeze()');
    expect(() => net.freeze({ dtype: 'float16' })).toThrow("libtorch has no float16 convolutions on the CPU; use 'bfloat16'");
    net.unfreeze();
    expect(net.bn._foldedInto).toBeNull();
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expectClose(arr(net.forward(x)), before, 1e-6);
    net.train();
  });

  it('leaks no tensors: a forward inside tidy frees everything but the result', () => {
    const net = new TinyNet();
    const x = sdd.randn([2, 3, 5, 5]);
    sdd.tidy(() => net.forward(x)).dispose();
    const before = sdd.memory().liveTensors;
    for (let i = 0; i < 5; i++) sdd.tidy(() => { net.forward(x).sum().backward(); });
    net.zeroGrad();
    expect(sdd.memory().liveTensors).toBeLessThanOrEqual(before); // a leak adds; the GC safety net may free older garbage meanwhile
  });
});
