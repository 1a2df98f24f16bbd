// The feature-distillation baselines against three training steps of the authors' code
// (test/fixtures/feature/README.md): teacher resnet32x4 (eval), student resnet8x4 from the
// trajectory's initial weights, each method's own modules from its feature_<method>_extra file,
// loss = sum of the terms, clip_grad_norm_(all distiller parameters, 40), SGD 0.05 / 0.9 / 5e-4
// over the student's and the method's parameters; one thread as in the reference run.
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';
import { checkAgainstReference, readExpected, referenceModels, referenceOptimizer } from './helpers/feature.js';
import { alignRsv, rightSingular, type SignChoice } from '../lib/distill/kdsvd.js';

const METHODS: [string, string][] = [['AT', 'at'], ['FITNET', 'fitnet'], ['KDSVD', 'kdsvd'], ['NST', 'nst'], ['PKT', 'pkt'], ['RKD', 'rkd'], ['SP', 'sp']];
/**
 * Where the reference's float32 numbers are themselves dominated by rounding, looser tolerances
 * (everything else at 1e-4 for losses and grad norms, rtol 1e-3 for the final parameters):
 * - PKT's term is a KL divergence of two nearly equal batch-similarity distributions (~1e-6 before
 *   its 30000 weight), a sum whose first-order parts cancel: float32 evaluation orders (BLAS,
 *   reductions) move it by up to ~4e-3, and the exact (float64) value, which the distiller
 *   computes, differs from the reference's by 3.7e-4 (step 0) to 1e-3 (step 1). The total loss,
 *   the grad norms and the parameters match at the usual tolerances.
 * - RKD matches at step 0 (loss 7e-6, grad norm 4e-6, every parameter's gradient 2e-5) and the
 *   step-1 loss (7e-6); its step-1 update (grad norm 28) leaves the student's pooled features so
 *   close together that the distances |a|^2 + |b|^2 - 2ab cancel: from there the trajectory is
 *   rounding-driven (this implementation's float32 and float64 evaluations of the RKD term differ
 *   from each other by 3e-4 in the step-2 grad norm and by up to 4% in final BN-bias sums), so the
 *   step-2 term and grad norm get 1e-3 and the final parameters rtol 2e-2 with a 2e-3 per-value floor.
 */
const tolerance = (name: string, step: number, what: string): number =>
  (name === 'pkt' && what === 'kd' ? 2e-3 : name === 'rkd' && step === 2 && (what === 'kd' || what === 'grad norm') ? 1e-3 : 1e-4);
const PARAM_TOL: Record<string, { rtol: number; atol: number }> = { rkd: { rtol: 2e-2, atol: 2e-3 } };

/**
 * KDSVD compares stages through the teacher's singular vectors, whose sign is whatever the SVD
 * routine returns: the reference's LAPACK gesdd flips some of them from matrix to matrix (at step 0,
 * stage 2 of batch element 6 relative to all the others), which no deterministic convention
 * reproduces. The loss is a sum over elements and consecutive stage pairs, each term depending only
 * on the relative sign of the pair; this recovers the signs the reference had from its loss value
 * (the 2^(2B) combinations; the best one matches to ~1e-6, the next to ~4e-3) so that everything
 * else (the SVD, its gradient, the alignment, the RBF terms, the steps) is checked against it.
 */
function referenceSigns(s: sdd.distillers.ModelOutput, t: sdd.distillers.ModelOutput, k: number, want: number): { sign: SignChoice; err: number } {
  return sdd.noGrad(() => sdd.tidy(() => {
    const fs = s.features!.stages!.slice(1), ft = t.features!.stages!.slice(1);
    const b = fs[0]!.shape[0]!;
    const vs: Float64Array[] = [], vt: Float64Array[] = [], w: number[] = [];
    for (let i = 0; i < fs.length; i++) {
      const T = rightSingular(ft[i]!, k), S = rightSingular(fs[i]!, k + 3);
      vt.push(T.v.double().toTypedArray() as Float64Array);
      vs.push(alignRsv(S.v, T.v).double().toTypedArray() as Float64Array);
      w.push(ft[i]!.shape[3]!);
    }
    // term of element e, stages p and p + 1 (k = 1: one vector each), relative sign r
    const term = (e: number, p: number, r: number): number => {
      let sum = 0;
      for (let a = 0; a < w[p + 1]!; a++) {
        for (let c = 0; c < w[p]!; c++) {
          const ds = vs[p + 1]![e * w[p + 1]! + a]! - r * vs[p]![e * w[p]! + c]!;
          const dt = vt[p + 1]![e * w[p + 1]! + a]! - r * vt[p]![e * w[p]! + c]!;
          sum += (Math.exp(-(ds * ds) / 8) - Math.exp(-(dt * dt) / 8)) ** 2;
        }
      }
      return sum / b;
    };
    const pairs = fs.length - 1;
    let base = 0;
    const delta: number[] = [];
    for (let e = 0; e < b; e++) for (let p = 0; p < pairs; p++) { const t0 = term(e, p, 1); base += t0; delta.push(term(e, p, -1) - t0); }
    let best = { err: Infinity, mask: 0 };
    for (let mask = 0; mask < 1 << delta.length; mask++) {
      let v = base;
      for (let j = 0; j < delta.length; j++) if (mask & (1 << j)) v += delta[j]!;
      const err = Math.abs(v - want) / want;
      if (err < best.err) best = { err, mask };
    }
    const signs = Array.from({ length: b }, (_, e) => {
      const out: (1 | -1)[] = [1];
      for (let p = 0; p < pairs; p++) out.push((out[p]! * (best.mask & (1 << (e * pairs + p)) ? -1 : 1)) as 1 | -1);
      return out;
    });
    return { sign: (stage: number, e: number) => signs[e]![stage]!, err: best.err };
  }));
}

