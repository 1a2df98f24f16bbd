// Properties of the SDD losses and pooling that follow from their definitions (sdd-method.md):
// reductions to the vanilla losses, the N·B normalisation, finite-difference gradients, no
// gradient into the teacher, input validation, and direct pooling = adaptive pooling per level.
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';
import { xorshift32 } from './helpers/golden.js';

type Tensor = sdd.Tensor;
type LossFn = (s: Tensor, t: Tensor, y: Tensor, opts?: Record<string, unknown>) => Tensor;

const L = sdd.losses;
const kd: LossFn = (s, t, _y, o) => L.kd(s, t, o);
const dkd: LossFn = (s, t, y, o) => L.dkd(s, t, y, o);
const nkd: LossFn = (s, t, y, o) => L.nkd(s, t, y, o);
const sddKd: LossFn = (s, t, y, o) => L.sddKd(s, t, y, o);
const sddDkd: LossFn = (s, t, y, o) => L.sddDkd(s, t, y, o);
const sddNkd: LossFn = (s, t, y, o) => L.sddNkd(s, t, y, o);

let seed = 12345;
/** Deterministic float64 data in [-4 scale, 4 scale). */
function rnd(n: number, scale = 1): Float64Array {
  seed = (seed * 1103515245 + 12345) >>> 0 || 1;
  return Float64Array.from(xorshift32(seed, n, scale));
}

/** (B, K, N) logits whose teacher has both consistent and complementary region rows. */
function inputs(B: number, K: number, N: number): { s: Float64Array; t: Float64Array; y: number[] } {
  const s = rnd(B * K * N, 1);
  const t = rnd(B * K * N, 1);
  const y = Array.from({ length: B }, (_, b) => (b * 3 + 1) % K);
  // teacher: target logit high on alternate (b + n) so that correctness varies across regions
  for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) t[(b * K + y[b]!) * N + n] = (b + n) % 2 === 0 ? 6 : -6;
  return { s, t, y };
}

function t64(data: Float64Array, shape: number[], requiresGrad = false): Tensor {
  return sdd.tensor(data, { shape, dtype: 'float64', requiresGrad });
}
function targets(y: number[]): Tensor {
  return sdd.tensor(y, { dtype: 'int64' });
}
function value(x: Tensor): number {
  return x.item() as number;
}
/** Region n of B x K x N logits, as B x K (a copy). */
function region(a: Float64Array, B: number, K: number, N: number, n: number): Float64Array {
  const out = new Float64Array(B * K);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) out[b * K + k] = a[(b * K + k) * N + n]!;
  return out;
}
function expectClose(a: number, b: number, tol = 1e-12, what = ''): void {
  if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) expect.fail(`${what}: ${a} vs ${b} (|diff| ${Math.abs(a - b)})`);
}
function expectAllClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number, what = ''): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!))) expect.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

/** Loss value and gradient w.r.t. the student, float64. */
function lossAndGrad(fn: LossFn, s: Float64Array, t: Float64Array, y: number[], shape: number[], opts: Record<string, unknown> = {}):
  { loss: number; grad: Float64Array } {
  return sdd.tidy(() => {
    const st = t64(s, shape, true);
    const loss = fn(st, t64(t, shape), targets(y), opts);
    loss.backward();
    return { loss: value(loss), grad: st.grad!.toTypedArray() as Float64Array };
  });
}

// ------------------------------------------------------------------ reductions to the vanilla losses

