// The experiment layer's wiring: a config (a preset name, a YAML file or an object) → data sets,
// models, distiller, optimizer, schedule and Trainer, as `sdd-torch train` runs them; the demo and
// the experiment scripts build their runs here too. One seed fixes the student's initialisation, the
// data order and the augmentation, so two runs with the same seed and thread count train alike.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as models from '../models/index.js';
import * as data from '../data/index.js';
import * as distillers from '../distill/index.js';
import { load } from '../checkpoint/index.js';
import { dispose } from '../core/scope.js';
import { manualSeed } from '../core/runtime.js';
import { checkDevice, type Device } from '../core/dtype.js';
import { checkInteger, checkOptions, ConfigError } from '../core/errors.js';
import { sgd } from '../optim/sgd.js';
import type { Optimizer } from '../optim/optimizer.js';
import { cosine, multiStep, type Schedule } from '../optim/schedules.js';
import { OfflineTeacher } from '../distill/offline-teacher.js';
import { Trainer, type EpochLoader, type FitResult, type TrainerOptions } from '../train/trainer.js';
import type { BatchLike } from '../train/evaluate.js';
import type { Dataset } from '../data/dataset.js';
import type { Tensor } from '../core/tensor.js';

import type { Distiller } from '../distill/distiller.js';
import type { DistillModel } from '../distill/types.js';
import type { ProcessGroup } from '../dist/process-group.js';
import { convertSyncBatchNorm, ddp as makeDdp, replicate, type DistributedDataParallel } from '../dist/ddp.js';
import { configFrom, isReferenceScales, loadConfig, type ExperimentConfig } from './config.js';
import { presetFile } from './presets.js';
import { datasetRecipe, type DatasetRecipe } from './datasets.js';

/** Some sections of a config, e.g. { DISTILLER: { TYPE: 'SDD_KD' }, SOLVER: { EPOCHS: 3 } }; the rest are the defaults. */
export type ConfigSections = { [S in keyof ExperimentConfig]?: Partial<ExperimentConfig[S]> | Record<string, unknown> };

/** A preset name ('cifar100/sdd_kd/res32x4_res8x4'), a YAML file, or sections as an object. */
export type ConfigInput = string | ConfigSections | ExperimentConfig;

export interface BuildOptions {
  /** KEY=VALUE overrides after the config, e.g. ['SOLVER.LR=0.01'] */
  set?: string[];
  /** the data set folder (see README: where data sets go) */
  data?: string;
  /** data sets already open, instead of `data` (DATASET.TYPE still gives the transforms and the classes) */
  datasets?: { train: Dataset; test: Dataset };
  /** the trained teacher: a file (.pth of the authors or mdistiller, or .safetensors) ... */
  teacherCheckpoint?: string;
  /** ... or a model, used as it is (freeze() it first), or stored outputs (sdd.distillers.OfflineTeacher) */
  teacher?: DistillModel;
  /**
   * train with the data set's random augmentation (default true); false: the test transforms, a
   * deterministic pipeline (what stored teacher outputs need)
   */
  augment?: boolean;
  /**
   * stored teacher outputs: read from this file when it exists (checked against the training set and
   * its transforms), else computed once from the teacher and written there; distillation then reads
   * them instead of running the teacher. Needs augment: false.
   */
  teacherOutputs?: string;
  /**
   * the method's settings over those the config gives, e.g. { complementaryWeight: 4 } for SDD's β
   * (which has no config key in the reference)
   */
  settings?: Record<string, unknown>;
  /** SDD scales of both models (default [1, 2, 4]); the reference knows [1], [1, 2], [1, 2, 4] only */
  scales?: number[];
  /** other scale lists than the reference's three (the CLI's --allow-any-scales) */
  allowAnyScales?: boolean;
  /**
   * cells replicated on maps smaller than the largest scale (the CLI's --allow-replicate). Default:
   * on for the reference's scale lists, as the reference runs them (its CIFAR MobileNetV2 has a 2x2
   * last map and M = [1, 2, 4] replicates), off for any other list (too small a map is an error).
   */
  allowReplicate?: boolean;
  /** SDD_DKD's loss warm-up in epochs: the reference's --warmup argument (default 20), not DKD.WARMUP */
  warmup?: number;
  /** the student's initialisation, the data order and the augmentation (default 0) */
  seed?: number;
  /** 'cpu' (default) or 'cuda[:N]'; in a distributed run 'cuda' is the local rank's GPU */
  device?: Device;
  /** the run folder (default runs/<EXPERIMENT.TAG or the method>) */
  out?: string;
  /** data loader workers (default DATASET.NUM_WORKERS, at least 1) */
  workers?: number;
  /** at most this many batches per epoch (smoke runs) */
  limitBatches?: number;
  /** progress bar: 'auto' (default: on a TTY), true, false */
  progress?: boolean | 'auto';
  /** a distributed run: this rank's process group (SOLVER.BATCH_SIZE stays the global batch) */
  group?: ProcessGroup;
  /** distributed runs: the student's BatchNorm over the global batch */
  syncBn?: boolean;
  /** more Trainer options */
  trainer?: Pick<TrainerOptions, 'onStep' | 'onEpochEnd' | 'log' | 'signal' | 'handleSigint' | 'checkpointEvery'>;
}

