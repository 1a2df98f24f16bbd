// The experiment config: the authors' YAML configs (mdistiller/yacs layout), read as they are:
// defaults from the reference's engine/cfg.py, a file's (or an object's) sections merged over them,
// then KEY=VALUE overrides. Unknown sections or keys and wrong types are errors that name the key.
// sdd-torch adds one key, SOLVER.SCHEDULE ('multistep', the reference's, or 'cosine').
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { REFERENCE_SCALES } from '../sdd/pool.js';
import { referenceFeatureConfigDefaults } from '../distill/feature-common.js';
import { isRegisteredConfigType, unsupportedMethodMessage } from '../distill/index.js';

export interface ExperimentConfig {
  EXPERIMENT: { PROJECT: string; NAME: string; TAG: string };
  DATASET: { TYPE: 'cifar100' | 'cifar10' | 'imagenet' | 'cub200' | 'fashion-mnist' | string; NUM_WORKERS: number; TEST: { BATCH_SIZE: number } };
  DISTILLER: { TYPE: string; TEACHER: string; STUDENT: string };
  SOLVER: {
    TRAINER: string; BATCH_SIZE: number; EPOCHS: number; LR: number; LR_DECAY_STAGES: number[]; LR_DECAY_RATE: number;
    WEIGHT_DECAY: number; MOMENTUM: number; TYPE: string;
    /** 'multistep' (LR_DECAY_STAGES, LR_DECAY_RATE: the reference's) or 'cosine' (over EPOCHS) */
    SCHEDULE: 'multistep' | 'cosine' | string;
  };
  LOG: { TENSORBOARD_FREQ: number; SAVE_CHECKPOINT_FREQ: number; PREFIX: string; WANDB: boolean };
  KD: { TEMPERATURE: number; LOSS: { CE_WEIGHT: number; KD_WEIGHT: number } };
  DKD: { CE_WEIGHT: number; ALPHA: number; BETA: number; T: number; WARMUP: number };
  /** the feature methods' sections (the reference's cfg.AT, cfg.FITNET, ...), present when the method is registered */
  [section: string]: Record<string, unknown>;
}

/**
 * The reference's (mdistiller/engine/cfg.py) sections of the feature methods beyond
 * referenceFeatureConfigDefaults(); each joins the defaults once its distiller is registered.
 */
function moreReferenceSections(): Record<string, Record<string, unknown>> {
  return {
    VID: { LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 1.0 }, EPS: 1e-5, INIT_PRED_VAR: 5.0 },
    OFD: { LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 0.001 }, CONNECTOR: { KERNEL_SIZE: 1 } },
    CRD: { MODE: 'exact', FEAT: { DIM: 128, STUDENT_DIM: 256, TEACHER_DIM: 256 }, LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 0.8 }, NCE: { K: 16384, MOMENTUM: 0.5, TEMPERATURE: 0.07 } },
    REVIEWKD: {
      CE_WEIGHT: 1.0, REVIEWKD_WEIGHT: 1.0, WARMUP_EPOCHS: 20, SHAPES: [1, 8, 16, 32], OUT_SHAPES: [1, 8, 16, 32],
      IN_CHANNELS: [64, 128, 256, 256], OUT_CHANNELS: [64, 128, 256, 256], MAX_MID_CHANNEL: 512, STU_PREACT: false,
    },
  };
}

/** The feature methods' sections whose distillers are registered now (the reference's defaults). */
function featureSections(): Record<string, Record<string, unknown>> {
  const all = { ...referenceFeatureConfigDefaults(), ...moreReferenceSections() };
  return Object.fromEntries(Object.entries(all).filter(([k]) => isRegisteredConfigType(k)));
}

export function defaultConfig(): ExperimentConfig {
  return {
    EXPERIMENT: { PROJECT: 'distill', NAME: '', TAG: 'default' },
    DATASET: { TYPE: 'cifar100', NUM_WORKERS: 2, TEST: { BATCH_SIZE: 64 } },
    DISTILLER: { TYPE: 'NONE', TEACHER: 'ResNet50', STUDENT: 'resnet32' },
    SOLVER: { TRAINER: 'base', BATCH_SIZE: 64, EPOCHS: 240, LR: 0.05, LR_DECAY_STAGES: [150, 180, 210], LR_DECAY_RATE: 0.1, WEIGHT_DECAY: 0.0001, MOMENTUM: 0.9, TYPE: 'SGD', SCHEDULE: 'multistep' },
    LOG: { TENSORBOARD_FREQ: 500, SAVE_CHECKPOINT_FREQ: 40, PREFIX: './output', WANDB: false },
    KD: { TEMPERATURE: 4, LOSS: { CE_WEIGHT: 0.1, KD_WEIGHT: 0.9 } },
    DKD: { CE_WEIGHT: 1.0, ALPHA: 1.0, BETA: 8.0, T: 4.0, WARMUP: 20 },
    ...featureSections(),
  } as ExperimentConfig;
}