describe('SDD losses reduce to the vanilla ones', () => {
  const B = 5, K = 7;
  const { s, t, y } = inputs(B, K, 1);

  it('SD-KD with N = 1 equals KD (value and gradient)', () => {
    for (const T of [1, 2.5, 4]) {
      const a = lossAndGrad(sddKd, s, t, y, [B, K, 1], { temperature: T });
      const b = lossAndGrad(kd, s, t, y, [B, K], { temperature: T });
      expectClose(a.loss, b.loss, 1e-13, `T=${T}`);
      expectAllClose(a.grad, b.grad, 1e-15, 1e-12, `grad T=${T}`);
    }
  });

  it('SD-DKD with N = 1 equals DKD (value and gradient)', () => {
    for (const o of [{}, { alpha: 1, beta: 2, temperature: 1 }, { alpha: 0.5, beta: 6, temperature: 3 }]) {
      const a = lossAndGrad(sddDkd, s, t, y, [B, K, 1], o);
      const b = lossAndGrad(dkd, s, t, y, [B, K], o);
      expectClose(a.loss, b.loss, 1e-13, JSON.stringify(o));
      expectAllClose(a.grad, b.grad, 1e-15, 1e-12, `grad ${JSON.stringify(o)}`);
    }
  });

  it('SD-NKD with N = 1 equals NKD, for the reference default and excludeTarget', () => {
    for (const o of [{ temperature: 4, gamma: 8 }, { temperature: 1, gamma: 1.5 }, { temperature: 2, gamma: 3, excludeTarget: true }]) {
      const a = lossAndGrad(sddNkd, s, t, y, [B, K, 1], o);
      const b = lossAndGrad(nkd, s, t, y, [B, K], o);
      expectClose(a.loss, b.loss, 1e-13, JSON.stringify(o));
      expectAllClose(a.grad, b.grad, 1e-15, 1e-12, `grad ${JSON.stringify(o)}`);
    }
  });

  it('complementaryWeight = 1 is plain multi-scale KD: the mean over regions of per-region KD', () => {
    const N = 5;
    const m = inputs(B, K, N);
    const complementary = sdd.tidy(() =>
      L.sddKd(t64(m.s, [B, K, N]), t64(m.t, [B, K, N]), targets(m.y), { details: true }).complementary);
    expect(complementary, 'the inputs have complementary rows').toBeGreaterThan(0);
    for (const T of [1, 4]) {
      const plain = lossAndGrad(sddKd, m.s, m.t, m.y, [B, K, N], { temperature: T, complementaryWeight: 1 });
      let mean = 0;
      for (let n = 0; n < N; n++) mean += lossAndGrad(kd, region(m.s, B, K, N, n), region(m.t, B, K, N, n), m.y, [B, K], { temperature: T }).loss / N;
      expectClose(plain.loss, mean, 1e-13, `T=${T}`);
      const weighted = lossAndGrad(sddKd, m.s, m.t, m.y, [B, K, N], { temperature: T });
      expect(weighted.loss).toBeGreaterThan(plain.loss);
    }
  });

  it('the loss is sum_r w_r * rowLoss_r / (N*B) with w in {1, complementaryWeight}, region-0 rows weighing 1', () => {
    const N = 5;
    const m = inputs(B, K, N);
    for (const [name, fn] of [['sddKd', sddKd], ['sddDkd', sddDkd], ['sddNkd', sddNkd]] as const) {
      sdd.tidy(() => {
        const r = fn(t64(m.s, [B, K, N]), t64(m.t, [B, K, N]), targets(m.y), { details: true, complementaryWeight: 3 }) as unknown as sdd.losses.LossDetails;
        const w = r.weights.toTypedArray() as Float64Array;
        const rows = r.rowLosses.toTypedArray() as Float64Array;
        expect(w.length).toBe(N * B);
        expect(Array.from(w.slice(0, B))).toEqual(new Array(B).fill(1));
        expect(Array.from(w).every((v) => v === 1 || v === 3), name).toBe(true);
        expect(r.complementary).toBe(Array.from(w).filter((v) => v === 3).length);
        let sum = 0;
        for (let i = 0; i < w.length; i++) sum += w[i]! * rows[i]!;
        expectClose(value(r.loss), sum / (N * B), 1e-13, name);
        expect(r.skipped).toBe(false);
      });
    }
  });

  it("NKD excludeTarget is the paper's variant: target removed from the second term and renormalised", () => {
    const N = 5;
    const m = inputs(B, K, N);
    const T = 2, gamma = 3;
    const logSoftmax = (v: number[], tau: number): number[] => {
      const z = v.map((x) => x / tau);
      const mx = Math.max(...z);
      const lse = mx + Math.log(z.reduce((a, x) => a + Math.exp(x - mx), 0));
      return z.map((x) => x - lse);
    };
    const { weights, loss } = sdd.tidy(() => {
      const r = L.sddNkd(t64(m.s, [B, K, N]), t64(m.t, [B, K, N]), targets(m.y), { temperature: T, gamma, excludeTarget: true, details: true });
      return { weights: r.weights.toTypedArray() as Float64Array, loss: value(r.loss) };
    });
    let want = 0;
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < B; b++) {
        const sv = Array.from({ length: K }, (_, k) => m.s[(b * K + k) * N + n]!);
        const tv = Array.from({ length: K }, (_, k) => m.t[(b * K + k) * N + n]!);
        const yb = m.y[b]!;
        const lossT = -Math.exp(logSoftmax(tv, 1)[yb]!) * logSoftmax(sv, 1)[yb]!;
        const so = logSoftmax(sv.filter((_, k) => k !== yb), T);
        const to = logSoftmax(tv.filter((_, k) => k !== yb), T).map(Math.exp);
        const lossNon = -gamma * T * T * to.reduce((a, p, k) => a + p * so[k]!, 0);
        want += weights[n * B + b]! * (lossT + lossNon);
      }
    }
    expectClose(loss, want / (N * B), 1e-12, 'excludeTarget');
  });
});

