// Our SDD pooling and losses against the authors' own PyTorch code (vendored in test/fixtures/golden,
// see its README.md): every case, every hyper-parameter set, float32 (vs `loss`, `grad` or
// `grad_checksum`) and float64 (vs `loss_f64`, `grad_f64_checksum`), SDD row weights, and the
// non-finite edge cases. The vendored data must be there: without it this file fails.
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as sdd from '../lib/index.js';
import { repoRelative } from './helpers/fixtures.js';
import {
  ErrorLog, GOLDEN_DIR, evalLabel, f32, firstNonFinite, hasNonFinite, multiInputs, num, resultOf, tryLoadAll,
  type Checksum, type GlobalCase, type GoldenDoc, type GoldenEval, type GoldenResult, type MultiCase, type MultiInputs,
  type SppCase,
} from './helpers/golden.js';

// ------------------------------------------------------------------ tolerances (README.md)
const LOSS_ATOL = 1e-6;
const LOSS_RTOL = 1e-5;
const GRAD_ATOL = 1e-6;
const GRAD_RTOL = 1e-4;
// float64 against the float64 reference: both compute the same formulas in double; what is left
// is the order of summation and log-space vs log-of-probability (DKD).
const F64_LOSS_RTOL = 1e-10;
const F64_GRAD_ATOL = 1e-12;
const F64_GRAD_RTOL = 1e-8;
// multi-scale pooling / the classifier head (float32 means and a GEMM in a different order)
const POOL_ATOL = 1e-6;
const POOL_RTOL = 1e-5;

const { docs, error: loadError } = tryLoadAll();
const log = new ErrorLog();

afterAll(() => {
  if (log.max.size > 0) console.log(`golden: largest deviations observed\n${log.report()}`);
});

describe('golden reference data', () => {
  it(`is present in ${repoRelative(GOLDEN_DIR)}`, () => {
    if (loadError) throw loadError;
    for (const f of ['spp', 'kd', 'dkd', 'nkd', 'sdd_kd', 'sdd_dkd', 'sdd_nkd'] as const) {
      expect((docs[f] as GoldenDoc<unknown>).cases.length, `${f}.json has cases`).toBeGreaterThan(0);
    }
  });
});

// ------------------------------------------------------------------ comparison helpers

/** |a - b| <= atol + rtol |b|; NaN only matches NaN. Returns the worst excess (<= 0 is a pass). */
function excess(a: number, b: number, atol: number, rtol: number): number {
  if (Number.isNaN(b) || Number.isNaN(a)) return Number.isNaN(a) && Number.isNaN(b) ? -Infinity : Infinity;
  if (!Number.isFinite(b) || !Number.isFinite(a)) return a === b ? -Infinity : Infinity;
  return Math.abs(a - b) - (atol + rtol * Math.abs(b));
}

function expectScalar(what: string, ours: number, ref: number, atol: number, rtol: number, kind: string): void {
  const err = Math.abs(ours - ref);
  log.note(`${kind} abs`, err, what);
  if (kind.endsWith('loss')) log.note(`${kind} rel`, err / Math.max(Math.abs(ref), 1e-30), what);
  if (!(excess(ours, ref, atol, rtol) <= 0)) {
    expect.fail(`${what}: ${ours} vs reference ${ref} (|diff| ${err.toExponential(3)} > ${atol} + ${rtol}*|ref|)`);
  }
}

function expectArray(what: string, ours: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number, kind: string): void {
  expect(ours.length, `${what}: element count`).toBe(ref.length);
  let worst = -Infinity;
  let at = -1;
  let maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = excess(ours[i]!, ref[i]!, atol, rtol);
    if (Number.isFinite(ref[i]!)) maxAbs = Math.max(maxAbs, Math.abs(ours[i]! - ref[i]!));
    if (e > worst) { worst = e; at = i; }
  }
  log.note(`${kind} abs`, maxAbs, what);
  if (!(worst <= 0)) {
    expect.fail(`${what}: element ${at} is ${ours[at]} vs reference ${ref[at]} (max |diff| ${maxAbs.toExponential(3)}; ` +
      `tolerance ${atol} + ${rtol}*|ref|)`);
  }
}

// The sampled `values` of every checksum are stored as float32 (README), also in grad_f64_checksum.
const F32_ROUNDING = 2 ** -23;

