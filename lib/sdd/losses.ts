// Logit distillation losses: KD, DKD, NKD and their Scale Decoupled variants (sdd-method.md §3-5).
// Computed natively in torch ops; each returns a scalar with a graph to the student logits only.
// sdd.losses also offers crossEntropy, which lives with the nn losses (nn/losses.ts).
import { isHandle, native, type Handle } from '../core/native.js';
import { Tensor, fromHandle, unwrapTensor } from '../core/tensor.js';
import { checkOptions, checkPositive, checkFinite, type OptionSpec } from '../core/errors.js';
import { checkScales, regionCount } from './pool.js';
import { LOSS } from '../core/codes.js';

export { crossEntropy } from '../nn/losses.js';

export type NonFinitePolicy = 'error' | 'skip';

interface CommonOptions {
  /** Softmax temperature T. */
  temperature?: number;
  /**
   * Non-finite (NaN/Inf) logits: 'error' (default) throws naming the tensor and the first bad index;
   * 'skip' returns a graph-less zero (no gradient reaches the student) and emits a warning, also when
   * the loss itself is not finite. That is the reference's DKD/NKD fallback. The reference's KD
   * instead zeroes NaN terms and returns a finite loss whose gradient is NaN on the affected rows;
   * 'skip' deliberately returns zero there too. With details, `skipped` is true and `rowLosses`
   * are NaN on the affected rows.
   */
  nonFinite?: NonFinitePolicy;
  /** Return { loss, rowLosses, weights, complementary, skipped } instead of the loss alone. */
  details?: boolean;
}
export interface KdOptions extends CommonOptions {}
export interface DkdOptions extends CommonOptions { alpha?: number; beta?: number }
export interface NkdOptions extends CommonOptions {
  gamma?: number;
  /**
   * false (default): the reference, whose non-target mask keeps every class (its scatter writes 1
   * into ones), so the target class stays in the second term. true: the paper's variant, target
   * removed and the rest renormalised.
   */
  excludeTarget?: boolean;
}
interface SddOptions {
  /** Weight of complementary regions (teacher's region prediction disagrees in correctness with its global one). Default 2. */
  complementaryWeight?: number;
  /** When given, N must equal sum m^2 of these scales. */
  scales?: number[];
}
export interface SddKdOptions extends KdOptions, SddOptions {}
export interface SddDkdOptions extends DkdOptions, SddOptions {}
export interface SddNkdOptions extends NkdOptions, SddOptions {}

export interface LossDetails {
  loss: Tensor;
  /** Per-row losses (N*B rows, row r = n*B + b; region 0 first), unweighted, detached. */
  rowLosses: Tensor;
  /** Per-row weights: 1 (consistent) or complementaryWeight. */
  weights: Tensor;
  /** Number of complementary rows. */
  complementary: number;
  /** True when nonFinite: 'skip' replaced a non-finite loss by zero. */
  skipped: boolean;
}

const COMMON = ['temperature', 'nonFinite', 'details'] as const;

/** Every loss option and what its value must be (each loss takes COMMON and some of the rest). */
const LOSS_OPTIONS: Record<string, OptionSpec> = {
  temperature: { kind: 'number', above: 0 },
  nonFinite: { kind: 'string', oneOf: ['error', 'skip'] },
  details: { kind: 'boolean' },
  alpha: { kind: 'number' }, beta: { kind: 'number' }, gamma: { kind: 'number' },
  excludeTarget: { kind: 'boolean' },
  complementaryWeight: { kind: 'number' },
  scales: { kind: 'any' },
};
const LOSS_HINTS = { T: 'temperature', tau: 'temperature', M: 'scales', weight: 'complementaryWeight' };

function prepare(fn: string, opts: unknown, known: readonly string[]): Record<string, unknown> {
  const schema = Object.fromEntries([...COMMON, ...known].map((k) => [k, LOSS_OPTIONS[k]!]));
  return checkOptions(`${fn} options`, opts, schema, { name: `${fn} options`, hints: LOSS_HINTS });
}

function checkMulti(fn: string, s: Tensor, scales: unknown): void {
  if (scales === undefined) return;
  const list = checkScales(`${fn} options.scales`, scales);
  const shape = s.shape;
  const n = regionCount(list);
  if (shape.length === 3 && shape[2] !== n) {
    throw new RangeError(`${fn}: the logits have N = ${shape[2]} regions but scales [${list.join(', ')}] give ${n}`);
  }
}

/** DKD splits the classes into the target and the rest: with K < 2 the rest (NCKD) is empty and the loss NaN. */
function checkDkdClasses(fn: string, s: unknown): void {
  if (!(s instanceof Tensor) || s.dim() < 2) return; // the shape checks name these
  const k = s.shape[1]!;
  if (k < 2) {
    throw new RangeError(`${fn}: DKD needs at least 2 classes but the logits have K = ${k} (dim 1 of shape [${s.shape.join(', ')}]): ` +
      'its non-target part (NCKD) is empty, so the loss would be NaN');
  }
}

