// `sdd-torch train --config <yaml>`: the authors' experiment configs run as they are.
import os from 'node:os';
import path from 'node:path';
import * as models from '../../models/index.js';
import * as data from '../../data/index.js';
import * as transforms from '../../data/transforms.js';
import * as distillers from '../../distill/index.js';
import { load } from '../../checkpoint/index.js';
import { dispose } from '../../core/scope.js';
import { manualSeed, setNumThreads } from '../../core/runtime.js';
import { sgd } from '../../optim/sgd.js';
import { multiStep } from '../../optim/schedules.js';
import { Trainer, type EpochLoader } from '../../train/trainer.js';
import type { BatchLike } from '../../train/evaluate.js';
import { ConfigError } from '../../core/errors.js';
import { defaultConfig, loadConfig, parseScales, type ExperimentConfig } from '../config.js';
import { presetFile, presetNames } from '../presets.js';
import { checkDevice, type Device } from '../../core/dtype.js';
import { initProcessGroup, type ProcessGroup } from '../../dist/process-group.js';
import { convertSyncBatchNorm, ddp as makeDdp, replicate } from '../../dist/ddp.js';

export interface TrainArgs {
  config?: string;
  preset?: string | boolean;
  set?: string[];
  M?: string;
  warmup?: string;
  teacherCheckpoint?: string;
  data?: string;
  device?: string;
  out?: string;
  resume?: boolean;
  threads?: string;
  limitBatches?: string;
  workers?: string;
  progress?: boolean;
  syncBn?: boolean;
}

const NUM_CLASSES: Record<string, number> = { cifar100: 100, cifar10: 10, cub200: 200, imagenet: 1000 };

async function datasets(cfg: ExperimentConfig, root: string | undefined) {
  const type = cfg.DATASET.TYPE;
  if (!root) throw new ConfigError(`--data is required: the folder holding the ${type} data set (see README: where data sets go)`);
  if (type === 'cifar100' || type === 'cifar10') {
    const open = type === 'cifar100' ? data.cifar100 : data.cifar10;
    return { train: await open(root, { split: 'train' }), test: await open(root, { split: 'test' }),
      trainT: transforms.cifarTrain(type), testT: [transforms.normalize(type)] };
  }
  if (type === 'cub200') {
    return { train: await data.cub200(root, { split: 'train' }), test: await data.cub200(root, { split: 'test' }),
      trainT: transforms.imagenetTrain(224), testT: transforms.imagenetEval(224) };
  }
  if (type === 'imagenet') {
    return { train: await data.imageFolder(path.join(root, 'train')), test: await data.imageFolder(path.join(root, 'val')),
      trainT: transforms.imagenetTrain(224), testT: transforms.imagenetEval(224) };
  }
  throw new ConfigError(`DATASET.TYPE ${type} is not supported (cifar100, cifar10, cub200, imagenet)`);
}

/** At most `limit` batches per epoch (smoke runs). */
function limited(loader: data.DataLoader, limit: number | undefined): EpochLoader {
  if (!limit) return loader;
  return {
    length: Math.min(limit, loader.length),
    async *epoch(e: number, o: { startBatch?: number } = {}) {
      let b = o.startBatch ?? 0;
      for await (const batch of loader.epoch(e, o)) {
        if (b++ >= limit) { dispose([batch.images, batch.targets]); break; }
        yield batch as BatchLike;
      }
    },
  };
}

export function distillerSettings(cfg: ExperimentConfig, warmup: number | undefined): { name: string; settings: Record<string, unknown> } {
  const type = cfg.DISTILLER.TYPE.toUpperCase();
  const kd = { ceWeight: cfg.KD.LOSS.CE_WEIGHT, kdWeight: cfg.KD.LOSS.KD_WEIGHT, temperature: cfg.KD.TEMPERATURE };
  const dkd = { ceWeight: cfg.DKD.CE_WEIGHT, alpha: cfg.DKD.ALPHA, beta: cfg.DKD.BETA, temperature: cfg.DKD.T, warmup: warmup ?? cfg.DKD.WARMUP };
  switch (type) {
    case 'NONE': case 'VANILLA': return { name: 'vanilla', settings: {} };
    case 'KD': return { name: 'kd', settings: kd };
    case 'SDD_KD': return { name: 'sdd_kd', settings: kd };
    case 'DKD': return { name: 'dkd', settings: dkd };
    case 'SDD_DKD': return { name: 'sdd_dkd', settings: dkd };
    // the reference's SDD_NKD reads the DKD section: temperature = DKD.T, gamma = DKD.BETA
    case 'SDD_NKD': return { name: 'sdd_nkd', settings: { ceWeight: cfg.DKD.CE_WEIGHT, temperature: cfg.DKD.T, gamma: cfg.DKD.BETA, warmup: warmup ?? cfg.DKD.WARMUP } };
    case 'NKD': return { name: 'nkd', settings: {} };
    default: throw new ConfigError(`DISTILLER.TYPE ${cfg.DISTILLER.TYPE} is not supported (NONE, KD, DKD, NKD, SDD_KD, SDD_DKD, SDD_NKD)`);
  }
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

/** A count that must be at least 1 (0 would silently mean "no limit"). */
function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  return n;
}

