// Every error the package defines, in one place: argument errors in one shape ("Expected <what> for
// <name> but received <value> of type <type>"), the argument and options checkers, and the error
// classes of the areas (CheckpointError, PickleError, DataError, ConfigError, StateDictError,
// NonFiniteLossError), each re-exported by its area under its public name.

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}' of type string`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name ? `a value of type ${name}` : `a value of type ${typeof value}`;
}

/** The error thrown for a bad argument (a TypeError, or a RangeError for out-of-range values). */
export function invalidParameterError(name: string, expected: string, actual: unknown, range = false): Error {
  const Ctor = range ? RangeError : TypeError;
  return new Ctor(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}

export function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function checkInteger(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (!isInteger(v)) throw invalidParameterError(name, min >= 0 ? 'a non-negative integer' : 'an integer', v);
  if (v < min || v > max) {
    const expected = max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw invalidParameterError(name, expected, v, true);
  }
  return v;
}

export function checkNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw invalidParameterError(name, 'a number', v);
  return v;
}

export function checkFinite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParameterError(name, 'a finite number', v);
  return v;
}

export function checkPositive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalidParameterError(name, 'a positive number', v);
  return v;
}

export function checkBoolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalidParameterError(name, 'a boolean', v);
  return v;
}

/** One integer or a pair of them (kernel sizes, strides, image sizes), as a pair. */
export function checkPair(name: string, v: unknown, min: number, expected = `an integer >= ${min} or a pair of them`): [number, number] {
  if (typeof v === 'number') return [checkInteger(name, v, min), v];
  if (Array.isArray(v) && v.length === 2) return [checkInteger(`${name}[0]`, v[0], min), checkInteger(`${name}[1]`, v[1], min)];
  throw invalidParameterError(name, expected, v);
}

export function checkShape(name: string, v: unknown): number[] {
  if (isInteger(v) && v >= 0) return [v];
  if (!Array.isArray(v) || !v.every((d) => isInteger(d) && d >= 0)) {
    throw invalidParameterError(name, 'an array of non-negative integers', v);
  }
  return v as number[];
}

export function checkDims(name: string, v: unknown): number[] {
  if (isInteger(v)) return [v];
  if (!Array.isArray(v) || !v.every(isInteger)) throw invalidParameterError(name, 'an integer or an array of integers', v);
  return v as number[];
}

// ------------------------------------------------------------------ options objects
//
// One checker for every public entry point that takes an options object: checkOptions(where,
// options, schema). Unknown keys are errors naming the key and the nearest known one (camelCase /
// snake_case / case folded, then edit distance), and each known key's value is checked at once
// (booleans are booleans, numbers finite and in range), so nothing is silently ignored and nothing
// fails later, at first use.

/** What a key's value must be. 'number' is always finite; 'any' leaves the check to the caller. */
export type OptionKind = 'boolean' | 'string' | 'number' | 'integer' | 'function' | 'object' | 'array' | 'any';

export interface OptionSpec {
  kind: OptionKind;
  /** Inclusive bounds of a number or integer. */
  min?: number;
  max?: number;
  /** Exclusive lower bound of a number (e.g. 0 for "a positive number"). */
  above?: number;
  /** The allowed values (strings, numbers or booleans), checked instead of `kind`'s type alone. */
  oneOf?: readonly (string | number | boolean)[];
  /** null is allowed (and kept as null). */
  nullable?: boolean;
  /** Filled in when the key is absent or undefined. */
  default?: unknown;
  /** The key must be given (undefined is refused like a wrong value). */
  required?: boolean;
  /** Describes the value in errors instead of the kind's wording. */
  expected?: string;
  /** Runs on a present value after the kind check; returns the value to keep. */
  check?: (name: string, value: unknown) => unknown;
}

export type OptionSchema = Readonly<Record<string, OptionSpec | OptionKind>>;

export interface OptionCheckExtra {
  /** How values are named in errors: `${name}.${key}` (default 'options'). */
  name?: string;
  /**
   * Keys from other APIs mapped to what to use here (e.g. torchvision's `train`), as text or as a
   * function of the given value; shown as "did you mean …?" when that key is given.
   */
  hints?: Readonly<Record<string, string | ((value: unknown) => string)>>;
}