async function setup(method: string, stepKd?: number[]) {
  const { teacher, student } = await referenceModels();
  const opts = { teacher, student, clipGradNorm: 40, optimizer: referenceOptimizer };
  if (method === 'kdsvd' && stepKd) {
    // KDSVD following the reference's singular-vector signs (see referenceSigns)
    let step = 0;
    class ReferenceSignKDSVD extends sdd.distillers.KDSVD {
      protected override losses(s: sdd.distillers.ModelOutput, t: sdd.distillers.ModelOutput | undefined, y: sdd.Tensor) {
        const { sign, err } = referenceSigns(s, t!, this.settings.k, stepKd![step++]!);
        expect(err, 'a sign pattern reproduces the reference KDSVD term').toBeLessThan(1e-4);
        this.teacherSign = sign;
        return super.losses(s, t, y);
      }
    }
    return { teacher, student, distiller: new ReferenceSignKDSVD(opts) as sdd.distillers.Distiller };
  }
  const distiller = sdd.distillers.create(method, opts);
  return { teacher, student, distiller };
}

describe('feature distillers reproduce three steps of the reference', () => {
  const { expected } = readExpected();

  for (const [ref, name] of METHODS) {
    it(`${name}: three steps: losses, grad norms, step-0 gradients, final parameters and buffers${name === 'kdsvd' ? ' (with the reference\'s LAPACK singular-vector signs)' : ''}`, async () => {
      const m = expected.methods[ref]!;
      const { student, distiller } = await setup(name, m.steps.map((st) => st.loss_kd));
      // the method's own modules under the reference's keys; final sums and sums of squares as
      // allclose(rtol 1e-3) with the absolute floor of trajectory.test.ts (1e-4 per value)
      await checkAgainstReference(ref, name, student, distiller, { step: (i, what) => tolerance(name, i, what), params: PARAM_TOL[name] });
    });
  }
});