/** `train --preset` without a name: every shipped preset, with its method and pair, or why it cannot run. */
export function printPresets(): void {
  const names = presetNames();
  console.log(`${names.length} presets (the authors' configs, verbatim; run one with --preset <name>):`);
  const width = Math.max(...names.map((n) => n.length));
  for (const n of names) {
    let line: string;
    try {
      const cfg = loadConfig(presetFile(n));
      const { name } = distillerSettings(cfg, undefined);
      line = `${name.padEnd(8)} ${cfg.DISTILLER.TEACHER === defaultConfig().DISTILLER.TEACHER && name === 'vanilla' ? '' : `${cfg.DISTILLER.TEACHER} -> `}${cfg.DISTILLER.STUDENT} (${cfg.DATASET.TYPE}, ${cfg.SOLVER.EPOCHS} epochs)`;
    } catch (e) {
      line = `not supported yet: ${(e as Error).message.replace(/^.*?\.yaml: /, '')}`;
    }
    console.log(`  ${n.padEnd(width)}  ${line}`);
  }
}

/** The config file of --config or --preset (one of them, or neither: the defaults). */
function configFile(args: TrainArgs): string | null {
  if (args.preset !== undefined && args.preset !== false) {
    if (args.config) throw new ConfigError('--config and --preset both given: choose one (a preset is a config shipped with the package)');
    return presetFile(String(args.preset));
  }
  return args.config ?? null;
}

export async function runTrain(args: TrainArgs): Promise<void> {
  positiveInt('--limit-batches', args.limitBatches); // before anything is loaded
  checkDevice('--device', args.device ?? 'cpu'); // 'gpu' -> unknown device 'gpu' (did you mean 'cuda'?)
  const cfg = loadConfig(configFile(args), args.set ?? []);
  const scales = args.M ? parseScales(args.M) : [1, 2, 4];
  const threads = int('--threads', args.threads) ?? int('$SDD_TORCH_THREADS', process.env.SDD_TORCH_THREADS);
  if (threads) setNumThreads(threads);
  // Started by `sdd-torch launch` / --nproc-per-node (WORLD_SIZE > 1): one rank of a data-parallel run.
  const group: ProcessGroup | undefined = Number(process.env.WORLD_SIZE ?? 1) > 1 ? await initProcessGroup() : undefined;
  try {
    await trainRank(args, cfg, scales, group);
  } finally {
    group?.destroy();
  }
}

