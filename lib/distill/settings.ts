// Method settings: the reference defaults (sdd-method.md §6, configs/README.md), validated.
import { checkFinite, checkKnownKeys, invalidParameterError } from '../errors.js';
import { checkScales } from '../sdd/pool.js';

export function resolveSettings<T extends Record<string, unknown>>(method: string, given: Record<string, unknown>, defaults: T): T {
  checkKnownKeys(`${method} settings`, given, Object.keys(defaults));
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    const d = defaults[k];
    if (typeof d === 'number') out[k] = checkFinite(`${method}.${k}`, v);
    else if (typeof d === 'boolean') {
      if (typeof v !== 'boolean') throw invalidParameterError(`${method}.${k}`, 'a boolean', v);
      out[k] = v;
    } else if (Array.isArray(d)) out[k] = checkScales(`${method}.${k}`, v);
    else out[k] = v;
  }
  return out as T;
}

const BASE_KEYS = new Set(['teacher', 'student', 'optimizer', 'clipGradNorm', 'details', 'ddp']);

/** The method's own settings from distiller options (the shared options removed), defaults applied. */
export function methodSettings<T extends Record<string, unknown>>(method: string, opts: object, defaults: T): T {
  const rest = Object.fromEntries(Object.entries(opts).filter(([k]) => !BASE_KEYS.has(k)));
  return resolveSettings(method, rest, defaults);
}
