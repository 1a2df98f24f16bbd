// sdd.distillers: the methods (vanilla, KD, DKD, NKD and the SDD variants), each a Distiller, and the
// registry: distillers.create(name, options). Users can register their own.
import type { Distiller, DistillerOptions } from './distiller.js';
import { checkOptions, invalidParameterError, nearestKey } from '../core/errors.js';
import { registerFactory } from '../core/registry.js';
import { Vanilla } from './vanilla.js';
import { KD } from './kd.js';
import { DKD } from './dkd.js';
import { NKD } from './nkd.js';
import { SddKD } from './sdd-kd.js';
import { SddDKD } from './sdd-dkd.js';
import { SddNKD } from './sdd-nkd.js';

export { NonFiniteLossError } from '../core/errors.js';
export { Distiller, type DistillerOptions, type StepInput, type StepResult, type LossTerms } from './distiller.js';
export type { DistillModel, ModelOutput } from './types.js';
export { Vanilla, KD, DKD, NKD, SddKD, SddDKD, SddNKD };

type Factory = (opts: DistillerOptions & Record<string, unknown>) => Distiller;

const registry = new Map<string, Factory>([
  ['vanilla', (o) => new Vanilla(o)],
  ['kd', (o) => new KD(o)],
  ['dkd', (o) => new DKD(o)],
  ['nkd', (o) => new NKD(o)],
  ['sdd_kd', (o) => new SddKD(o)],
  ['sdd_dkd', (o) => new SddDKD(o)],
  ['sdd_nkd', (o) => new SddNKD(o)],
]);

/** The reference's DISTILLER.TYPE names map to ours. */
const ALIASES: Record<string, string> = { none: 'vanilla', NONE: 'vanilla', KD: 'kd', DKD: 'dkd', NKD: 'nkd', SDD_KD: 'sdd_kd', SDD_DKD: 'sdd_dkd', SDD_NKD: 'sdd_nkd' };

export function names(): string[] {
  return [...registry.keys()];
}

/**
 * Adds a distiller: distillers.create(name, options) then calls `factory(options)`. Names are
 * letters, digits, '_', '-' or '.'; a name already registered (the built-in ones included) needs
 * { override: true } (the rule of models.register too).
 */
export function register(name: string, factory: Factory, opts: { override?: boolean } = {}): void {
  const o = checkOptions<{ override?: boolean }>('distillers.register options', opts, { override: 'boolean' });
  registerFactory(registry, 'distillers.register', name, factory, o.override);
}

/** distillers.create('sdd_kd', { teacher, student, optimizer, ...settings }) */
export function create(name: string, opts: DistillerOptions & Record<string, unknown>): Distiller {
  const key = ALIASES[name] ?? name;
  const f = registry.get(key);
  if (!f) {
    const near = typeof name === 'string' ? nearestKey(name, [...names(), ...Object.keys(ALIASES)]) : undefined;
    throw new RangeError(`Unknown distiller '${name}'; known: ${names().join(', ')}${near !== undefined ? ` (did you mean ${ALIASES[near] ?? near}?)` : ''}`);
  }
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an options object ({ teacher, student, optimizer, ...settings })', opts);
  return f(opts);
}