/** Lower case without _ and -: label_smoothing, labelSmoothing and LabelSmoothing meet. */
function foldKey(k: string): string {
  return k.replace(/[_\-\s]/g, '').toLowerCase();
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name nearest to `key` (same letters ignoring case, _ and -, else a few edits away), if any. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const f = foldKey(key);
  const same = known.find((k) => foldKey(k) === f);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(f, foldKey(k));
    if (d < bestD) { best = k; bestD = d; }
  }
  // short keys: one edit; longer ones: about a third of their letters
  const limit = Math.max(1, Math.floor(Math.min(f.length, foldKey(best ?? '').length) / 3));
  if (best !== undefined && bestD <= limit) return best;
  // a known key that contains the given one or is contained in it (lr -> baseLr, outdir -> outDirectory)
  const sub = known.find((k) => f.length >= 3 && (foldKey(k).includes(f) || f.includes(foldKey(k))) && foldKey(k).length >= 3);
  return sub;
}

/** torchvision's `train=False` / `train=True`, as a hint for data sets that take `split`. */
export const TORCHVISION_SPLIT_HINTS: OptionCheckExtra['hints'] = {
  train: (v) => (v === false ? "split: 'test'" : "split: 'train'"),
  is_train: (v) => (v === false ? "split: 'test'" : "split: 'train'"),
};

/** The "unknown option" error: the key, where, the nearest known key (or a hint) and the known keys. */
export function unknownOptionError(where: string, key: string, known: readonly string[], hint?: string): TypeError {
  const near = hint ?? nearestKey(key, known);
  const list = known.length > 0 ? `expected one of: ${known.join(', ')}` : 'it takes no options';
  return new TypeError(`Unknown option '${key}' in ${where}; ${list}${near !== undefined ? ` (did you mean ${near}?)` : ''}`);
}

/** Rejects keys an options object does not know, so typos do not pass silently. */
export function checkKnownKeys(name: string, opts: Record<string, unknown>, known: readonly string[],
  hints?: OptionCheckExtra['hints']): void {
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      const h = hints?.[key];
      throw unknownOptionError(name, key, known, typeof h === 'function' ? h(opts[key]) : h);
    }
  }
}

function fmt(v: string | number | boolean): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function orList(values: readonly (string | number | boolean)[]): string {
  const f = values.map(fmt);
  return f.length <= 1 ? (f[0] ?? 'nothing') : `${f.slice(0, -1).join(', ')} or ${f[f.length - 1]}`;
}

/** Checks one option value against its spec; returns the value to keep. */
export function checkOptionValue(name: string, value: unknown, spec: OptionSpec | OptionKind): unknown {
  const s: OptionSpec = typeof spec === 'string' ? { kind: spec } : spec;
  if (value === null && s.nullable) return null;
  if (s.oneOf) {
    if (!s.oneOf.includes(value as string)) throw invalidParameterError(name, s.expected ?? orList(s.oneOf), value);
    return s.check ? s.check(name, value) : value;
  }
  const what = (base: string): string => s.expected ?? base;
  switch (s.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalidParameterError(name, what('a boolean (true or false)'), value);
      break;
    case 'string':
      if (typeof value !== 'string') throw invalidParameterError(name, what('a string'), value);
      break;
    case 'function':
      if (typeof value !== 'function') throw invalidParameterError(name, what('a function'), value);
      break;
    case 'array':
      if (!Array.isArray(value)) throw invalidParameterError(name, what('an array'), value);
      break;
    case 'object':
      if (typeof value !== 'object' || value === null) throw invalidParameterError(name, what('an object'), value);
      break;
    case 'number':
    case 'integer': {
      const int = s.kind === 'integer';
      const noun = int ? 'an integer' : 'a finite number';
      if (typeof value !== 'number' || !Number.isFinite(value) || (int && !Number.isInteger(value))) {
        const r = rangeText(s, int ? 'an integer' : 'a number');
        throw invalidParameterError(name, what(int ? r : r === 'a number' ? noun : `${r.replace(/^an? /, 'a finite ')}`), value);
      }
      const lo = s.min ?? -Infinity;
      const hi = s.max ?? Infinity;
      if (value < lo || value > hi || (s.above !== undefined && value <= s.above)) {
        throw invalidParameterError(name, what(rangeText(s, int ? 'an integer' : 'a number')), value, true);
      }
      break;
    }
    case 'any':
      break;
  }
  return s.check ? s.check(name, value) : value;
}

function rangeText(s: OptionSpec, noun: string): string {
  const int = noun === 'an integer';
  if (s.above === 0 && s.max === undefined) return int ? 'a positive integer' : 'a positive number';
  if (s.above !== undefined) return s.max === undefined ? `${noun} > ${s.above}` : `${noun} in (${s.above}, ${s.max}]`;
  if (s.min === 0 && s.max === undefined) return int ? 'a non-negative integer' : 'a non-negative number';
  if (s.min !== undefined && s.max !== undefined) return `${noun} in [${s.min}, ${s.max}]`;
  if (s.min !== undefined) return `${noun} >= ${s.min}`;
  if (s.max !== undefined) return `${noun} <= ${s.max}`;
  return noun;
}