function run(fn: string, kind: keyof typeof LOSS, s: Tensor, t: Tensor, targets: Tensor | null, o: Record<string, unknown>, multi: boolean,
  settings: Record<string, unknown>): Tensor | LossDetails {
  const hs = unwrapTensor('studentLogits', s);
  const ht = unwrapTensor('teacherLogits', t);
  const hy: Handle | null = targets === null ? null : unwrapTensor('targets', targets);
  const details = o.details === true;
  const r = native.loss(LOSS[kind], hs, ht, hy, {
    name: fn, multi, skipNonFinite: o.nonFinite === 'skip', details, ...settings,
  });
  if (isHandle(r)) return fromHandle(r);
  const res = r as { loss: Handle; skipped: boolean; rowLosses?: Handle; weights?: Handle };
  if (res.skipped) {
    process.emitWarning(`${fn}: non-finite logits; the loss for this batch was replaced by 0 (nonFinite: 'skip')`, { code: 'SDD_TORCH_NONFINITE' });
  }
  const loss = fromHandle(res.loss);
  if (!details) return loss;
  const weights = fromHandle(res.weights!);
  const cw = (settings.complementaryWeight as number | undefined) ?? 1;
  let complementary = 0;
  if (multi && cw !== 1) for (const w of weights.toTypedArray() as Float32Array) if (w !== 1) complementary++;
  return { loss, rowLosses: fromHandle(res.rowLosses!), weights, complementary, skipped: res.skipped };
}

function temperature(fn: string, o: Record<string, unknown>, dflt: number): number {
  return o.temperature === undefined ? dflt : checkPositive(`${fn} options.temperature`, o.temperature);
}
function num(fn: string, o: Record<string, unknown>, key: string, dflt: number): number {
  return o[key] === undefined ? dflt : checkFinite(`${fn} options.${key}`, o[key]);
}
function complementaryWeight(fn: string, o: Record<string, unknown>): number {
  return o.complementaryWeight === undefined ? 2 : checkFinite(`${fn} options.complementaryWeight`, o.complementaryWeight);
}

type Out<O> = O extends { details: true } ? LossDetails : Tensor;

/** KD (Hinton): T^2 * mean over the batch of KL(softmax(t/T) || softmax(s/T)). Logits B x K. Default T = 4. */
export function kd<O extends KdOptions>(studentLogits: Tensor, teacherLogits: Tensor, opts?: O): Out<O> {
  const o = prepare('losses.kd', opts, []);
  return run('losses.kd', 'kd', studentLogits, teacherLogits, null, o, false, { temperature: temperature('losses.kd', o, 4) }) as Out<O>;
}

/** DKD: T^2 (alpha TCKD + beta NCKD) averaged over the batch, in log space. Defaults alpha 1, beta 8, T 4. */
export function dkd<O extends DkdOptions>(studentLogits: Tensor, teacherLogits: Tensor, targets: Tensor, opts?: O): Out<O> {
  const fn = 'losses.dkd';
  const o = prepare(fn, opts, ['alpha', 'beta']);
  checkDkdClasses(fn, studentLogits);
  return run(fn, 'dkd', studentLogits, teacherLogits, targets, o, false, {
    temperature: temperature(fn, o, 4), alpha: num(fn, o, 'alpha', 1), beta: num(fn, o, 'beta', 8),
  }) as Out<O>;
}

/** NKD: -p_t[y] log q[y] - gamma T^2 sum softmax(t/T) log_softmax(s/T), averaged. Defaults T 1, gamma 1.5 (the reference's plain NKD). */
export function nkd<O extends NkdOptions>(studentLogits: Tensor, teacherLogits: Tensor, targets: Tensor, opts?: O): Out<O> {
  const fn = 'losses.nkd';
  const o = prepare(fn, opts, ['gamma', 'excludeTarget']);
  return run(fn, 'nkd', studentLogits, teacherLogits, targets, o, false, {
    temperature: temperature(fn, o, 1), gamma: num(fn, o, 'gamma', 1.5), excludeTarget: o.excludeTarget === true,
  }) as Out<O>;
}

/** SD-KD: KD on every region row (logits B x K x N), complementary rows weighted, divided by N*B. Defaults T 4, weight 2. */
export function sddKd<O extends SddKdOptions>(studentLogits: Tensor, teacherLogits: Tensor, targets: Tensor, opts?: O): Out<O> {
  const fn = 'losses.sddKd';
  const o = prepare(fn, opts, ['complementaryWeight', 'scales']);
  checkMulti(fn, studentLogits, o.scales);
  return run(fn, 'kd', studentLogits, teacherLogits, targets, o, true, {
    temperature: temperature(fn, o, 4), complementaryWeight: complementaryWeight(fn, o),
  }) as Out<O>;
}

/** SD-DKD: DKD per region row with SDD weights, divided by N*B. Defaults alpha 1, beta 8, T 4, weight 2. */
export function sddDkd<O extends SddDkdOptions>(studentLogits: Tensor, teacherLogits: Tensor, targets: Tensor, opts?: O): Out<O> {
  const fn = 'losses.sddDkd';
  const o = prepare(fn, opts, ['alpha', 'beta', 'complementaryWeight', 'scales']);
  checkMulti(fn, studentLogits, o.scales);
  checkDkdClasses(fn, studentLogits);
  return run(fn, 'dkd', studentLogits, teacherLogits, targets, o, true, {
    temperature: temperature(fn, o, 4), alpha: num(fn, o, 'alpha', 1), beta: num(fn, o, 'beta', 8),
    complementaryWeight: complementaryWeight(fn, o),
  }) as Out<O>;
}

/** SD-NKD: NKD per region row with SDD weights, divided by N*B. Defaults T 4, gamma 8, weight 2. */
export function sddNkd<O extends SddNkdOptions>(studentLogits: Tensor, teacherLogits: Tensor, targets: Tensor, opts?: O): Out<O> {
  const fn = 'losses.sddNkd';
  const o = prepare(fn, opts, ['gamma', 'excludeTarget', 'complementaryWeight', 'scales']);
  checkMulti(fn, studentLogits, o.scales);
  return run(fn, 'nkd', studentLogits, teacherLogits, targets, o, true, {
    temperature: temperature(fn, o, 4), gamma: num(fn, o, 'gamma', 8), excludeTarget: o.excludeTarget === true,
    complementaryWeight: complementaryWeight(fn, o),
  }) as Out<O>;
}
