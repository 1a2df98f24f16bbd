// One shape for argument errors: "Expected <what> for <name> but received <value> of type <type>".

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

export function checkOptions(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidParameterError(name, 'an options object', v);
  return v as Record<string, unknown>;
}

/** Rejects keys an options object does not know, so typos do not pass silently. */
export function checkKnownKeys(name: string, opts: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option '${key}' in ${name}; expected one of: ${known.join(', ')}`);
    }
  }
}
