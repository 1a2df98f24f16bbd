// Shared by the feature-distiller tests: the reference set-up of test/fixtures/feature/README.md
// (teacher resnet32x4 eval, student resnet8x4 from the trajectory's initial weights, SGD 0.05 /
// 0.9 / 5e-4, clip 40) and the three-step comparison with feature_expected.json.
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as sdd from '../../lib/index.js';
import { fixturePath, readFixtureJson } from './fixtures.js';

export interface Step {
  loss_ce: number; loss_kd: number; loss_total: number; grad_norm_before_clip: number;
  grad_sum?: Record<string, number>; grad_sumsq?: Record<string, number>;
}
export interface Method {
  extra_keys: string[]; learnable: string[]; steps: Step[];
  final_params: Record<string, { sum: number; sumsq: number }>;
  final_buffers: Record<string, { sum: number }>;
  extra_file: string;
}
export interface Expected {
  batch: number; labels: number[][]; epochs: number[]; n_data: number; nce_k: number;
  index: number[][]; contrast_index: number[][][]; methods: Record<string, Method>;
}

export const rel = (got: number, want: number): number => Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);

/** The reference models: teacher resnet32x4 (eval), student resnet8x4 (scales given: the SDD variants). */
export async function referenceModels(scales?: number[]): Promise<{ teacher: sdd.models.SddModel; student: sdd.models.SddModel }> {
  sdd.setNumThreads(1);
  const teacher = sdd.models.create('resnet32x4', { numClasses: 100, ...(scales ? { scales } : {}) });
  const tsd = await sdd.load(fixturePath('reference/model_resnet32x4_sdd.safetensors'));
  teacher.loadStateDict(tsd);
  sdd.dispose(tsd);
  teacher.eval();
  const student = sdd.models.create('resnet8x4', { numClasses: 100, ...(scales ? { scales } : {}) });
  const ssd = await sdd.load(fixturePath('reference/trajectory_student_init.safetensors'));
  student.loadStateDict(ssd);
  sdd.dispose(ssd);
  return { teacher, student };
}

export const referenceOptimizer = (params: sdd.Tensor[]) => sdd.optim.sgd(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });

export function readExpected(): { expected: Expected; images: Float32Array; per: number } {
  const expected = readFixtureJson<Expected>('feature/feature_expected.json');
  const raw = readFileSync(fixturePath('feature/feature_batches.bin'));
  const images = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  return { expected, images, per: expected.batch * 3 * 32 * 32 };
}

export interface Tolerances {
  /** relative tolerance of a step's loss term / grad norm (default 1e-4) */
  step?: (step: number, what: string) => number;
  params?: { rtol: number; atol: number };
}

/**
 * Loads the method's extra file, runs the three reference steps (extra: more step input, e.g. CRD's
 * indices) and checks losses, grad norms, step-0 gradients, final parameters and buffers.
 */