/**
 * Checks an options object. Without a schema: that it is an object (or undefined, giving {}).
 * With one: also that every key is known (else an "Unknown option" error with the nearest known
 * key), and every known key's value fits its spec (named `${extra.name ?? 'options'}.${key}`);
 * returns a copy holding the known keys that were given plus the defaults.
 */
export function checkOptions(name: string, v: unknown): Record<string, unknown>;
export function checkOptions<T = Record<string, unknown>>(where: string, v: unknown, schema: OptionSchema, extra?: OptionCheckExtra): T;
export function checkOptions(where: string, v: unknown, schema?: OptionSchema, extra: OptionCheckExtra = {}): Record<string, unknown> {
  if (v === undefined) v = {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidParameterError(where, 'an options object', v);
  const o = v as Record<string, unknown>;
  if (!schema) return o;
  const known = Object.keys(schema);
  checkKnownKeys(where, o, known, extra.hints);
  const prefix = extra.name ?? 'options';
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const spec = schema[key]!;
    const value = o[key];
    if (value === undefined) {
      if (typeof spec !== 'string' && spec.required) {
        throw invalidParameterError(`${prefix}.${key}`, spec.expected ?? (spec.oneOf ? orList(spec.oneOf) : rangeText(spec, spec.kind === 'integer' ? 'an integer' : /^[aeio]/.test(spec.kind) ? `an ${spec.kind}` : `a ${spec.kind}`)), undefined);
      }
      const d = typeof spec === 'string' ? undefined : spec.default;
      if (d !== undefined) out[key] = d;
      continue;
    }
    out[key] = checkOptionValue(`${prefix}.${key}`, value, spec);
  }
  return out;
}

// ------------------------------------------------------------------ error classes

/** A short, printable rendering of untrusted text for error messages (no control characters). */
export function quote(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

/**
 * A checkpoint that could not be read or written (sdd.checkpoint.CheckpointError), so callers can
 * tell a bad file from a bad argument; the message starts with the file (or entry) name.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  /** The file (or "file: entry") the message is about. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** A malformed or refused pickle (sdd.checkpoint.pickle.PickleError); `file` is the `name` option. */
export class PickleError extends CheckpointError {
  override name = 'PickleError';
}

/** A data set file that is missing, truncated or corrupt (sdd.data.DataError). `file` is its path. */
export class DataError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DataError';
    this.file = file;
  }
}

/**
 * Stored teacher outputs (sdd.distillers.OfflineTeacher) that do not fit the run: a random transform
 * in the pipeline, another data set, other transforms, a file that is not such a store.
 */
export class TeacherOutputsError extends Error {
  override name = 'TeacherOutputsError';
}

/** A bad experiment config, preset or command-line value of `sdd-torch train` / `eval`. */
export class ConfigError extends Error {}

/** A shape or key problem found by loadStateDict() (sdd.nn.StateDictError); the message lists every key involved. */
export class StateDictError extends Error {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
  readonly mismatchedKeys: { key: string; expected: number[]; received: number[] }[];
  constructor(module: string, missing: string[], unexpected: string[], mismatched: StateDictError['mismatchedKeys'], hint: string) {
    const q = (k: string): string => `"${k}"`;
    const lines = [`Error(s) in loading state dict for ${module}:`];
    if (missing.length) lines.push(`  missing keys (${missing.length}): ${missing.map(q).join(', ')}`);
    if (unexpected.length) lines.push(`  unexpected keys (${unexpected.length}): ${unexpected.map(q).join(', ')}`);
    if (mismatched.length) {
      lines.push(`  shape mismatch (${mismatched.length}): ${mismatched
        .map((m) => `${q(m.key)}: checkpoint [${m.received.join(', ')}] vs model [${m.expected.join(', ')}]`).join('; ')}`);
    }
    if (hint) lines.push(`  ${hint}`);
    super(lines.join('\n'));
    this.name = 'StateDictError';
    this.missingKeys = missing;
    this.unexpectedKeys = unexpected;
    this.mismatchedKeys = mismatched;
  }
}

/** A loss term went non-finite during a distiller step (sdd.distillers.NonFiniteLossError; the weights are those before the step). */
export class NonFiniteLossError extends Error {
  constructor(message: string, readonly distiller: string, readonly term: string, readonly step: number, readonly epoch: number) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}