export interface Experiment {
  readonly config: ExperimentConfig;
  /** the registered distiller name (sdd_kd, ...) and its settings from the config */
  readonly method: string;
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  readonly scales: number[];
  readonly device: Device;
  readonly dataset: DatasetRecipe;
  readonly student: models.SddModel;
  readonly teacher: DistillModel | undefined;
  readonly datasets: { train: Dataset; test: Dataset };
  readonly loaders: { train: EpochLoader; test: EpochLoader };
  /** images per step on this rank (SOLVER.BATCH_SIZE / ranks) */
  readonly batchSize: number;
  readonly optimizer: Optimizer<{ lr: number }>;
  readonly schedule: Schedule;
  readonly distiller: Distiller;
  readonly ddp: DistributedDataParallel | undefined;
  readonly trainer: Trainer;
  readonly outDir: string;
  /** one line: method, teacher, student, scales, images, epochs, run folder (and ranks) */
  readonly summary: string;
  /** trainer.fit(), or with { resume: true } trainer.resume() from the run folder */
  run(opts?: { resume?: boolean }): Promise<FitResult>;
}

const BUILD_SCHEMA = {
  set: 'array', data: 'string', datasets: 'object', teacherCheckpoint: 'string', teacher: 'object', scales: 'array', seed: 'any',
  device: 'any', out: 'string', workers: { kind: 'integer', min: 1 }, limitBatches: { kind: 'integer', min: 1 }, progress: 'any',
  group: 'object', syncBn: 'boolean', trainer: 'object', allowAnyScales: 'boolean', allowReplicate: 'boolean', warmup: { kind: 'integer', min: 0 },
  augment: 'boolean', teacherOutputs: 'string', settings: 'object',
} as const;

/** A config from a preset name, a YAML file or sections, with KEY=VALUE overrides. */
export function resolveConfig(input: ConfigInput | null | undefined, overrides: string[] = []): ExperimentConfig {
  if (input === null || input === undefined) return loadConfig(null, overrides);
  if (typeof input !== 'string') return configFrom(input, 'config', overrides);
  if (existsSync(input) && statSync(input).isFile()) return loadConfig(input, overrides);
  // a path that is not there reads as one ("cannot read config ..."), anything else as a preset name
  if (/\.ya?ml$/.test(input) && (path.isAbsolute(input) || input.startsWith('.'))) return loadConfig(input, overrides);
  return loadConfig(presetFile(input), overrides);
}

/** SOLVER.TYPE and SOLVER.SCHEDULE, checked before anything is built. */

function checkSolver(cfg: ExperimentConfig): void {
  // SOLVER.TRAINER: the reference's trainer class; 'crd' is its CRDTrainer (the instance-sample data set)
  if (cfg.SOLVER.TRAINER !== 'base' && cfg.SOLVER.TRAINER !== 'crd') throw new ConfigError(`SOLVER.TRAINER ${cfg.SOLVER.TRAINER} is not supported (base; crd is the reference's CRD trainer)`);
  if (cfg.SOLVER.TYPE !== 'SGD') throw new ConfigError(`SOLVER.TYPE ${cfg.SOLVER.TYPE} is not supported here (SGD)`);
  if (cfg.SOLVER.SCHEDULE !== 'multistep' && cfg.SOLVER.SCHEDULE !== 'cosine') throw new ConfigError(`SOLVER.SCHEDULE ${cfg.SOLVER.SCHEDULE} is not supported (multistep, cosine)`);
}