/** Checks a gradient against a stored checksum: the sampled values, the sum, sum of squares and of |g|. */
function expectChecksum(what: string, g: ArrayLike<number>, ck: Checksum, atol: number, rtol: number, kind: string): void {
  expect(g.length, `${what}: numel`).toBe(ck.numel);
  expectArray(`${what} sampled values`, ck.indices.map((i) => g[i]!), ck.values.map(num), atol, Math.max(rtol, F32_ROUNDING), kind);
  let s = 0;
  let s2 = 0;
  let sa = 0;
  for (let i = 0; i < g.length; i++) { s += g[i]!; s2 += g[i]! * g[i]!; sa += Math.abs(g[i]!); }
  // (the sum of a softmax gradient is ~0 by construction, so this is in effect an atol check)
  expectScalar(`${what} sum`, s, ck.sum, atol, rtol, `${kind} checksum-sum`);
  expectScalar(`${what} sum_sq`, s2, ck.sum_sq, 0, 2 * rtol, `${kind} checksum-sum_sq`);
  if (ck.sum_abs !== undefined) expectScalar(`${what} sum_abs`, sa, ck.sum_abs, atol, rtol, `${kind} checksum-sum_abs`);
}

// ------------------------------------------------------------------ running our losses

type Family = 'kd' | 'dkd' | 'nkd' | 'sdd_kd' | 'sdd_dkd' | 'sdd_nkd';
type Dtype = 'float32' | 'float64';

function lossOptions(fam: Family, e: GoldenEval): Record<string, unknown> {
  if (fam === 'kd' || fam === 'sdd_kd') return { temperature: e.T };
  if (fam === 'dkd' || fam === 'sdd_dkd') return { alpha: e.alpha, beta: e.beta, temperature: e.T };
  return { temperature: e.temp, gamma: e.gamma };
}

function callLoss(fam: Family, s: sdd.Tensor, t: sdd.Tensor, y: sdd.Tensor, opts: Record<string, unknown>): unknown {
  switch (fam) {
    case 'kd': return sdd.losses.kd(s, t, opts);
    case 'dkd': return sdd.losses.dkd(s, t, y, opts);
    case 'nkd': return sdd.losses.nkd(s, t, y, opts);
    case 'sdd_kd': return sdd.losses.sddKd(s, t, y, opts);
    case 'sdd_dkd': return sdd.losses.sddDkd(s, t, y, opts);
    case 'sdd_nkd': return sdd.losses.sddNkd(s, t, y, opts);
  }
}

interface Outcome { loss: number; lossShape: number[]; lossDtype: string; grad: Float64Array }

function evaluate(fam: Family, s: Float32Array, t: Float32Array, shape: number[], target: number[], opts: Record<string, unknown>,
  dtype: Dtype): Outcome {
  return sdd.tidy(() => {
    const st = sdd.tensor(s, { shape, dtype, requiresGrad: true });
    const tt = sdd.tensor(t, { shape, dtype });
    const y = sdd.tensor(target, { dtype: 'int64' });
    const loss = callLoss(fam, st, tt, y, opts) as sdd.Tensor;
    loss.backward();
    const g = st.grad;
    expect(g, 'the student logits receive a gradient').not.toBeNull();
    return {
      loss: loss.item() as number, lossShape: loss.shape, lossDtype: loss.dtype,
      grad: Float64Array.from(g!.toTypedArray() as Float32Array | Float64Array),
    };
  });
}

interface CaseData { s: Float32Array; t: Float32Array; shape: number[]; target: number[]; multi?: MultiInputs }

const dataCache = new Map<string, CaseData>();
function caseData(fam: Family, c: MultiCase | GlobalCase): CaseData {
  const key = `${fam}/${c.id}`;
  let d = dataCache.get(key);
  if (d === undefined) {
    if ('logits_student' in c) {
      d = { s: f32(c.logits_student), t: f32(c.logits_teacher), shape: c.logits_student.shape, target: c.target };
    } else {
      const m = multiInputs(c);
      d = { s: m.s, t: m.t, shape: m.shape, target: c.target, multi: m };
    }
    dataCache.set(key, d);
  }
  return d;
}

function withScales(fam: Family, c: MultiCase | GlobalCase, opts: Record<string, unknown>): Record<string, unknown> {
  return 'M' in c ? { ...opts, scales: JSON.parse(c.M) as number[] } : opts;
}

const FN_NAME: Record<Family, string> = {
  kd: 'losses.kd', dkd: 'losses.dkd', nkd: 'losses.nkd', sdd_kd: 'losses.sddKd', sdd_dkd: 'losses.sddDkd', sdd_nkd: 'losses.sddNkd',
};

