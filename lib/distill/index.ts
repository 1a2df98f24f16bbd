// sdd.distillers: the methods (vanilla, KD, DKD, NKD, the SDD variants and the feature-distillation
// baselines AT, FitNet, KDSVD, NST, PKT, RKD, SP, VID, OFD, ReviewKD (+ SD-DKD), CRD), each a Distiller, and the
// registry: distillers.create(name, options). Users can register their own.
import type { Distiller, DistillerOptions } from './distiller.js';
import { checkOptions, ConfigError, invalidParameterError, nearestKey } from '../core/errors.js';
import type { ExperimentConfig } from '../experiment/config.js';
import { registerFactory } from '../core/registry.js';
import { Vanilla } from './vanilla.js';
import { KD } from './kd.js';
import { DKD } from './dkd.js';
import { NKD } from './nkd.js';
import { SddKD } from './sdd-kd.js';
import { SddDKD } from './sdd-dkd.js';
import { SddNKD } from './sdd-nkd.js';
import { AT } from './at.js';
import { FitNet } from './fitnet.js';
import { KDSVD } from './kdsvd.js';
import { NST } from './nst.js';
import { PKT } from './pkt.js';
import { RKD } from './rkd.js';
import { SP } from './sp.js';
import { VID } from './vid.js';
import { OFD } from './ofd.js';
import { ReviewKD } from './reviewkd.js';
import { ReviewKdSddDkd } from './reviewkd-sdd-dkd.js';
import { CRD } from './crd.js';

export { NonFiniteLossError } from '../core/errors.js';
export { OfflineTeacher, teacherOutputs, datasetFingerprint, TEACHER_OUTPUTS_FORMAT, type TeacherOutputsOptions, type TeacherOutputsProvenance, type PipelineInfo } from './offline-teacher.js';
export { TeacherOutputsError } from '../core/errors.js';
export { Distiller, type DistillerOptions, type OptimizerFactory, type StepInput, type StepResult, type LossTerms } from './distiller.js';
export { referenceFeatureSettings, referenceFeatureConfigDefaults, featureSettingsFromConfig } from './feature-common.js';
export { ConvReg } from './fitnet.js';
export type { DistillModel, ModelOutput } from './types.js';
export { Vanilla, KD, DKD, NKD, SddKD, SddDKD, SddNKD, AT, FitNet, KDSVD, NST, PKT, RKD, SP };
export { VID, OFD, ReviewKD, ReviewKdSddDkd, CRD };

type Factory = (opts: DistillerOptions & Record<string, unknown>) => Distiller;

const registry = new Map<string, Factory>([
  ['vanilla', (o) => new Vanilla(o)],
  ['kd', (o) => new KD(o)],
  ['dkd', (o) => new DKD(o)],
  ['nkd', (o) => new NKD(o)],
  ['sdd_kd', (o) => new SddKD(o)],
  ['sdd_dkd', (o) => new SddDKD(o)],
  ['sdd_nkd', (o) => new SddNKD(o)],
  // feature distillation (the reference's mdistiller baselines)
  ['at', (o) => new AT(o)],
  ['fitnet', (o) => new FitNet(o)],
  ['kdsvd', (o) => new KDSVD(o)],
  ['nst', (o) => new NST(o)],
  ['pkt', (o) => new PKT(o)],
  ['rkd', (o) => new RKD(o)],
  ['sp', (o) => new SP(o)],
  ['vid', (o) => new VID(o)],
  ['ofd', (o) => new OFD(o)],
  ['reviewkd', (o) => new ReviewKD(o)],
  ['reviewkd_sdd_dkd', (o) => new ReviewKdSddDkd(o)],
  ['crd', (o) => new CRD(o)],
]);

/**
 * How a method reads its settings from an experiment config (sdd.experiment, `sdd-torch train`):
 * like mdistiller's distillers, each reads its own section (KD, DKD, ...); see each class's fromConfig.
 */
export type ConfigReader = (cfg: ExperimentConfig) => Record<string, unknown>;