function schedule(cfg: ExperimentConfig): Schedule {
  return cfg.SOLVER.SCHEDULE === 'cosine' ? cosine({ epochs: cfg.SOLVER.EPOCHS })
    : multiStep({ milestones: cfg.SOLVER.LR_DECAY_STAGES, gamma: cfg.SOLVER.LR_DECAY_RATE });
}

/**
 * SOLVER.TRAINER crd (the reference's CRDTrainer over CIFAR100InstanceSample): each training batch
 * also carries CRD's `index` and `contrastIndex` (CRD.NCE.K negatives, CRD.MODE exact or relax).
 */
function withInstanceSample(loader: EpochLoader, sampled: data.InstanceSampleDataset): EpochLoader {
  return {
    length: loader.length, dataset: loader.dataset, transforms: loader.transforms,
    async *epoch(e: number, o: { startBatch?: number } = {}) {
      for await (const batch of loader.epoch(e, o)) {
        const indices = (batch as BatchLike & { indices?: Int32Array }).indices;
        if (!indices) throw new Error('SOLVER.TRAINER crd: the training loader gives no batch indices');
        yield { ...batch, ...sampled.forBatch(indices) } as BatchLike;
      }
    },
  };
}

/** At most `limit` batches per epoch (smoke runs). */
function limited(loader: EpochLoader, limit: number | undefined): EpochLoader {
  if (!limit) return loader;
  return {
    length: Math.min(limit, loader.length), dataset: loader.dataset, transforms: loader.transforms,
    async *epoch(e: number, o: { startBatch?: number } = {}) {
      let b = o.startBatch ?? 0;
      for await (const batch of loader.epoch(e, o)) {
        if (b++ >= limit) { dispose([batch.images, batch.targets]); break; }
        yield batch as BatchLike;
      }
    },
  };
}

/** The trained teacher of a config, from options.teacher or options.teacherCheckpoint, on every rank the same. */
/** The keys of a checkpoint (without a DataParallel 'module.' prefix). */
const bareKeys = (keys: string[]): string[] => keys.map((k) => k.replace(/^module\./, ''));

/** What a state dict's keys look like: the first few, and a guess at the architecture where it is recognisable. */
function describeKeys(keys: string[]): string {
  const has = (re: RegExp) => keys.some((k) => re.test(k));
  const guess = has(/^block1\.layer\./) ? 'a WideResNet (wrn_*)'
    : has(/^layer4\./) && has(/^fc\./) ? 'an ImageNet ResNet (ResNet18/34/50)'
    : has(/^layer3\./) && has(/^fc\./) ? 'a CIFAR ResNet (resnet*, resnet*x4)'
    : has(/^block_features|^features\.\d+\.\d+\./) ? 'a VGG'
    : has(/^conv_stem|^blocks\.\d+\.conv/) ? 'a MobileNet'
    : has(/^stages?\d|^stage_?\d/) ? 'a ShuffleNet'
    : undefined;
  const first = keys.slice(0, 4).join(', ');
  return `${keys.length} keys (${first}${keys.length > 4 ? ', ...' : ''})${guess ? `: it looks like ${guess}` : ''}`;
}