export async function checkAgainstReference(ref: string, name: string, student: sdd.models.SddModel, distiller: sdd.distillers.Distiller,
  tol: Tolerances = {}, extra: (i: number, e: Expected) => Record<string, unknown> = () => ({})): Promise<{ worstLoss: number; worstParam: number }> {
  const { expected, images, per } = readExpected();
  const m = expected.methods[ref]!;
  const sd = await sdd.load(fixturePath(`feature/${m.extra_file}`));
  expect(Object.keys(distiller.stateDict()).sort()).toEqual([...m.extra_keys].sort());
  distiller.loadStateDict(sd);
  sdd.dispose(Object.values(sd));
  const named = new Map<string, sdd.Tensor>([
    ...student.namedParameters({ prefix: 'student' }),
    ...distiller.ownModules().flatMap(([n, mod]) => mod.namedParameters({ prefix: n })),
  ]);
  expect([...named.keys()].sort()).toEqual([...m.learnable].sort());
  expect(distiller.parameters().length).toBe(m.learnable.length);
  let worstLoss = 0;
  m.steps.forEach((step, i) => {
    const x = sdd.tensor(images.subarray(i * per, (i + 1) * per), { shape: [expected.batch, 3, 32, 32] });
    const y = sdd.tensor(expected.labels[i]!);
    const r = distiller.step({ images: x, targets: y, epoch: expected.epochs[i], ...extra(i, expected) } as sdd.distillers.StepInput);
    sdd.dispose([x, y]);
    const pairs: [string, number, number][] = [['ce', r.terms.ce!, step.loss_ce], ['kd', r.terms.kd!, step.loss_kd],
      ['total', r.loss, step.loss_total], ['grad norm', r.gradNorm, step.grad_norm_before_clip]];
    for (const [what, got, want] of pairs) {
      if (process.env.FEATURE_DEBUG) console.log(name, i, what, got, want, rel(got, want).toExponential(2));
      const t = tol.step?.(i, what) ?? 1e-4;
      if (t === 1e-4) worstLoss = Math.max(worstLoss, rel(got, want));
      expect(rel(got, want), `${name} step ${i} ${what}: ${got} vs ${want}`).toBeLessThan(t);
    }
    if (step.grad_sumsq) {
      for (const [k, want] of Object.entries(step.grad_sumsq)) {
        const g = named.get(k)!.grad!;
        const got = sdd.tidy(() => g.double().square().sum().item() as number);
        if (process.env.FEATURE_DEBUG) console.log(name, 'grad0', k, (Math.abs(got - want) / Math.abs(want)).toExponential(2));
        expect(Math.abs(got - want) / (Math.abs(want) + 1e-10), `${name} step ${i} grad of ${k}: sum of squares ${got} vs ${want}`).toBeLessThan(1e-3);
      }
    }
  });
  let worstParam = 0;
  const { rtol, atol } = tol.params ?? { rtol: 1e-3, atol: 1e-4 };
  const close = (got: number, want: number, floor: number) => Math.abs(got - want) / (rtol * Math.abs(want) + floor);
  for (const [k, want] of Object.entries(m.final_params)) {
    const p = named.get(k)!;
    const [sum, sumsq] = sdd.tidy(() => { const d = p.double(); return [d.sum().item() as number, d.square().sum().item() as number]; });
    const eSum = close(sum, want.sum, atol * Math.sqrt(p.numel));
    const eSq = close(sumsq, want.sumsq, 2 * atol * Math.sqrt(p.numel * want.sumsq));
    worstParam = Math.max(worstParam, eSum, eSq);
    if (process.env.FEATURE_DEBUG) console.log(name, k, 'sum', sum, want.sum, eSum.toExponential(2), 'sumsq', eSq.toExponential(2));
    expect(eSum, `${name} ${k}: sum ${sum} vs ${want.sum}`).toBeLessThan(1);
    expect(eSq, `${name} ${k}: sum of squares ${sumsq} vs ${want.sumsq}`).toBeLessThan(1);
  }
  const buffers = { ...student.stateDict({ prefix: 'student.' }), ...distiller.stateDict() };
  for (const [k, want] of Object.entries(m.final_buffers)) {
    const b = buffers[k]!;
    const sum = sdd.tidy(() => b.double().sum().item() as number);
    const e = close(sum, want.sum, atol * Math.sqrt(b.numel));
    worstParam = Math.max(worstParam, e);
    if (process.env.FEATURE_DEBUG) console.log(name, k, 'buffer', sum, want.sum, e.toExponential(2));
    expect(e, `${name} buffer ${k}: ${sum} vs ${want.sum}`).toBeLessThan(1);
  }
  console.log(`${name}: worst relative loss/grad-norm error ${worstLoss.toExponential(2)}; final parameters and buffers use ${(100 * worstParam).toFixed(1)}% of their tolerance`);
  return { worstLoss, worstParam };
}