const configReaders = new Map<string, ConfigReader>([
  ['vanilla', Vanilla.fromConfig],
  ['kd', KD.fromConfig],
  ['dkd', DKD.fromConfig],
  ['nkd', NKD.fromConfig],
  ['sdd_kd', SddKD.fromConfig],
  ['sdd_dkd', SddDKD.fromConfig],
  ['sdd_nkd', SddNKD.fromConfig],
  ['at', AT.fromConfig],
  ['fitnet', FitNet.fromConfig],
  ['kdsvd', KDSVD.fromConfig],
  ['nst', NST.fromConfig],
  ['pkt', PKT.fromConfig],
  ['rkd', RKD.fromConfig],
  ['sp', SP.fromConfig],
  ['vid', VID.fromConfig],
  ['ofd', OFD.fromConfig],
  ['reviewkd', ReviewKD.fromConfig],
  ['reviewkd_sdd_dkd', ReviewKdSddDkd.fromConfig],
  ['crd', CRD.fromConfig],
]);

/** The reference's DISTILLER.TYPE names map to ours. */
const ALIASES: Record<string, string> = {
  none: 'vanilla', NONE: 'vanilla', KD: 'kd', DKD: 'dkd', NKD: 'nkd', SDD_KD: 'sdd_kd', SDD_DKD: 'sdd_dkd', SDD_NKD: 'sdd_nkd',
  AT: 'at', FITNET: 'fitnet', KDSVD: 'kdsvd', NST: 'nst', PKT: 'pkt', RKD: 'rkd', SP: 'sp',
  VID: 'vid', OFD: 'ofd', REVIEWKD: 'reviewkd', REVIEWKD_SDD_DKD: 'reviewkd_sdd_dkd', CRD: 'crd',
};

export function names(): string[] {
  return [...registry.keys()];
}

/**
 * Adds a distiller: distillers.create(name, options) then calls `factory(options)`. Names are
 * letters, digits, '_', '-' or '.'; a name already registered (the built-in ones included) needs
 * { override: true } (the rule of models.register too). `fromConfig` reads the method's settings
 * from an experiment config (default: none, the method's own defaults).
 */
export function register(name: string, factory: Factory, opts: { override?: boolean; fromConfig?: ConfigReader } = {}): void {
  const o = checkOptions<{ override?: boolean; fromConfig?: ConfigReader }>('distillers.register options', opts, { override: 'boolean', fromConfig: 'function' });
  registerFactory(registry, 'distillers.register', name, factory, o.override);
  configReaders.set(name, o.fromConfig ?? (() => ({})));
}

/** DISTILLER.TYPE as the reference writes it (NONE, SDD_KD, ...) for a registered name. */
const configName = (name: string): string => (name === 'vanilla' ? 'NONE' : name.toUpperCase());

/** Whether a reference DISTILLER.TYPE (AT, FITNET, ...) names a registered distiller. */
export function isRegisteredConfigType(type: string): boolean {
  return resolveType(type) !== undefined;
}

function resolveType(type: string): string | undefined {
  return [type, ALIASES[type], ALIASES[type.toUpperCase()], type.toLowerCase()].find((n) => n !== undefined && configReaders.has(n) && registry.has(n));
}

/**
 * The one message for a method sdd-torch does not run: every supported DISTILLER.TYPE, and that the
 * reference's GL_DKD configs (cifar100/sdd_kd|sdd_dkd|sdd_nkd/resnet32_mobinetv2) name a method the reference itself does not have.
 */
export function unsupportedMethodMessage(type: string, what = `DISTILLER.TYPE ${type}`): string {
  const known = [...configReaders.keys()].filter((n) => registry.has(n)).map(configName);
  const gl = type.toUpperCase() === 'GL_DKD'
    ? ' GL_DKD is named by three of the reference\'s own configs (cifar100/sdd_kd, sdd_dkd and sdd_nkd/resnet32_mobinetv2.yaml), but the reference has no GL_DKD distiller: it cannot run them either.'
    : '';
  return `${what} is not supported (${known.join(', ')}: the methods sdd-torch runs).${gl}`;
}

/**
 * The method a config's DISTILLER.TYPE names (the reference's NONE, KD, SDD_KD, ... or a registered
 * name) and its settings, read by the method's fromConfig.
 */
export function fromConfig(cfg: ExperimentConfig): { name: string; settings: Record<string, unknown> } {
  const type = cfg.DISTILLER.TYPE;
  const name = resolveType(type);
  if (name === undefined) throw new ConfigError(unsupportedMethodMessage(type));
  return { name, settings: configReaders.get(name)!(cfg) };
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
