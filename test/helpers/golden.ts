// Loading the golden data (computed with the authors' PyTorch code, vendored in test/fixtures/golden
// as .json.gz) and regenerating the inputs of the large cases with the portable xorshift32 generator
// they document. Format: test/fixtures/golden/README.md. Where the files live is known only to
// ./fixtures.ts. Only node: built-ins here; the tests do the comparisons.
import { GOLDEN_DIR, REPO_ROOT, readFixtureJson } from './fixtures.js';

export { GOLDEN_DIR, REPO_ROOT };

export const GOLDEN_FILES = ['spp', 'kd', 'dkd', 'nkd', 'sdd_kd', 'sdd_dkd', 'sdd_nkd'] as const;
export type GoldenFile = (typeof GOLDEN_FILES)[number];

/** A JSON number, or one of the strings the files use for non-finite values. */
export type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';
export interface JsonTensor { shape: number[]; data: JsonNum[] }
export interface Checksum {
  numel: number; sum: number; sum_sq: number; sum_abs?: number; indices: number[]; values: JsonNum[];
}

/** The result block of one official call (top level of an eval, or nested for nkd.json). */
export interface GoldenResult {
  loss: JsonNum;
  loss_shape: number[];
  loss_f64: JsonNum;
  printed: string;
  fallback_zero: boolean;
  grad?: JsonTensor;
  grad_checksum?: Checksum;
  grad_f64_checksum?: Checksum;
  grad_f32_vs_f64_max_abs_diff?: number;
  grad_max_abs?: number;
  note?: string;
}
export interface GoldenEval extends Partial<GoldenResult> {
  T?: number; alpha?: number; beta?: number; temp?: number; gamma?: number; origin?: string;
  equals_kd_loss_f64?: number; equals_dkd_loss_origin_f64?: number;
  nkd_loss_origin_SDD_nkd_py?: GoldenResult;
}

export interface Prng {
  algo: 'xorshift32';
  student_seed: number; student_scale: number; teacher_seed: number; teacher_scale: number;
  overrides: null | { rule: string; teacher_row_correct: number[] };
  doc: string;
}

/** A case of sdd_kd / sdd_dkd / sdd_nkd (logits B x K x N). */
export interface MultiCase {
  id: string; kind: string; desc: string; B: number; K: number; N: number; M: string;
  inputs_stored: boolean;
  out_s_multi?: JsonTensor; out_t_multi?: JsonTensor;
  prng?: Prng;
  out_s_multi_checksum?: Checksum; out_t_multi_checksum?: Checksum;
  out_s_multi_shape?: number[]; out_t_multi_shape?: number[];
  target: number[]; teacher_pred: number[]; row_group: number[]; row_weight: number[];
  evals: GoldenEval[];
}
/** A case of kd / dkd / nkd (global logits B x K). */
export interface GlobalCase {
  id: string; from_set: string; kind: string; B: number; K: number;
  logits_student: JsonTensor; logits_teacher: JsonTensor; target: number[];
  evals: GoldenEval[];
}
export interface SppByM {
  M: string; N: number; x_feature: JsonTensor; x_strength: JsonTensor; patch_score: JsonTensor;
  region_weight_maps?: JsonTensor;
}
export interface SppCase {
  id: string; note: string; x: JsonTensor; fc_weight: JsonTensor; fc_bias: JsonTensor; K: number;
  by_M: SppByM[]; global_logits_fc_of_mean_HW: JsonTensor;
}
export interface GoldenDoc<C> { meta: Record<string, unknown>; cases: C[] }

/** Parses test/fixtures/golden/<name>.json.gz; throws an error naming the vendored file when it is missing or corrupt. */
export function loadGolden(name: 'spp'): GoldenDoc<SppCase>;
export function loadGolden(name: 'kd' | 'dkd' | 'nkd'): GoldenDoc<GlobalCase>;
export function loadGolden(name: 'sdd_kd' | 'sdd_dkd' | 'sdd_nkd'): GoldenDoc<MultiCase>;
export function loadGolden(name: GoldenFile): GoldenDoc<unknown> {
  return readFixtureJson<GoldenDoc<unknown>>(`golden/${name}.json`);
}

/** Loads every golden file, or reports why it could not (for a test that then fails loudly). */
export function tryLoadAll(): { docs: Partial<Record<GoldenFile, GoldenDoc<unknown>>>; error: Error | null } {
  const docs: Partial<Record<GoldenFile, GoldenDoc<unknown>>> = {};
  try {
    for (const f of GOLDEN_FILES) docs[f] = loadGolden(f as never);
    return { docs, error: null };
  } catch (e) {
    return { docs: {}, error: e as Error };
  }
}

export function num(v: JsonNum): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`not a golden number: ${JSON.stringify(v)}`);
}

/** float32 data of a stored tensor (the files round-trip bit-exactly through Math.fround). */
export function f32(t: JsonTensor): Float32Array {
  return Float32Array.from(t.data, num);
}