// ------------------------------------------------------------------ finite differences

describe('gradients match central finite differences (float64)', () => {
  const B = 2, K = 4, N = 5;
  const cases: [string, LossFn, boolean, Record<string, unknown>][] = [
    ['kd', kd, false, { temperature: 3 }],
    ['dkd', dkd, false, { alpha: 1.5, beta: 4, temperature: 2 }],
    ['nkd', nkd, false, { temperature: 2, gamma: 1.5 }],
    ['nkd excludeTarget', nkd, false, { temperature: 2, gamma: 1.5, excludeTarget: true }],
    ['sddKd', sddKd, true, { temperature: 3 }],
    ['sddDkd', sddDkd, true, { alpha: 1.5, beta: 4, temperature: 2 }],
    ['sddNkd', sddNkd, true, { temperature: 2, gamma: 3 }],
    ['sddNkd excludeTarget', sddNkd, true, { temperature: 2, gamma: 3, excludeTarget: true }],
  ];
  for (const [name, fn, multi, opts] of cases) {
    it(name, () => {
      const m = inputs(B, K, multi ? N : 1);
      const shape = multi ? [B, K, N] : [B, K];
      const { grad } = lossAndGrad(fn, m.s, m.t, m.y, shape, opts);
      const h = 1e-5;
      const fd = new Float64Array(m.s.length);
      sdd.tidy(() => sdd.noGrad(() => {
        const tt = t64(m.t, shape);
        const y = targets(m.y);
        for (let i = 0; i < m.s.length; i++) {
          const p = Float64Array.from(m.s); p[i]! += h;
          const q = Float64Array.from(m.s); q[i]! -= h;
          fd[i] = (value(fn(t64(p, shape), tt, y, opts)) - value(fn(t64(q, shape), tt, y, opts))) / (2 * h);
        }
      }));
      expect(grad.some((g) => Math.abs(g) > 1e-3)).toBe(true);
      expectAllClose(grad, fd, 1e-8, 1e-6, `${name} grad vs finite differences`);
    });
  }
});

// ------------------------------------------------------------------ teacher

describe('no gradient reaches the teacher', () => {
  const B = 3, K = 5, N = 5;
  const all: [string, LossFn, boolean][] = [
    ['kd', kd, false], ['dkd', dkd, false], ['nkd', nkd, false], ['sddKd', sddKd, true], ['sddDkd', sddDkd, true], ['sddNkd', sddNkd, true],
  ];
  for (const [name, fn, multi] of all) {
    it(name, () => {
      const m = inputs(B, K, multi ? N : 1);
      const shape = multi ? [B, K, N] : [B, K];
      sdd.tidy(() => {
        for (const dtype of ['float32', 'float64'] as const) {
          const s = sdd.tensor(m.s, { shape, dtype, requiresGrad: true });
          const t = sdd.tensor(m.t, { shape, dtype, requiresGrad: true });
          const loss = fn(s, t, targets(m.y));
          loss.backward();
          expect(s.grad).not.toBeNull();
          expect(t.grad).toBeNull();
        }
        // a teacher that is itself the output of a graph: nothing flows back through it either
        const leaf = sdd.tensor(m.t, { shape, dtype: 'float64', requiresGrad: true });
        const s = t64(m.s, shape, true);
        fn(s, leaf.mul(2), targets(m.y)).backward();
        expect(leaf.grad).toBeNull();
      });
    });
  }
});

// ------------------------------------------------------------------ input validation