async function loadTeacher(cfg: ExperimentConfig, o: BuildOptions, make: (name: string) => models.SddModel, device: Device, trainMode = false): Promise<DistillModel> {
  if (o.teacher) return o.teacher;
  if (!o.teacherCheckpoint) {
    throw new ConfigError(`${cfg.DISTILLER.TYPE} needs a trained teacher: pass --teacher-checkpoint <file> (options.teacherCheckpoint, or options.teacher) ` +
      `(.pth from the authors or mdistiller, or .safetensors) for ${cfg.DISTILLER.TEACHER}`);
  }
  const teacher = make(cfg.DISTILLER.TEACHER);
  if (!existsSync(o.teacherCheckpoint)) {
    throw new ConfigError(`the teacher checkpoint ${o.teacherCheckpoint} (--teacher-checkpoint, options.teacherCheckpoint) does not exist: ` +
      `it should hold the trained ${cfg.DISTILLER.TEACHER} (DISTILLER.TEACHER)`);
  }
  const sd = await load(o.teacherCheckpoint);
  try {
    teacher.loadStateDict(sd, { strict: true });
  } catch (e) {
    // most keys differ: another architecture than DISTILLER.TEACHER, not a damaged file
    const own = Object.keys(teacher.stateDict());
    const theirs = bareKeys(sd instanceof Map ? [...sd.keys()] : Object.keys(sd));
    const shared = own.filter((k) => theirs.includes(k)).length;
    if (shared < own.length / 2) {
      throw new ConfigError(`the teacher checkpoint ${o.teacherCheckpoint} looks like a different model than DISTILLER.TEACHER ${cfg.DISTILLER.TEACHER}: ` +
        `only ${shared} of its ${own.length} keys are in the file. The file has ${describeKeys(theirs)}; ${cfg.DISTILLER.TEACHER} has ${describeKeys(own)}. ` +
        'Pass the checkpoint of the configured teacher, or set DISTILLER.TEACHER to the file\'s architecture.');
    }
    throw e;
  } finally { dispose(sd); }
  // frozen (eval, no gradients, BatchNorm folded); a method that runs the teacher in training mode
  // (the reference's OFD: batch statistics) gets it without gradients only
  if (trainMode) teacher.to(device).requiresGrad_(false);
  else teacher.to(device).freeze();
  // the same teacher on every rank (same architecture, rank 0's weights)
  if (o.group) await replicate(teacher, { group: o.group, what: 'teacher' });
  return teacher;
}

async function openDatasets(recipe: DatasetRecipe, o: BuildOptions): Promise<{ train: Dataset; test: Dataset }> {
  if (o.datasets) return o.datasets;
  if (!o.data) throw new ConfigError(`--data is required (options.data): the folder holding the ${recipe.type} data set (see README: where data sets go)`);
  try {
    return { train: await recipe.open(o.data, 'train'), test: await recipe.open(o.data, 'test') };
  } catch (e) {
    throw explainDataError(e, recipe, o.data);
  }
}

/** What a data folder looks like (its first entries, and the layout where it is recognisable). */
function describeFolder(root: string): string {
  let entries: string[];
  try { entries = readdirSync(root).sort(); } catch { return 'it cannot be listed'; }
  const layout = entries.includes('CUB_200_2011') || (entries.includes('images') && (entries.includes('images.txt') || entries.includes('train_test_split.txt'))) ? ' (the CUB-200-2011 layout)'
    : entries.includes('train') && entries.includes('val') ? ' (an ImageNet-style train/ val/ folder layout)'
    : entries.some((n) => /^cifar-(10|100)-(binary|python)$|^cifar-10-batches/.test(n)) ? ' (CIFAR files)' : '';
  return `it holds ${entries.length === 0 ? 'nothing' : `${entries.slice(0, 8).join(', ')}${entries.length > 8 ? `, ... (${entries.length} entries)` : ''}`}${layout}`;
}

/** A data set that does not open: say which DATASET.TYPE the config asked for and what the folder holds. */
function explainDataError(e: unknown, recipe: DatasetRecipe, root: string): unknown {
  if (!(e instanceof Error)) return e;
  const implicit = recipe.type === 'cifar100' ? ' (the default when the config has no DATASET.TYPE, as in the reference: e.g. the presets cub200/kd.yaml, cub200/at.yaml are CIFAR-100 configs in both codebases)' : '';
  const err = new ConfigError(`${e.message}\n  the config's DATASET.TYPE is ${recipe.type}${implicit}, so --data ${root} must hold the ${recipe.type} data set; ${describeFolder(root)}`);
  (err as Error & { cause?: unknown }).cause = e;
  return err;
}