// ------------------------------------------------------------------ the loss files

function lossSuite(fam: Family): void {
  const doc = docs[fam] as GoldenDoc<MultiCase | GlobalCase> | undefined;
  if (doc === undefined) return;
  describe(`${fam}.json`, () => {
    for (const c of doc.cases) {
      describe(c.id, () => {
        if ('inputs_stored' in c && !c.inputs_stored) {
          it('regenerated xorshift32 inputs match the stored checksums', () => {
            const m = caseData(fam, c).multi!;
            expect(m.checks.length).toBe(2);
            for (const ck of m.checks) expect(ck.ok, ck.detail).toBe(true);
          });
        }
        const nonFinite = (): boolean => { const d = caseData(fam, c); return hasNonFinite(d.s) || hasNonFinite(d.t); };

        if ('row_weight' in c) {
          it('row weights (details: true) equal row_weight', () => {
            const d = caseData(fam, c);
            const fin = !nonFinite();
            sdd.tidy(() => {
              const opts = { ...withScales(fam, c, lossOptions(fam, c.evals[0]!)), details: true, ...(fin ? {} : { nonFinite: 'skip' }) };
              const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
              let r: sdd.losses.LossDetails;
              try {
                r = callLoss(fam, sdd.tensor(d.s, { shape: d.shape }), sdd.tensor(d.t, { shape: d.shape }),
                  sdd.tensor(d.target, { dtype: 'int64' }), opts) as sdd.losses.LossDetails;
              } finally { warn.mockRestore(); }
              expect(r.weights.shape).toEqual([c.N * c.B]);
              expect(Array.from(r.weights.toTypedArray() as Float32Array)).toEqual(c.row_weight);
              expect(r.complementary).toBe(c.row_weight.filter((w) => w !== 1).length);
              expect(r.rowLosses.shape).toEqual([c.N * c.B]);
            });
          });
        }

        for (const e of c.evals) {
          const ref: GoldenResult = resultOf(e);
          const label = evalLabel(e);
          if (nonFiniteCase(fam, c)) {
            nonFiniteTests(fam, c, e, ref, label);
            continue;
          }
          it(`${label}: float32 loss and gradient`, () => {
            const d = caseData(fam, c);
            for (const ck of d.multi?.checks ?? []) expect(ck.ok, `regenerated input ${ck.detail}`).toBe(true);
            expect(ref.fallback_zero).toBe(false);
            const out = evaluate(fam, d.s, d.t, d.shape, d.target, withScales(fam, c, lossOptions(fam, e)), 'float32');
            expect(out.lossShape).toEqual([]);
            expect(out.lossDtype).toBe('float32');
            const where = `${fam}/${c.id} ${label}`;
            expectScalar(`${where} loss`, out.loss, num(ref.loss), LOSS_ATOL, LOSS_RTOL, 'f32 loss');
            if (ref.grad) {
              expect(ref.grad.shape).toEqual(d.shape);
              expectArray(`${where} grad`, out.grad, f32(ref.grad), GRAD_ATOL, GRAD_RTOL, 'f32 grad');
            } else {
              expect(ref.grad_checksum, `${where}: a full gradient or a checksum is stored`).toBeDefined();
              expectChecksum(`${where} grad checksum`, out.grad, ref.grad_checksum!, GRAD_ATOL, GRAD_RTOL, 'f32 grad');
            }
          });
          it(`${label}: float64 loss and gradient`, () => {
            const d = caseData(fam, c);
            const out = evaluate(fam, d.s, d.t, d.shape, d.target, withScales(fam, c, lossOptions(fam, e)), 'float64');
            expect(out.lossDtype).toBe('float64');
            const where = `${fam}/${c.id} ${label} (f64)`;
            expectScalar(`${where} loss`, out.loss, num(ref.loss_f64), 0, F64_LOSS_RTOL, 'f64 loss');
            // the float64 gradient against the float32 reference gradient (the f32 tolerance) ...
            if (ref.grad) expectArray(`${where} grad vs f32 reference`, out.grad, f32(ref.grad), GRAD_ATOL, GRAD_RTOL, 'f64 grad vs f32 ref');
            // ... and against the float64 reference checksum where one is stored (tight)
            if (ref.grad_f64_checksum) {
              expectChecksum(`${where} grad f64 checksum`, out.grad, ref.grad_f64_checksum, F64_GRAD_ATOL, F64_GRAD_RTOL, 'f64 grad');
            }
            if (e.equals_kd_loss_f64 !== undefined || e.equals_dkd_loss_origin_f64 !== undefined) {
              // N = 1: the SDD loss is the vanilla loss on the global logits
              const vanilla: Family = fam === 'sdd_kd' ? 'kd' : 'dkd';
              const g = evaluate(vanilla, d.s, d.t, [c.B, c.K], d.target, lossOptions(vanilla, e), 'float64');
              expectScalar(`${where} vanilla ${vanilla}`, g.loss, (e.equals_kd_loss_f64 ?? e.equals_dkd_loss_origin_f64)!, 0,
                F64_LOSS_RTOL, 'f64 loss');
            }
          });
        }
      });
    }
  });
}