async function trainRank(args: TrainArgs, cfg: ExperimentConfig, scales: number[], group: ProcessGroup | undefined): Promise<void> {
  const rank = group?.rank ?? 0, world = group?.worldSize ?? 1;
  const say = (line: string) => { if (rank === 0) console.log(line); };
  let device = (args.device ?? 'cpu') as Device;
  // one GPU per local rank
  if (group && device === 'cuda') device = `cuda:${Number(process.env.LOCAL_RANK ?? 0)}` as Device;
  const numClasses = NUM_CLASSES[cfg.DATASET.TYPE] ?? 100;
  const { name, settings } = distillerSettings(cfg, int('--warmup', args.warmup));
  const modelDataset = cfg.DATASET.TYPE === 'imagenet' ? 'imagenet' : 'cifar';
  // one seed for the student's initialisation and the data order: a run is reproducible, and one
  // that was stopped and resumed ends where an uninterrupted one does, bit for bit
  const seed = 0;
  manualSeed(seed);
  const student = models.create(cfg.DISTILLER.STUDENT, { numClasses, scales, dataset: modelDataset }).to(device);
  let teacher: models.SddModel | undefined;
  if (name !== 'vanilla') {
    if (!args.teacherCheckpoint) throw new ConfigError(`${cfg.DISTILLER.TYPE} needs a trained teacher: pass --teacher-checkpoint <file> (.pth from the authors or mdistiller, or .safetensors) for ${cfg.DISTILLER.TEACHER}`);
    teacher = models.create(cfg.DISTILLER.TEACHER, { numClasses, scales, dataset: modelDataset });
    const sd = await load(args.teacherCheckpoint);
    try { teacher.loadStateDict(sd, { strict: true }); } finally { dispose(sd); }
    teacher.to(device).freeze();
    // the same teacher on every rank (same architecture, rank 0's weights)
    if (group) await replicate(teacher, { group, what: 'teacher' });
  }
  const sets = await datasets(cfg, args.data);
  const workers = int('--workers', args.workers) ?? Math.max(1, cfg.DATASET.NUM_WORKERS);
  // SOLVER.BATCH_SIZE is the global batch: each of the world's ranks takes its share of it.
  const batchSize = Math.ceil(cfg.SOLVER.BATCH_SIZE / world);
  const trainLoader = group
    ? new data.DataLoader(sets.train, { batchSize, sampler: new data.DistributedSampler(sets.train.length, { rank, worldSize: world, shuffle: true, seed }), transforms: sets.trainT, device, workers })
    : new data.DataLoader(sets.train, { batchSize, shuffle: true, seed, dropLast: false, transforms: sets.trainT, device, workers });
  const testLoader = new data.DataLoader(sets.test, { batchSize: cfg.DATASET.TEST.BATCH_SIZE, transforms: sets.testT, device, workers,
    ...(group ? { sampler: new data.ShardSampler(sets.test.length, { rank, worldSize: world }) } : {}) });
  if (cfg.SOLVER.TYPE !== 'SGD') throw new ConfigError(`SOLVER.TYPE ${cfg.SOLVER.TYPE} is not supported here (SGD)`);
  const optimizer = sgd(student.parameters(), { lr: cfg.SOLVER.LR, momentum: cfg.SOLVER.MOMENTUM, weightDecay: cfg.SOLVER.WEIGHT_DECAY });
  if (group && args.syncBn) convertSyncBatchNorm(student, group);
  const ddp = group ? await makeDdp(student, { group }) : undefined;
  const distiller = distillers.create(name, { teacher, student, optimizer, ddp, ...settings });
  const limit = positiveInt('--limit-batches', args.limitBatches);
  const out = args.out ?? path.join('runs', `${(cfg.EXPERIMENT.TAG || name).replace(/[^A-Za-z0-9_.-]+/g, '_')}`);
  const trainer = new Trainer({
    distiller, train: limited(trainLoader, limit), test: limited(testLoader, limit), epochs: cfg.SOLVER.EPOCHS,
    schedule: multiStep({ milestones: cfg.SOLVER.LR_DECAY_STAGES, gamma: cfg.SOLVER.LR_DECAY_RATE }),
    outDir: out, config: { ...cfg, M: scales, worldSize: world }, progress: args.progress === false ? false : 'auto', group: group ?? null,
  });
  say(`sdd-torch train: ${name} | teacher ${teacher ? cfg.DISTILLER.TEACHER : '-'} | student ${cfg.DISTILLER.STUDENT} | M ${JSON.stringify(scales)} | ` +
    `${sets.train.length} train / ${sets.test.length} test images | ${cfg.SOLVER.EPOCHS} epochs | run folder ${out}` +
    (group ? ` | ${world} ranks (${group.backend}), ${batchSize} images per rank per step` : ''));
  const result = args.resume ? await trainer.resume(out) : await trainer.fit();
  if (ddp) say(`data parallel: ${ddp.totals.steps} gradient exchanges, ${(ddp.totals.ms / Math.max(1, ddp.totals.steps)).toFixed(1)} ms each on average (rank 0)`);
  say(`done: ${result.epochs} epochs${result.interrupted ? ' (interrupted: resume with --resume)' : ''}; best test top-1 ${(100 * Math.max(0, result.best.top1)).toFixed(2)}% (epoch ${result.best.epoch})`);
  // stopped by a signal: the conventional 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129)
  if (result.interrupted) process.exitCode = 128 + (result.signal ? os.constants.signals[result.signal] ?? 2 : 2);
}