describe('feature distillers: modules of their own', () => {
  it('an optimizer over the student alone is an error for a method with modules of its own', async () => {
    const { teacher, student } = await setup('at');
    const optimizer = sdd.optim.sgd(student.parameters(), { lr: 0.05 });
    expect(() => sdd.distillers.create('fitnet', { teacher, student, optimizer }))
      .toThrow(/does not update the method's own parameters \(conv_reg\.conv\.weight.*Pass a factory instead: optimizer: \(params\) =>/s);
    // methods without modules accept it, and the factory form works for them too
    expect(() => sdd.distillers.create('at', { teacher, student, optimizer })).not.toThrow();
    const d = sdd.distillers.create('sp', { teacher, student, optimizer: (p) => sdd.optim.sgd(p, { lr: 0.1 }) });
    expect(d.optimizer.params.length).toBe(student.parameters().length);
    expect(d.stateDict()).toEqual({});
  });

  it('FitNet: parameters(), stateDict under the reference names, loadStateDict strictness, settings from options', async () => {
    const { teacher, student } = await setup('at');
    const d = sdd.distillers.create('FITNET', { teacher, student, optimizer: (p) => sdd.optim.sgd(p, { lr: 0.05 }), hintLayer: 3 }) as sdd.distillers.FitNet;
    expect(d.name).toBe('fitnet');
    expect(d.settings).toMatchObject({ ceWeight: 1, featWeight: 100, hintLayer: 3 });
    const sd = d.stateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.shape]))).toEqual({
      'conv_reg.conv.weight': [256, 256, 1, 1], 'conv_reg.conv.bias': [256], 'conv_reg.bn.weight': [256], 'conv_reg.bn.bias': [256],
      'conv_reg.bn.running_mean': [256], 'conv_reg.bn.running_var': [256], 'conv_reg.bn.num_batches_tracked': [],
    });
    expect(d.parameters().length).toBe(student.parameters().length + 4);
    expect(d.optimizer.params.length).toBe(d.parameters().length);
    expect(() => d.loadStateDict({ ...sd, 'conv_reg.extra': sd['conv_reg.conv.bias']! })).toThrow(/unexpected keys \(1\): "conv_reg\.extra"/);
    const { ['conv_reg.bn.bias']: _, ...partial } = sd;
    expect(() => d.loadStateDict(partial)).toThrow(/missing keys \(1\): "conv_reg\.bn\.bias"/);
    expect(() => d.loadStateDict({ ...sd, 'conv_reg.conv.bias': sdd.zeros([3]) })).toThrow(/shape mismatch/);
    expect(d.loadStateDict(partial, { strict: false }).missingKeys).toEqual(['conv_reg.bn.bias']);
    expect(() => sdd.distillers.create('fitnet', { teacher, student, optimizer: (p) => sdd.optim.sgd(p, { lr: 0.05 }), FEAT_WEIGHT: 3 }))
      .toThrow(/featWeight/);
  });

  it('gradient clipping covers the method\'s own parameters', async () => {
    const { teacher, student } = await setup('at');
    const d = sdd.distillers.create('fitnet', { teacher, student, optimizer: (p) => sdd.optim.sgd(p, { lr: 0 }), clipGradNorm: 1e-3 });
    sdd.manualSeed(0);
    const r = d.step({ images: sdd.randn([4, 3, 32, 32]), targets: sdd.tensor([1, 2, 3, 4]) });
    const norm = sdd.tidy(() => Math.sqrt(d.parameters().reduce((a, p) => a + (p.grad ? (p.grad.double().square().sum().item() as number) : 0), 0)));
    expect(r.gradNorm).toBeGreaterThan(1e-3);
    expect(norm).toBeCloseTo(1e-3, 6);
    expect(d.convReg.conv.parameters()[0]!.grad).not.toBeNull();
  });

  it('every feature method trains zoo models: finite losses, named terms, loss going down', () => {
    for (const [, name] of METHODS) {
      sdd.manualSeed(3);
      const teacher = sdd.models.create('resnet14', { numClasses: 10 }).eval();
      const student = sdd.models.create('resnet8', { numClasses: 10 });
      const d = sdd.distillers.create(name, { teacher, student, optimizer: (p) => sdd.optim.sgd(p, { lr: 0.02, momentum: 0.9 }) });
      const data = [0, 1].map(() => ({ images: sdd.randn([8, 3, 32, 32]), targets: sdd.randint(0, 10, [8]) }));
      const losses: number[] = [];
      for (let epoch = 1; epoch <= 6; epoch++) {
        for (const b of data) {
          const r = d.step({ ...b, epoch });
          expect(Object.keys(r.terms)).toEqual(['ce', 'kd']);
          expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm), name).toBe(true);
          losses.push(r.loss);
        }
      }
      expect(losses.slice(-2).reduce((a, b) => a + b), name).toBeLessThan(losses.slice(0, 2).reduce((a, b) => a + b));
    }
  });

  it('a step leaves no tensors behind (every method)', () => {
    sdd.manualSeed(4);
    const teacher = sdd.models.create('resnet14', { numClasses: 10 }).eval();
    const student = sdd.models.create('resnet8', { numClasses: 10 });
    const images = sdd.randn([4, 3, 32, 32]), targets = sdd.randint(0, 10, [4]);
    for (const [, name] of METHODS) {
      const d = sdd.distillers.create(name, { teacher, student, optimizer: (p) => sdd.optim.sgd(p, { lr: 0.01, momentum: 0.9 }) });
      d.step({ images, targets }); // momentum buffers and gradients exist from here on
      const live = sdd.tidy(() => sdd.memory().liveTensors);
      for (let i = 0; i < 3; i++) d.step({ images, targets });
      expect(sdd.tidy(() => sdd.memory().liveTensors), name).toBeLessThanOrEqual(live);
    }
  });

  it('referenceFeatureSettings maps the reference config sections', () => {
    expect(sdd.distillers.referenceFeatureSettings('FITNET', { HINT_LAYER: 2, INPUT_SIZE: [32, 32], LOSS: { CE_WEIGHT: 1, FEAT_WEIGHT: 100 } }))
      .toEqual({ ceWeight: 1, featWeight: 100, hintLayer: 2, inputSize: [32, 32] });
    expect(sdd.distillers.referenceFeatureSettings('RKD', { DISTANCE_WEIGHT: 25, ANGLE_WEIGHT: 50, LOSS: { CE_WEIGHT: 1, FEAT_WEIGHT: 1 }, PDIST: { EPSILON: 1e-12, SQUARED: false } }))
      .toEqual({ ceWeight: 1, featWeight: 1, distanceWeight: 25, angleWeight: 50, eps: 1e-12, squared: false });
    // an experiment config names the method by the reference's DISTILLER.TYPE; its section gives the settings
    const cfg = { ...sdd.experiment.defaultConfig(), ...sdd.distillers.referenceFeatureConfigDefaults() };
    cfg.DISTILLER = { ...cfg.DISTILLER, TYPE: 'AT' };
    expect(sdd.distillers.fromConfig(cfg)).toEqual({ name: 'at', settings: { ceWeight: 1, featWeight: 1000, p: 2 } });
    cfg.DISTILLER = { ...cfg.DISTILLER, TYPE: 'SP' };
    expect(sdd.distillers.fromConfig(cfg)).toEqual({ name: 'sp', settings: { ceWeight: 1, featWeight: 3000 } });
  });
});