describe('bad inputs are clear errors', () => {
  const B = 2, K = 4, N = 5;
  const m = inputs(B, K, N);
  const S = (): Tensor => t64(m.s, [B, K, N]);
  const T = (): Tensor => t64(m.t, [B, K, N]);
  const Y = (): Tensor => targets(m.y);
  const run = (f: () => unknown): (() => void) => () => { sdd.tidy(() => { f(); }); };

  it('wrong ranks', () => {
    expect(run(() => L.sddKd(t64(m.s.slice(0, B * K), [B, K]), t64(m.t.slice(0, B * K), [B, K]), Y())))
      .toThrow(/losses\.sddKd: studentLogits must have shape \[B, K, N\] but has shape \[2, 4\]/);
    expect(run(() => L.sddDkd(S(), t64(m.t.slice(0, B * K), [B, K]), Y())))
      .toThrow(/losses\.sddDkd: teacherLogits must have shape \[B, K, N\] but has shape \[2, 4\]/);
    expect(run(() => L.kd(S(), T()))).toThrow(/losses\.kd: studentLogits must have shape \[B, K\] but has shape \[2, 4, 5\]/);
    expect(run(() => L.nkd(S(), T(), Y()))).toThrow(/losses\.nkd: studentLogits must have shape \[B, K\]/);
    expect(run(() => L.sddNkd(S(), T(), targets([0, 1, 2, 3]).reshape([2, 2]))))
      .toThrow(/losses\.sddNkd: targets must have shape \[2\] but has shape \[2, 2\]/);
  });

  it('student/teacher shape mismatch', () => {
    const t2 = t64(rnd(B * (K + 1) * N), [B, K + 1, N]);
    for (const fn of [sddKd, sddDkd, sddNkd]) {
      expect(run(() => fn(S(), t2, Y()))).toThrow(/studentLogits \[2, 4, 5\] and teacherLogits \[2, 5, 5\] must have the same shape/);
    }
    expect(run(() => L.kd(t64(m.s.slice(0, 8), [2, 4]), t64(m.t.slice(0, 12), [3, 4]))))
      .toThrow(/losses\.kd: studentLogits \[2, 4\] and teacherLogits \[3, 4\] must have the same shape/);
  });

  it('targets outside [0, K), the wrong length, or not integers', () => {
    expect(run(() => L.sddKd(S(), T(), targets([0, 4])))).toThrow(/losses\.sddKd: targets must lie in \[0, 4\) but range over \[0, 4\]/);
    expect(run(() => L.sddDkd(S(), T(), targets([-1, 2])))).toThrow(/losses\.sddDkd: targets must lie in \[0, 4\) but range over \[-1, 2\]/);
    expect(run(() => L.dkd(t64(m.s.slice(0, 8), [2, 4]), t64(m.t.slice(0, 8), [2, 4]), targets([1, 7]))))
      .toThrow(/losses\.dkd: targets must lie in \[0, 4\)/);
    expect(run(() => L.sddNkd(S(), T(), targets([0, 1, 2])))).toThrow(/losses\.sddNkd: targets must have shape \[2\] but has shape \[3\]/);
    expect(run(() => L.sddKd(S(), T(), sdd.tensor([0, 1], { dtype: 'float32' }))))
      .toThrow(/losses\.sddKd: targets must be an integer tensor \(class indices\), got Float/);
    expect(run(() => L.nkd(t64(m.s.slice(0, 8), [2, 4]), t64(m.t.slice(0, 8), [2, 4]), sdd.tensor([0.5, 1.5]))))
      .toThrow(/losses\.nkd: targets must be an integer tensor/);
  });

  it('N not matching options.scales, empty or non-positive scales', () => {
    expect(run(() => L.sddKd(S(), T(), Y(), { scales: [1, 2, 4] })))
      .toThrow(/losses\.sddKd: the logits have N = 5 regions but scales \[1, 2, 4\] give 21/);
    expect(run(() => L.sddDkd(S(), T(), Y(), { scales: [1] }))).toThrow(/N = 5 regions but scales \[1\] give 1/);
    expect(() => sdd.tidy(() => L.sddKd(S(), T(), Y(), { scales: [1, 2] }))).not.toThrow();
    expect(run(() => L.sddNkd(S(), T(), Y(), { scales: [] })))
      .toThrow(/Expected a non-empty array of positive integers for losses\.sddNkd options\.scales but received an array of length 0/);
    expect(run(() => L.sddKd(S(), T(), Y(), { scales: [0, 1] }))).toThrow(/positive integers for losses\.sddKd options\.scales/);
    expect(run(() => L.sddKd(S(), T(), Y(), { scales: [1, -2] }))).toThrow(/positive integers for losses\.sddKd options\.scales/);
    expect(run(() => L.sddKd(S(), T(), Y(), { scales: [1, 1.5] }))).toThrow(/positive integers for losses\.sddKd options\.scales/);
  });

  it('bad pooling arguments: empty or non-positive scales, a map smaller than the largest scale, wrong rank', () => {
    const x = (H: number, W: number): Tensor => sdd.tensor(rnd(2 * 3 * H * W), { shape: [2, 3, H, W] });
    expect(run(() => sdd.multiScalePool(x(8, 8), { scales: [] })))
      .toThrow(/Expected a non-empty array of positive integers for multiScalePool options\.scales but received an array of length 0/);
    expect(run(() => sdd.multiScalePool(x(8, 8), { scales: [1, 0] }))).toThrow(/positive integers for multiScalePool options\.scales/);
    expect(run(() => sdd.multiScalePool(x(8, 8), { scales: [-1] }))).toThrow(/positive integers for multiScalePool options\.scales/);
    expect(run(() => sdd.multiScalePool(x(3, 8)))).toThrow(/multiScalePool: the feature map is 3x8, smaller than the largest scale 4.*allowReplicate/);
    expect(run(() => sdd.multiScalePool(x(8, 2), { scales: [1, 2, 4] }))).toThrow(/feature map is 8x2, smaller than the largest scale 4/);
    expect(run(() => sdd.scaleLogits(x(5, 5), sdd.ones([7, 3]), null, { scales: [1, 2, 8] })))
      .toThrow(/scaleLogits: the feature map is 5x5, smaller than the largest scale 8/);
    expect(run(() => sdd.multiScalePool(x(2, 2), { allowReplicate: true }))).not.toThrow();
    expect(run(() => sdd.multiScalePool(sdd.ones([2, 3, 8])))).toThrow(/Expected a 4-D tensor \[B, C, H, W\] for features but received .*\[2, 3, 8\]/);
    expect(run(() => sdd.multiScalePool(x(8, 8), { mode: 'nearest' as never }))).toThrow(/'nested' or 'direct' for multiScalePool options\.mode/);
    expect(run(() => sdd.scaleLogits(x(8, 8), sdd.ones([7, 4]), null))).toThrow(/C must equal weight\.shape\[1\]/);
  });

  it('non-finite logits: an error naming the tensor and the first bad index, or a zero with nonFinite: skip', () => {
    const s = Float64Array.from(m.s);
    s[(1 * K + 2) * N + 3] = Infinity;
    s[(1 * K + 3) * N + 0] = NaN;
    expect(run(() => L.sddDkd(t64(s, [B, K, N]), T(), Y())))
      .toThrow(/losses\.sddDkd: studentLogits contains a non-finite value at index \[1, 2, 3\] \(inf\)/);
    const r = sdd.tidy(() => {
      const st = t64(s, [B, K, N], true);
      const d = L.sddKd(st, T(), Y(), { nonFinite: 'skip', details: true });
      return { loss: value(d.loss), skipped: d.skipped, rg: d.loss.requiresGrad };
    });
    expect(r).toEqual({ loss: 0, skipped: true, rg: false });
  });
});