function makeLoaders(cfg: ExperimentConfig, recipe: DatasetRecipe, sets: { train: Dataset; test: Dataset }, o: BuildOptions,
  seed: number, device: Device, batchSize: number): { train: EpochLoader; test: EpochLoader } {
  const g = o.group;
  const workers = o.workers ?? Math.max(1, cfg.DATASET.NUM_WORKERS);
  const trainT = recipe.transforms(o.augment === false ? 'test' : 'train');
  const train = g
    ? new data.DataLoader(sets.train, { batchSize, sampler: new data.DistributedSampler(sets.train.length, { rank: g.rank, worldSize: g.worldSize, shuffle: true, seed }), transforms: trainT, device, workers })
    : new data.DataLoader(sets.train, { batchSize, shuffle: true, seed, dropLast: false, transforms: trainT, device, workers });
  const test = new data.DataLoader(sets.test, { batchSize: cfg.DATASET.TEST.BATCH_SIZE, transforms: recipe.transforms('test'), device, workers,
    ...(g ? { sampler: new data.ShardSampler(sets.test.length, { rank: g.rank, worldSize: g.worldSize }) } : {}) });
  const sampled = crdSample(cfg, sets.train, seed);
  return { train: limited(sampled ? withInstanceSample(train, sampled) : train, o.limitBatches), test: limited(test, o.limitBatches) };
}

/** The instance-sample view of the training set for SOLVER.TRAINER crd (else undefined). */
function crdSample(cfg: ExperimentConfig, train: Dataset, seed: number): data.InstanceSampleDataset | undefined {
  if (cfg.SOLVER.TRAINER !== 'crd') return undefined;
  const crd = cfg.CRD as { MODE?: string; NCE?: { K?: number } } | undefined;
  return data.instanceSample(train, { k: crd?.NCE?.K ?? 16384, mode: (crd?.MODE ?? 'exact') as 'exact' | 'relax', seed });
}

/**
 * Builds an experiment: `await sdd.experiment.build('cifar100/sdd_kd/res32x4_res8x4', { data: 'data/',
 * teacherCheckpoint: 'resnet32x4_teacher.pth', seed: 1 })`, then `await experiment.run()`.
 */