/** Per row r = n*B + b (or b for B x K logits): whether its student or teacher logits hold a non-finite value. */
function badRowMask(d: CaseData): boolean[] {
  const [B, K, N = 1] = d.shape as [number, number, number?];
  const mask = new Array<boolean>(N * B).fill(false);
  for (let i = 0; i < d.s.length; i++) {
    if (Number.isFinite(d.s[i]!) && Number.isFinite(d.t[i]!)) continue;
    const n = i % N;
    const b = Math.floor(i / (K * N));
    mask[n * B + b] = true;
  }
  return mask;
}

function nonFiniteCase(fam: Family, c: MultiCase | GlobalCase): boolean {
  const d = caseData(fam, c);
  return hasNonFinite(d.s) || hasNonFinite(d.t);
}

/**
 * Cases with NaN/Inf inputs. The reference either fell back to a graph-less zeros(1) after printing
 * "inf" (fallback_zero), or — sdd_kd_loss, which zeroes NaN KL terms — returned a finite loss whose
 * gradient is NaN on the affected student row. Ours: an error by default naming the tensor and the
 * first bad index; with nonFinite: 'skip' a graph-less zero and `skipped: true` in both situations
 * (we do not reproduce the finite value: its NaN gradient would poison the optimizer step).
 */
function nonFiniteTests(fam: Family, c: MultiCase | GlobalCase, e: GoldenEval, ref: GoldenResult, label: string): void {
  const fn = FN_NAME[fam];
  it(`${label}: non-finite input is an error by default, naming the tensor and the first bad index`, () => {
    const d = caseData(fam, c);
    const badS = firstNonFinite(d.s, d.shape);
    const badT = firstNonFinite(d.t, d.shape);
    const [name, idx, arr] = badS ? ['studentLogits', badS, d.s] as const : ['teacherLogits', badT!, d.t] as const;
    const flat = idx.reduce((a, v, i) => a * d.shape[i]! + v, 0);
    const shown = Number.isNaN(arr[flat]!) ? 'nan' : arr[flat]! > 0 ? 'inf' : '-inf';
    const esc = (s: string): string => s.replace(/[.[\]()]/g, '\\$&');
    const re = new RegExp(`${esc(fn)}: ${name} contains a non-finite value at index ${esc(`[${idx.join(', ')}]`)} ` +
      `${esc(`(${shown})`)}.*nonFinite: 'skip'`);
    sdd.tidy(() => {
      const s = sdd.tensor(d.s, { shape: d.shape, requiresGrad: true });
      const t = sdd.tensor(d.t, { shape: d.shape });
      const y = sdd.tensor(d.target, { dtype: 'int64' });
      expect(() => callLoss(fam, s, t, y, withScales(fam, c, lossOptions(fam, e)))).toThrow(re);
      expect(s.grad).toBeNull();
    });
  });

  it(`${label}: nonFinite 'skip' returns a graph-less zero (reference: ${ref.fallback_zero ? 'zeros(1) fallback' : 'finite loss, NaN gradient'})`, () => {
    const d = caseData(fam, c);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      sdd.tidy(() => {
        for (const dtype of ['float32', 'float64'] as const) {
          const s = sdd.tensor(d.s, { shape: d.shape, dtype, requiresGrad: true });
          const t = sdd.tensor(d.t, { shape: d.shape, dtype });
          const y = sdd.tensor(d.target, { dtype: 'int64' });
          const opts = withScales(fam, c, lossOptions(fam, e));
          const loss = callLoss(fam, s, t, y, { ...opts, nonFinite: 'skip' }) as sdd.Tensor;
          expect(loss.item()).toBe(0);
          expect(loss.requiresGrad).toBe(false);
          expect(loss.dtype).toBe(dtype);
          const det = callLoss(fam, s, t, y, { ...opts, nonFinite: 'skip', details: true }) as sdd.losses.LossDetails;
          expect(det.skipped).toBe(true);
          expect(det.loss.item()).toBe(0);
          expect(det.loss.requiresGrad).toBe(false);
          // the rows hit by the non-finite value are the non-finite row losses
          const rowsBad = Array.from(det.rowLosses.toTypedArray() as Float32Array, (v) => !Number.isFinite(v));
          expect(rowsBad).toEqual(badRowMask(d));
          if (ref.fallback_zero) {
            // the reference's zeros(1) has shape [1]; ours is a 0-d scalar like every other loss
            expect(num(ref.loss)).toBe(0);
            expect(num(ref.loss_f64)).toBe(0);
            expect(ref.printed).toBe('inf\n');
          }
        }
      });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`${fn}: non-finite logits`), expect.objectContaining({ code: 'SDD_TORCH_NONFINITE' }));
    } finally {
      warn.mockRestore();
    }
  });

  if (!ref.fallback_zero) {
    it(`${label}: the reference's finite value is the loss with the non-finite row dropped (its gradient there is NaN)`, () => {
      // sdd_kd_loss zeroes NaN KL terms: the bad row adds 0 to the sum and the divisor stays N*B,
      // while autograd still sends NaN into that student row. Neutralise the row (student and
      // teacher rows both zero: KL exactly 0; only that row's own weight can change, and it
      // multiplies 0) and our loss must equal the reference; every other gradient entry must match.
      expect(fam).toBe('sdd_kd');
      const d = caseData(fam, c);
      const [, K, N] = d.shape as [number, number, number];
      const s = Float32Array.from(d.s);
      const t = Float32Array.from(d.t);
      const badRows = new Set<number>();
      for (let i = 0; i < t.length; i++) {
        if (Number.isFinite(t[i]!) && Number.isFinite(s[i]!)) continue;
        const n = i % N;
        const b = Math.floor(i / (K * N));
        badRows.add(b * N + n);
      }
      expect(badRows.size).toBeGreaterThan(0);
      for (const key of badRows) {
        const b = Math.floor(key / N), n = key % N;
        expect(n, 'the non-finite value is not in region 0 (it would change the row weights of the sample)').toBeGreaterThan(0);
        for (let k = 0; k < K; k++) { s[(b * K + k) * N + n] = 0; t[(b * K + k) * N + n] = 0; }
      }
      const out = evaluate(fam, s, t, d.shape, d.target, withScales(fam, c, lossOptions(fam, e)), 'float32');
      expectScalar(`${fam}/${c.id} ${label} loss with the bad row dropped`, out.loss, num(ref.loss), LOSS_ATOL, LOSS_RTOL, 'f32 loss');
      const out64 = evaluate(fam, s, t, d.shape, d.target, withScales(fam, c, lossOptions(fam, e)), 'float64');
      expectScalar(`${fam}/${c.id} ${label} (f64) loss with the bad row dropped`, out64.loss, num(ref.loss_f64), 0, F64_LOSS_RTOL, 'f64 loss');
      const g = f32(ref.grad!);
      let nan = 0;
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < g.length; i++) {
        const key = Math.floor(i / (K * N)) * N + (i % N);
        if (badRows.has(key)) { if (Number.isNaN(g[i]!)) nan++; continue; }
        ours.push(out.grad[i]!);
        theirs.push(g[i]!);
      }
      expect(nan, 'the reference gradient is NaN on the whole bad student row').toBe(badRows.size * K);
      expectArray(`${fam}/${c.id} ${label} grad outside the bad row`, ours, theirs, GRAD_ATOL, GRAD_RTOL, 'f32 grad');
    });
  }
}