/**
 * The documented generator: x ^= x << 13; x ^= x >>> 17; x ^= x << 5 (uint32); value =
 * (((x >>> 8) - 2^23) / 2^21) * scale, filled in flat C order.
 */
export function xorshift32(seed: number, n: number, scale: number): Float32Array {
  let x = seed >>> 0;
  if (x === 0) throw new Error('xorshift32 needs a non-zero seed');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = Math.fround((((x >>> 8) - 8388608) / 2097152) * scale);
  }
  return out;
}

export interface ChecksumReport { ok: boolean; detail: string }

/** Compares a regenerated input with its stored checksum (sum, sum of squares, sampled values). */
export function verifyInputChecksum(name: string, a: Float32Array, ref: Checksum): ChecksumReport {
  let s = 0;
  let s2 = 0;
  for (const v of a) { s += v; s2 += v * v; }
  const problems: string[] = [];
  if (a.length !== ref.numel) problems.push(`numel ${a.length} != ${ref.numel}`);
  if (!(Math.abs(s - ref.sum) <= 1e-6 * Math.max(1, Math.abs(ref.sum)))) problems.push(`sum ${s} != ${ref.sum}`);
  if (!(Math.abs(s2 - ref.sum_sq) <= 1e-9 * ref.sum_sq)) problems.push(`sum_sq ${s2} != ${ref.sum_sq}`);
  ref.indices.forEach((ix, i) => {
    const want = Math.fround(num(ref.values[i]!));
    if (a[ix] !== want) problems.push(`[${ix}] ${a[ix]} != ${want}`);
  });
  return { ok: problems.length === 0, detail: `${name}: ${problems.length === 0 ? 'ok' : problems.join('; ')}` };
}

export interface MultiInputs {
  s: Float32Array; t: Float32Array; shape: [number, number, number];
  /** Input checksum verification (only for regenerated inputs). */
  checks: ChecksumReport[];
}

/** Student and teacher logits (B x K x N, float32) of a multi-scale case, stored or regenerated. */
export function multiInputs(c: MultiCase): MultiInputs {
  const shape: [number, number, number] = [c.B, c.K, c.N];
  if (c.inputs_stored) {
    return { s: f32(c.out_s_multi!), t: f32(c.out_t_multi!), shape, checks: [] };
  }
  const p = c.prng!;
  if (p.algo !== 'xorshift32') throw new Error(`${c.id}: unknown generator ${p.algo}`);
  const [B, K, N] = c.out_s_multi_shape as [number, number, number];
  if (B !== c.B || K !== c.K || N !== c.N) throw new Error(`${c.id}: stored shape [${B}, ${K}, ${N}] disagrees with B, K, N`);
  const s = xorshift32(p.student_seed, B * K * N, p.student_scale);
  const t = xorshift32(p.teacher_seed, B * K * N, p.teacher_scale);
  if (p.overrides) {
    const pat = p.overrides.teacher_row_correct;
    for (let n = 0; n < N; n++) for (let b = 0; b < B; b++) t[(b * K + c.target[b]!) * N + n] = pat[n * B + b] ? 8 : -8;
  }
  return {
    s, t, shape,
    checks: [verifyInputChecksum('out_s_multi', s, c.out_s_multi_checksum!), verifyInputChecksum('out_t_multi', t, c.out_t_multi_checksum!)],
  };
}

/** The result block of an eval: top level, or nested under nkd_loss_origin_SDD_nkd_py (nkd.json). */
export function resultOf(e: GoldenEval): GoldenResult {
  return (e.nkd_loss_origin_SDD_nkd_py ?? e) as GoldenResult;
}

/** A short label of an eval's hyper-parameters, e.g. "T=4" or "alpha=1,beta=8,T=4". */
export function evalLabel(e: GoldenEval): string {
  const keys = ['alpha', 'beta', 'T', 'temp', 'gamma'] as const;
  return keys.filter((k) => e[k] !== undefined).map((k) => `${k}=${e[k]}`).join(',');
}

/** Whether an array holds a non-finite value. */
export function hasNonFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return true;
  return false;
}

/** The first non-finite element of a C-order array of the given shape, as a multi-index. */
export function firstNonFinite(a: ArrayLike<number>, shape: number[]): number[] | null {
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]!)) continue;
    const idx: number[] = [];
    let rest = i;
    for (let d = shape.length - 1; d >= 0; d--) { idx.unshift(rest % shape[d]!); rest = Math.floor(rest / shape[d]!); }
    return idx;
  }
  return null;
}

/** Running maximum of observed errors, printed once at the end of a test file. */
export class ErrorLog {
  readonly max = new Map<string, { err: number; where: string }>();
  note(kind: string, err: number, where: string): void {
    const cur = this.max.get(kind);
    if (cur === undefined || err > cur.err || (Number.isNaN(err) && !Number.isNaN(cur.err))) this.max.set(kind, { err, where });
  }
  report(): string {
    return [...this.max.entries()].sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `  ${k.padEnd(34)} ${v.err.toExponential(3)}  (${v.where})`).join('\n');
  }
}