export async function build(config: ConfigInput, options: BuildOptions = {}): Promise<Experiment> {
  const o = checkOptions<BuildOptions>('experiment.build options', options, BUILD_SCHEMA);
  const cfg = resolveConfig(config, o.set ?? []);
  const recipe = datasetRecipe(cfg.DATASET.TYPE);
  const { name: method, settings } = distillers.fromConfig(cfg);
  checkSolver(cfg);
  const seed = checkInteger('options.seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const scales = o.scales ?? [1, 2, 4];
  const reference = isReferenceScales(scales);
  if (!reference && o.allowAnyScales !== true) {
    throw new ConfigError(`scales ${JSON.stringify(scales)}: the reference knows M = [1], [1,2] and [1,2,4]; pass --allow-any-scales (options.allowAnyScales) to use other grids`);
  }
  // the reference's lists replicate cells on maps smaller than the largest scale (its CIFAR
  // MobileNetV2, 2x2 last map, with [1, 2, 4]); any other list needs --allow-replicate for that
  const allowReplicate = o.allowReplicate ?? reference;
  const g = o.group && o.group.worldSize > 1 ? o.group : undefined;
  let device = checkDevice('options.device', o.device ?? 'cpu');
  // one GPU per local rank
  if (g && device === 'cuda') device = `cuda:${Number(process.env.LOCAL_RANK ?? 0)}` as Device;
  // DATASET.TYPE cub200: the reference's CUB variants of the CIFAR models (7x7 stride-2 stem, 224x224)
  const dataset = recipe.type === 'cub200' ? 'cub200' : recipe.family;
  const make = (name: string) => models.create(name, { numClasses: recipe.classes, scales, dataset, allowAnyScales: o.allowAnyScales === true, allowReplicate });
  // SDD_DKD takes its warm-up from the reference's --warmup argument (default 20), not DKD.WARMUP
  if (method === 'sdd_dkd' && o.warmup !== undefined) settings.warmup = o.warmup;
  if (o.settings) Object.assign(settings, o.settings);
  // the seed fixes the student's initialisation (and the data order below): a run is reproducible,
  // and one that was stopped and resumed ends where an uninterrupted one does, bit for bit
  manualSeed(seed);
  const student = make(cfg.DISTILLER.STUDENT).to(device);
  // without replication, a map smaller than the largest scale is an error now, not at the first step
  if (!allowReplicate) {
    const map = student.featureShapes().map;
    const largest = Math.max(...scales);
    if (map[2]! < largest || map[3]! < largest) {
      throw new ConfigError(`scales ${JSON.stringify(scales)}: ${cfg.DISTILLER.STUDENT}'s last feature map is ${map[2]}x${map[3]}, smaller than the largest scale ${largest}; ` +
        'pass --allow-replicate (options.allowReplicate) to repeat its cells as the reference does for its own scale lists, or use smaller scales');
    }
  }
  // FitNet's regressor is sized at FITNET.INPUT_SIZE (the reference's default [32, 32]); a CUB run's
  // student takes 224x224 images, so there it is the student's input size unless the config sets another
  if (method === 'fitnet' && recipe.type === 'cub200' && JSON.stringify(settings.inputSize) === '[32,32]') settings.inputSize = student.defaultInputSize();
  const teacherTrainMode = method === 'ofd' && settings.teacherTrainMode !== false;
  let teacher = method === 'vanilla' ? undefined : await loadTeacher(cfg, { ...o, group: g }, make, device, teacherTrainMode);
  const datasets = await openDatasets(recipe, o);
  if (teacher && o.teacherOutputs !== undefined && !(teacher instanceof OfflineTeacher)) {
    const compute = () => OfflineTeacher.loadOrCompute(o.teacherOutputs!, teacher!, datasets.train, {
      transforms: recipe.transforms(o.augment === false ? 'test' : 'train'), device, teacherName: `${cfg.DISTILLER.TEACHER}${o.teacherCheckpoint ? ` ${o.teacherCheckpoint}` : ''}`,
    });
    if (!g) teacher = await compute();
    else {
      // rank 0 computes and writes the file once; the other ranks read it after the barrier
      let first: unknown = null;
      if (g.rank === 0) teacher = await compute().catch((e: unknown) => { first = e; return teacher; });
      await g.barrier();
      if (first) throw first;
      if (g.rank !== 0) teacher = await compute();
    }
  }
  const world = g?.worldSize ?? 1;
  // SOLVER.BATCH_SIZE is the global batch: each of the world's ranks takes its share of it.
  const batchSize = Math.ceil(cfg.SOLVER.BATCH_SIZE / world);
  const loaders = makeLoaders(cfg, recipe, datasets, { ...o, group: g }, seed, device, batchSize);
  if (g && o.syncBn) convertSyncBatchNorm(student, g);
  const ddp = g ? await makeDdp(student, { group: g }) : undefined;
  // over the student's parameters and those of the method's own modules (distiller.parameters())
  const optimizer = (params: Tensor[]) => sgd(params, { lr: cfg.SOLVER.LR, momentum: cfg.SOLVER.MOMENTUM, weightDecay: cfg.SOLVER.WEIGHT_DECAY });
  // CRD's memory banks have a row per training image
  if (method === 'crd' && settings.numData === undefined) settings.numData = datasets.train.length;
  if (method === 'crd' && cfg.SOLVER.TRAINER !== 'crd') throw new ConfigError('DISTILLER.TYPE CRD needs SOLVER.TRAINER crd (the instance-sample data set: each step takes index and contrastIndex), as the reference\'s CRD configs set');
  const distiller = distillers.create(method, { teacher, student, optimizer, ddp, ...settings });
  const outDir = o.out ?? path.join('runs', `${(cfg.EXPERIMENT.TAG || method).replace(/[^A-Za-z0-9_.-]+/g, '_')}`);
  const sched = schedule(cfg);
  const trainer = new Trainer({
    ...o.trainer, distiller, train: loaders.train, test: loaders.test, epochs: cfg.SOLVER.EPOCHS, schedule: sched,
    outDir, config: { ...cfg, M: scales, seed, worldSize: world }, progress: o.progress ?? 'auto', group: g ?? null,
  });
  const summary = `${method} | teacher ${teacher ? cfg.DISTILLER.TEACHER : '-'} | student ${cfg.DISTILLER.STUDENT} | M ${JSON.stringify(scales)} | ` +
    `${datasets.train.length} train / ${datasets.test.length} test images | ${cfg.SOLVER.EPOCHS} epochs | run folder ${outDir}` +
    (g ? ` | ${world} ranks (${g.backend}), ${batchSize} images per rank per step` : '');
  return {
    config: cfg, method, settings, seed, scales, device, dataset: recipe, student, teacher, datasets, loaders, batchSize,
    optimizer: distiller.optimizer, schedule: sched, distiller, ddp, trainer, outDir, summary,
    run: ({ resume = false } = {}) => (resume ? trainer.resume(outDir) : trainer.fit()),
  };
}