for (const fam of ['kd', 'dkd', 'nkd', 'sdd_kd', 'sdd_dkd', 'sdd_nkd'] as const) lossSuite(fam);

// ------------------------------------------------------------------ spp.json: pooling and the head

const sppDoc = docs.spp as GoldenDoc<SppCase> | undefined;
if (sppDoc !== undefined) describe('spp.json', () => {
  for (const c of sppDoc.cases) {
    describe(c.id, () => {
      const [, , H, W] = c.x.shape as [number, number, number, number];
      for (const m of c.by_M) {
        const scales = JSON.parse(m.M) as number[];
        const largest = Math.max(...scales);
        const opts = { scales, ...(H < largest || W < largest ? { allowReplicate: true } : {}) };
        it(`M=${m.M}: multiScalePool = x_feature, scaleLogits = patch_score`, () => {
          sdd.tidy(() => {
            const x = sdd.tensor(f32(c.x), { shape: c.x.shape });
            const w = sdd.tensor(f32(c.fc_weight), { shape: c.fc_weight.shape });
            const b = sdd.tensor(f32(c.fc_bias), { shape: c.fc_bias.shape });
            const feat = sdd.multiScalePool(x, opts);
            expect(feat.shape).toEqual(m.x_feature.shape);
            expectArray(`spp/${c.id} M=${m.M} x_feature`, feat.toTypedArray() as Float32Array, f32(m.x_feature), POOL_ATOL, POOL_RTOL, 'spp x_feature');
            const score = sdd.scaleLogits(x, w, b, opts);
            expect(score.shape).toEqual(m.patch_score.shape);
            expectArray(`spp/${c.id} M=${m.M} patch_score`, score.toTypedArray() as Float32Array, f32(m.patch_score), POOL_ATOL, POOL_RTOL, 'spp patch_score');
            // float64 features: same numbers within float32 rounding of the reference
            const x64 = x.to({ dtype: 'float64' });
            const feat64 = sdd.multiScalePool(x64, opts);
            expect(feat64.dtype).toBe('float64');
            expectArray(`spp/${c.id} M=${m.M} x_feature (f64)`, feat64.toTypedArray() as Float64Array, f32(m.x_feature), POOL_ATOL, POOL_RTOL, 'spp x_feature f64');
          });
        });
        if (m.region_weight_maps) {
          it(`M=${m.M}: x_feature = sum of region_weight_maps * x (the nested rule, overlapping windows included)`, () => {
            const maps = f32(m.region_weight_maps!);
            const x = f32(c.x);
            const [B, C] = c.x.shape as [number, number];
            const N = m.N;
            const ours = sdd.tidy(() => sdd.multiScalePool(sdd.tensor(x, { shape: c.x.shape, dtype: 'float64' }), opts).toTypedArray() as Float64Array);
            const want = new Float64Array(B * C * N);
            for (let bc = 0; bc < B * C; bc++) {
              for (let n = 0; n < N; n++) {
                let acc = 0;
                for (let p = 0; p < H * W; p++) acc += maps[n * H * W + p]! * x[bc * H * W + p]!;
                want[bc * N + n] = acc;
              }
            }
            // the maps are float32 (7x7: weights like 1/96 rounded), hence the float32 tolerance
            expectArray(`spp/${c.id} weight-map reconstruction`, ours, want, POOL_ATOL, POOL_RTOL, 'spp weight maps');
          });
        }
      }
      it("'direct' mode: region 0 is the plain mean, the classifier of it the model's global logits", () => {
        sdd.tidy(() => {
          const x = sdd.tensor(f32(c.x), { shape: c.x.shape });
          const w = sdd.tensor(f32(c.fc_weight), { shape: c.fc_weight.shape });
          const b = sdd.tensor(f32(c.fc_bias), { shape: c.fc_bias.shape });
          const g = sdd.scaleLogits(x, w, b, { scales: [1], mode: 'direct' });
          const replicate = H < 4 || W < 4 ? { allowReplicate: true } : {};
          expect(g.shape).toEqual([...c.global_logits_fc_of_mean_HW.shape, 1]);
          expectArray(`spp/${c.id} direct [1] vs fc(mean_HW)`, g.toTypedArray() as Float32Array, f32(c.global_logits_fc_of_mean_HW),
            POOL_ATOL, POOL_RTOL, 'spp direct global');
          // the reference's own deviation of nested region 0 from the mean (0.09 on 7x7, ~0 otherwise)
          const full = c.by_M.find((m) => m.M === '[1,2,4]')!;
          const nested = sdd.scaleLogits(x, w, b, { scales: [1, 2, 4], ...replicate }).select(2, 0);
          const diff = nested.sub(g.squeeze(2)).abs().max().item() as number;
          const refDiff = (full as unknown as { max_abs_diff_patch_score0_vs_fc_of_global_avg: number }).max_abs_diff_patch_score0_vs_fc_of_global_avg;
          expect(Math.abs(diff - refDiff)).toBeLessThan(1e-6);
        });
      });
    });
  }
});