/** Sections of the reference's methods (cfg.py) that are not in defaultConfig(): their distillers are not registered. */
const REFERENCE_METHOD_SECTIONS = ['AT', 'FITNET', 'CRD', 'RKD', 'PKT', 'KDSVD', 'OFD', 'VID', 'REVIEWKD', 'SP', 'NST', 'CC', 'CRD_RESNET', 'DOT'];

function typeName(v: unknown): string {
  return Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v;
}

function merge(target: Record<string, unknown>, source: unknown, where: string, file: string): void {
  if (source === null || source === undefined) return;
  if (typeof source !== 'object' || Array.isArray(source)) throw new ConfigError(`${file}: ${where || 'the file'} must be a mapping, got ${typeName(source)}`);
  for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
    const path = where ? `${where}.${key}` : key;
    if (!(key in target)) {
      if (!where && REFERENCE_METHOD_SECTIONS.includes(key)) throw new ConfigError(`${file}: ${unsupportedMethodMessage(key, `section ${key} (method ${key})`)}`);
      const known = Object.keys(target).join(', ');
      throw new ConfigError(`${file}: unknown key ${path} (known ${where ? `keys of ${where}` : 'sections'}: ${known})`);
    }
    const current = target[key];
    if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
      merge(current as Record<string, unknown>, value, path, file);
    } else {
      target[key] = coerce(path, current, value, file);
    }
  }
}

function coerce(path: string, current: unknown, value: unknown, file: string): unknown {
  const expected = typeName(current);
  if (expected === 'number') {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    throw new ConfigError(`${file}: ${path} must be a number, got ${typeName(value)} ${JSON.stringify(value)}`);
  }
  if (expected === 'boolean') {
    if (typeof value === 'boolean') return value;
    throw new ConfigError(`${file}: ${path} must be true or false, got ${JSON.stringify(value)}`);
  }
  if (expected === 'string') {
    if (typeof value === 'string') return value;
    throw new ConfigError(`${file}: ${path} must be a string, got ${typeName(value)} ${JSON.stringify(value)}`);
  }
  if (expected === 'list') {
    if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value;
    throw new ConfigError(`${file}: ${path} must be a list of numbers, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parses `KEY.SUB=VALUE` (VALUE as YAML: 0.01, [1, 2], true, "text"). */
export function parseOverride(spec: string): [string, unknown] {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${spec}: expected KEY=VALUE, e.g. SOLVER.LR=0.01`);
  const key = spec.slice(0, eq).trim();
  const raw = spec.slice(eq + 1);
  let value: unknown;
  try { value = parse(raw); } catch { value = raw; }
  return [key, value ?? raw];
}

function nest(key: string, value: unknown): Record<string, unknown> {
  return key.split('.').reduceRight<unknown>((acc, k) => ({ [k]: acc }), value) as Record<string, unknown>;
}

/** A YAML config file (null: the defaults) with KEY=VALUE overrides. */
export function loadConfig(file: string | null, overrides: string[] = []): ExperimentConfig {
  if (!file) return configFrom(null, 'config', overrides);
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`); }
  let doc: unknown;
  try { doc = parse(text); } catch (e) { throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`); }
  return configFrom(doc, file, overrides);
}

/**
 * A config from sections as an object (a whole config or some sections, e.g. { SOLVER: { EPOCHS: 3 } })
 * merged over the defaults, then KEY=VALUE overrides; `label` names it in errors.
 */
export function configFrom(doc: unknown, label = 'config', overrides: string[] = []): ExperimentConfig {
  const cfg = defaultConfig();
  merge(cfg as unknown as Record<string, unknown>, doc, '', label);
  for (const spec of overrides) {

    const [key, value] = parseOverride(spec);
    merge(cfg as unknown as Record<string, unknown>, nest(key, value), '', `--set ${key}`);
  }
  return cfg;
}

/** Whether a scale list is one the reference knows: [1], [1, 2], [1, 2, 4]. */
export function isReferenceScales(list: readonly number[]): boolean {
  return REFERENCE_SCALES.some((r) => r.length === list.length && r.every((v, i) => v === list[i]));
}

/**
 * The reference's --M argument: '[1,2,4]' or '1,2,4'. The reference knows [1], [1,2] and [1,2,4];
 * other lists need allowAnyScales (the CLI's --allow-any-scales).
 */
export function parseScales(spec: string, opts: { allowAnyScales?: boolean } = {}): number[] {
  const list = spec.replace(/[[\]\s]/g, '').split(',').filter(Boolean).map(Number);
  if (list.length === 0 || !list.every((s) => Number.isInteger(s) && s > 0)) throw new ConfigError(`--M ${spec}: expected positive integers like 1,2,4 or [1,2,4]`);
  if (opts.allowAnyScales !== true && !isReferenceScales(list)) {
    throw new ConfigError(`--M ${spec}: the reference knows M = [1], [1,2] and [1,2,4]; pass --allow-any-scales to use other grids`);
  }
  return list;
}
