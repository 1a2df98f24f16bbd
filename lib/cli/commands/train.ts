// `sdd-torch train --config <yaml>`: the authors' experiment configs run as they are. This file
// parses the arguments; sdd.experiment (lib/experiment/) builds and runs the experiment.
import os from 'node:os';
import { setNumThreads } from '../../core/runtime.js';
import { ConfigError } from '../../core/errors.js';
import { checkDevice, type Device } from '../../core/dtype.js';
import { initProcessGroup, type ProcessGroup } from '../../dist/process-group.js';
import { fromConfig } from '../../distill/index.js';
import { build } from '../../experiment/build.js';
import { defaultConfig, loadConfig, parseScales, type ExperimentConfig } from '../../experiment/config.js';
import { presetFile, presetNames } from '../../experiment/presets.js';

export interface TrainArgs {
  config?: string;
  preset?: string | boolean;
  set?: string[];
  M?: string;
  warmup?: string;
  allowAnyScales?: boolean;
  allowReplicate?: boolean;
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
  seed?: string;
  /** commander's --no-augment: false */
  augment?: boolean;
  teacherOutputs?: string;
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
      const { name } = fromConfig(cfg);
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
  const warmup = int('--warmup', args.warmup);
  // --warmup is the reference's train_origin.py argument: SDD_DKD's warm-up (default 20); the other
  // methods of the DKD family read DKD.WARMUP (--set DKD.WARMUP=...), as in the reference
  const cfg = loadConfig(configFile(args), args.set ?? []);
  const scales = args.M ? parseScales(args.M, { allowAnyScales: args.allowAnyScales === true }) : [1, 2, 4];
  const threads = int('--threads', args.threads) ?? int('$SDD_TORCH_THREADS', process.env.SDD_TORCH_THREADS);
  if (threads) setNumThreads(threads);
  // Started by `sdd-torch launch` / --nproc-per-node (WORLD_SIZE > 1): one rank of a data-parallel run.
  const group: ProcessGroup | undefined = Number(process.env.WORLD_SIZE ?? 1) > 1 ? await initProcessGroup() : undefined;
  try {
    await trainRank(args, cfg, scales, group, warmup);
  } finally {
    group?.destroy();
  }
}

async function trainRank(args: TrainArgs, cfg: ExperimentConfig, scales: number[], group: ProcessGroup | undefined, warmup: number | undefined): Promise<void> {
  const say = (line: string) => { if ((group?.rank ?? 0) === 0) console.log(line); };
  const experiment = await build(cfg, {
    scales, group, data: args.data, teacherCheckpoint: args.teacherCheckpoint, device: (args.device ?? 'cpu') as Device, out: args.out,
    seed: int('--seed', args.seed), workers: int('--workers', args.workers), limitBatches: positiveInt('--limit-batches', args.limitBatches),
    progress: args.progress === false ? false : 'auto', syncBn: args.syncBn, warmup,
    ...(args.allowAnyScales === true ? { allowAnyScales: true } : {}), ...(args.allowReplicate === true ? { allowReplicate: true } : {}),
    ...(args.augment === false ? { augment: false } : {}), ...(args.teacherOutputs !== undefined ? { teacherOutputs: args.teacherOutputs } : {}),
  });
  say(`sdd-torch train: ${experiment.summary}`);
  const result = await experiment.run({ resume: args.resume === true });
  const { ddp } = experiment;
  if (ddp) say(`data parallel: ${ddp.totals.steps} gradient exchanges, ${(ddp.totals.ms / Math.max(1, ddp.totals.steps)).toFixed(1)} ms each on average (rank 0)`);
  say(`done: ${result.epochs} epochs${result.interrupted ? ' (interrupted: resume with --resume)' : ''}; best test top-1 ${(100 * Math.max(0, result.best.top1)).toFixed(2)}% (epoch ${result.best.epoch})`);
  // stopped by a signal: the conventional 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129)
  if (result.interrupted) process.exitCode = 128 + (result.signal ? os.constants.signals[result.signal] ?? 2 : 2);
}
