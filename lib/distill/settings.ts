// Method settings: the reference defaults (sdd-method.md §6, configs/README.md), validated, and the
// loss-weight warm-up the DKD family's `warmup` setting drives.
import { checkKnownKeys, checkNumber, checkOptionValue, type OptionSpec } from '../core/errors.js';
import { checkScales } from '../sdd/pool.js';

/** Ranges of settings some methods share (others: any finite number, or the default's type). */
const RANGES: Record<string, OptionSpec> = {
  temperature: { kind: 'number', above: 0 },
  warmup: { kind: 'number', min: 0 },
  complementaryWeight: { kind: 'number', min: 0 },
};

/** The reference's config names (YAML sections KD / DKD / SDD) for our settings. */
const HINTS: Record<string, string> = {
  T: 'temperature', TEMPERATURE: 'temperature', CE_WEIGHT: 'ceWeight', KD_WEIGHT: 'kdWeight', ALPHA: 'alpha', BETA: 'beta',
  WARMUP: 'warmup', GAMMA: 'gamma', M: 'models.create(name, { scales }) (the regions come from the model)',
  FEAT_WEIGHT: 'featWeight', HINT_LAYER: 'hintLayer', INPUT_SIZE: 'inputSize', P: 'p', K: 'k', DISTANCE_WEIGHT: 'distanceWeight',
  ANGLE_WEIGHT: 'angleWeight', EPSILON: 'eps', SQUARED: 'squared',
  scales: 'models.create(name, { scales }) (the regions come from the model)',
};

export function resolveSettings<T extends Record<string, unknown>>(method: string, given: Record<string, unknown>, defaults: T,
  alsoKnown: readonly string[] = []): T {
  const known = Object.keys(defaults);
  for (const key of Object.keys(given)) {
    // a distiller's shared options are known too, so a misspelt one gets the right suggestion
    if (!known.includes(key)) checkKnownKeys(`${method} settings`, { [key]: given[key] }, [...alsoKnown, ...known], HINTS);
  }
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    const d = defaults[k];
    const name = `${method}.${k}`;
    if (typeof d === 'number') out[k] = checkOptionValue(name, v, RANGES[k] ?? 'number');
    else if (typeof d === 'boolean') out[k] = checkOptionValue(name, v, 'boolean');
    else if (Array.isArray(d)) out[k] = checkScales(name, v);
    else out[k] = v;
  }
  return out as T;
}

const BASE_KEYS = new Set(['teacher', 'student', 'optimizer', 'clipGradNorm', 'details', 'ddp', 'nonFinite']);

/** The method's own settings from distiller options (the shared options removed), defaults applied. */
export function methodSettings<T extends Record<string, unknown>>(method: string, opts: object, defaults: T): T {
  const rest = Object.fromEntries(Object.entries(opts).filter(([k]) => !BASE_KEYS.has(k)));
  return resolveSettings(method, rest, defaults, [...BASE_KEYS]);
}

/** The DKD family's loss-weight warmup: min(epoch / warmup, 1). */
export function lossWarmup(epoch: number, warmup: number): number {
  checkNumber('epoch', epoch);
  checkNumber('warmup', warmup);
  return warmup <= 0 ? 1 : Math.min(epoch / warmup, 1);
}