// ------------------------------------------------------------------ pooling

/** Adaptive average pooling of one H x W plane to m x m (PyTorch's windows), in float64. */
function adaptivePool(x: Float64Array, off: number, H: number, W: number, m: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    const h0 = Math.floor((i * H) / m), h1 = Math.ceil(((i + 1) * H) / m);
    for (let j = 0; j < m; j++) {
      const w0 = Math.floor((j * W) / m), w1 = Math.ceil(((j + 1) * W) / m);
      let acc = 0;
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) acc += x[off + h * W + w]!;
      out.push(acc / ((h1 - h0) * (w1 - w0)));
    }
  }
  return out;
}

/** Every level pooled directly from the map, concatenated: B x C x N. */
function directPool(x: Float64Array, B: number, C: number, H: number, W: number, scales: number[]): Float64Array {
  const out: number[] = [];
  for (let bc = 0; bc < B * C; bc++) for (const m of scales) out.push(...adaptivePool(x, bc * H * W, H, W, m));
  return Float64Array.from(out);
}

describe('multiScalePool', () => {
  const B = 2, C = 3;
  for (const [H, W, scales] of [[7, 7, [1, 2, 4]], [8, 8, [1, 2, 4]], [5, 6, [1, 2]], [9, 7, [1, 3]], [6, 6, [2, 3]], [16, 16, [1, 2, 4, 8]]] as const) {
    it(`'direct' mode is adaptive pooling of each level from the map (${H}x${W}, scales [${scales.join(', ')}])`, () => {
      const x = rnd(B * C * H * W, 2);
      const got = sdd.tidy(() => sdd.multiScalePool(sdd.tensor(x, { shape: [B, C, H, W], dtype: 'float64' }), { scales: [...scales], mode: 'direct' })
        .toTypedArray() as Float64Array);
      const N = scales.reduce((a, s) => a + s * s, 0);
      expect(got.length).toBe(B * C * N);
      expectAllClose(got, directPool(x, B, C, H, W, [...scales]), 1e-14, 1e-12, 'direct');
    });
  }

  it("'nested' (default) pools a 4x4 grid and derives the coarser levels from it", () => {
    const H = 7, W = 7;
    const x = rnd(B * C * H * W, 2);
    const got = sdd.tidy(() => sdd.multiScalePool(sdd.tensor(x, { shape: [B, C, H, W], dtype: 'float64' })).toTypedArray() as Float64Array);
    const want: number[] = [];
    for (let bc = 0; bc < B * C; bc++) {
      const grid = Float64Array.from(adaptivePool(x, bc * H * W, H, W, 4));
      want.push(...adaptivePool(grid, 0, 4, 4, 1), ...adaptivePool(grid, 0, 4, 4, 2), ...grid);
    }
    expectAllClose(got, want, 1e-14, 1e-12, 'nested 7x7');
    // overlapping windows: region 0 is a weighted mean, not the plain mean of the map
    const plain = directPool(x, B, C, H, W, [1]);
    expect(Math.max(...Array.from(plain, (v, i) => Math.abs(v - got[i * 21]!)))).toBeGreaterThan(1e-3);
  });

  it("'nested' equals 'direct' when the map is a multiple of every scale", () => {
    for (const [H, scales] of [[8, [1, 2, 4]], [12, [1, 2, 4]], [16, [1, 2, 4, 8]], [9, [1, 3]]] as const) {
      sdd.tidy(() => {
        const x = sdd.tensor(rnd(B * C * H * H), { shape: [B, C, H, H], dtype: 'float64' });
        const a = sdd.multiScalePool(x, { scales: [...scales] }).toTypedArray() as Float64Array;
        const b = sdd.multiScalePool(x, { scales: [...scales], mode: 'direct' }).toTypedArray() as Float64Array;
        expectAllClose(a, b, 1e-14, 1e-12, `H=${H} [${scales.join(', ')}]`);
      });
    }
  });

  it('scaleLogits is the classifier applied to every pooled region (B x K x N)', () => {
    const H = 7, W = 7, K = 6;
    const x = rnd(B * C * H * W, 2);
    const w = rnd(K * C), bias = rnd(K);
    sdd.tidy(() => {
      const xt = sdd.tensor(x, { shape: [B, C, H, W], dtype: 'float64' });
      const wt = sdd.tensor(w, { shape: [K, C], dtype: 'float64' });
      const bt = sdd.tensor(bias, { shape: [K], dtype: 'float64' });
      for (const mode of ['nested', 'direct'] as const) {
        const logits = sdd.scaleLogits(xt, wt, bt, { mode });
        expect(logits.shape).toEqual([B, K, 21]);
        const feat = sdd.multiScalePool(xt, { mode }); // B x C x N
        const want = sdd.matmul(feat.transpose(1, 2), wt.T).add(bt).transpose(1, 2);
        expectAllClose(logits.toTypedArray() as Float64Array, want.contiguous().toTypedArray() as Float64Array, 1e-13, 1e-12, mode);
      }
    });
  });
});
