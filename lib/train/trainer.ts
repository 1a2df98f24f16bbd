// The Trainer's loop: epochs of distiller steps with a schedule, evaluation, best-model tracking, a
// progress bar, and checkpoints (latest + best) written atomically that resume bit-exactly: the data
// order is a function of (seed, epoch), and the checkpoint holds the model, the optimizer state, the
// RNG state and the position inside the epoch. Its parts: checkpoint.ts (the format), metrics.ts
// (epoch sums, their reduction over ranks, JSON lines), signals.ts (orderly stops).
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { dispose } from '../core/scope.js';
import { constant, type Schedule } from '../optim/schedules.js';
import type { Distiller, StepResult } from '../distill/distiller.js';
import type { Tensor } from '../core/tensor.js';
import { invalidParameterError, checkInteger, checkOptions, type OptionSchema } from '../core/errors.js';
import { removeStaleTempFiles } from '../checkpoint/atomic.js';
import { evaluate, type BatchLike, type EvalResult } from './evaluate.js';
import { createProgress } from './progress.js';
import { DistributedSampler } from '../data/sampler.js';
import { group as defaultGroup, isInitialized, type ProcessGroup } from '../dist/process-group.js';
import { loadCheckpoint, saveCheckpoint, type Position } from './checkpoint.js';
import { appendMetrics, EpochTotals, type TrainFigures } from './metrics.js';
import { StopRequests } from './signals.js';
import { OfflineTeacher } from '../distill/offline-teacher.js';
import type { Dataset } from '../data/dataset.js';
import type { Transform } from '../data/transforms.js';

/** A loader the trainer can restart at any (epoch, batch): sdd.data.DataLoader is one. */
export interface EpochLoader {
  readonly length: number;
  epoch(epoch: number, opts?: { startBatch?: number }): AsyncIterable<BatchLike>;
  /** the data set and transforms (DataLoader has them): checked against stored teacher outputs */
  readonly dataset?: Dataset;
  readonly transforms?: readonly Transform[];
}

export interface StepEvent extends StepResult { epoch: number; batch: number; lr: number; imagesPerSecond: number }
export interface EpochEvent {
  epoch: number;
  lr: number;
  train: TrainFigures;
  test?: EvalResult;
  best: { top1: number; epoch: number };
}

export interface TrainerOptions {
  distiller: Distiller;
  train: EpochLoader;
  test?: EpochLoader | AsyncIterable<BatchLike>;
  epochs: number;
  /** lr per epoch from the optimizer's initial lr (default constant). */
  schedule?: Schedule;
  /** run folder: latest.safetensors, best.safetensors, metrics.jsonl (none: nothing written) */
  outDir?: string;
  /** stored in checkpoints (e.g. the parsed YAML config) */
  config?: unknown;
  /** progress bar: 'auto' (default: only on a TTY), true, false */
  progress?: boolean | 'auto';
  /** also checkpoint every n steps (default: at the end of every epoch only) */
  checkpointEvery?: number;
  onStep?: (e: StepEvent) => void;
  onEpochEnd?: (e: EpochEvent) => void;
  /** aborting finishes the current step, writes a checkpoint and returns */
  signal?: AbortSignal;
  /**
   * SIGINT (Ctrl-C), SIGTERM (docker stop, systemd, timeout, schedulers) and SIGHUP (terminal closed)
   * finish the current step, write a checkpoint, and fit() returns { interrupted: true, signal }; a
   * second one quits at once with exit code 128 + its number. Default true when outDir is set.
   */
  handleSigint?: boolean;
  /** one line per epoch (default: console.log) */
  log?: (line: string) => void;
  /**
   * distributed runs: the process group (default: sdd.dist's default group when initialised, null
   * for none). With more than one rank, every rank runs fit(); only rank 0 writes checkpoints,
   * metrics, logs and the progress bar; epoch and test metrics are reduced across ranks; a stop
   * (Ctrl-C, abort) is agreed on so every rank stops after the same step.
   */
  group?: ProcessGroup | null;
}

export interface FitResult {
  /** epochs completed */
  epochs: number;
  interrupted: boolean;
  /**
   * the signal that stopped the run (SIGINT, SIGTERM or SIGHUP; in a distributed run, also one that
   * reached another rank): a command line exits with 128 + its number (os.constants.signals)
   */
  signal?: NodeJS.Signals;
  best: { top1: number; epoch: number };
  history: EpochEvent[];
}

const TRAINER_SCHEMA: OptionSchema = {
  distiller: 'any', train: 'any', epochs: 'any',
  test: { kind: 'object', expected: 'a DataLoader or an async iterable of batches', check: (name, v) => {
    if (typeof (v as EpochLoader).epoch !== 'function' && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') throw invalidParameterError(name, 'a DataLoader or an async iterable of batches', v);
    return v;
  } },
  schedule: { kind: 'object', expected: 'a schedule (sdd.schedules.multiStep(...), cosine(...), ...)', check: (name, v) => {
    if (typeof (v as Schedule).lr !== 'function') throw invalidParameterError(name, 'a schedule (sdd.schedules.multiStep(...), cosine(...), ...)', v);
    return v;
  } },
  outDir: { kind: 'string', expected: 'a run folder path (a non-empty string)', check: (name, v) => {
    if (v === '') throw invalidParameterError(name, 'a run folder path (a non-empty string)', v);
    return v;
  } },
  config: 'any',
  progress: { kind: 'any', oneOf: [true, false, 'auto'] },
  checkpointEvery: { kind: 'integer', min: 1 },
  onStep: 'function', onEpochEnd: 'function', log: 'function',
  signal: { kind: 'object', expected: 'an AbortSignal', check: (name, v) => {
    if (typeof (v as AbortSignal).addEventListener !== 'function' || typeof (v as AbortSignal).aborted !== 'boolean') throw invalidParameterError(name, 'an AbortSignal', v);
    return v;
  } },
  handleSigint: 'boolean',
  group: { kind: 'object', nullable: true, expected: 'a process group (sdd.dist) or null' },
};
/** What other trainers call these (PyTorch Lightning, Hugging Face, mdistiller). */
const TRAINER_HINTS: Record<string, string> = {
  output_dir: 'outDir', log_dir: 'outDir', logDir: 'outDir', save_dir: 'outDir', saveDir: 'outDir', out: 'outDir', dir: 'outDir',
  max_epochs: 'epochs', num_epochs: 'epochs', numEpochs: 'epochs', maxEpochs: 'epochs',
  lr_scheduler: 'schedule', lrScheduler: 'schedule', scheduler: 'schedule',
  save_steps: 'checkpointEvery', saveEvery: 'checkpointEvery', save_every: 'checkpointEvery',
  val: 'test', valid: 'test', validation: 'test', eval: 'test', val_loader: 'test', test_loader: 'test', train_loader: 'train',
  resume: 'trainer.resume(dir) instead of fit()',
};

/** One epoch's training, as fit() goes: its sums, and the reason it stopped early (or null). */
interface EpochRun { totals: EpochTotals; lr: number; seconds: number; stop: string | null }

export class Trainer {
  readonly opts: TrainerOptions;
  readonly baseLrs: number[];
  #position: Position = { epoch: 1, batch: 0 };
  #best = { top1: -1, epoch: 0 };
  #history: EpochEvent[] = [];
  readonly group: ProcessGroup | undefined;
  /** rank 0 (or a single process): the one that writes and reports */
  readonly isMain: boolean;

  constructor(opts: TrainerOptions) {
    if (!opts || typeof opts !== 'object') throw invalidParameterError('options', 'an options object', opts);
    checkOptions('Trainer options', opts, TRAINER_SCHEMA, { hints: TRAINER_HINTS });
    if (!opts.distiller || typeof opts.distiller.step !== 'function') throw invalidParameterError('options.distiller', 'a distiller (sdd.distillers.create)', opts.distiller);
    if (!opts.train || typeof opts.train.epoch !== 'function') throw invalidParameterError('options.train', 'a DataLoader (epoch(e, { startBatch }) and length)', opts.train);
    checkInteger('options.epochs', opts.epochs, 1);
    this.opts = opts;
    const g = opts.group === null ? undefined : opts.group ?? (isInitialized() ? defaultGroup() : undefined);
    this.group = g && g.worldSize > 1 ? g : undefined;
    this.isMain = !this.group || this.group.rank === 0;
    if (this.group && !opts.distiller.ddp) {
      throw new Error(`Trainer: ${this.group.worldSize} ranks but the distiller has no options.ddp: the replicas would drift apart. ` +
        'Create the distiller with { ddp: await sdd.dist.ddp(student) } (or pass group: null to train each rank alone)');
    }
    const sampler = (opts.train as { sampler?: unknown }).sampler;
    if (this.group && this.isMain && sampler !== undefined && !(sampler instanceof DistributedSampler)) {
      process.emitWarning(`Trainer: ${this.group.worldSize} ranks but the training loader's sampler is a ${(sampler as object).constructor?.name ?? typeof sampler}: ` +
        'every rank may be training on the same images. Give the DataLoader a sdd.data.DistributedSampler.', 'SddTorchWarning');
    }
    // stored teacher outputs describe one deterministic pipeline: refuse any other before the first step
    if (opts.distiller.teacher instanceof OfflineTeacher) opts.distiller.teacher.checkPipeline('Trainer options.train', opts.train);
    this.baseLrs = opts.distiller.optimizer.paramGroups.map((g) => g.options.lr);
  }

  get position(): Position { return { ...this.#position }; }

  /** Whether this process writes the run folder (rank 0 with an outDir). */
  get #writes(): boolean {
    return Boolean(this.opts.outDir) && this.isMain;
  }

  #ckpt(name: string): string {
    return path.join(this.opts.outDir!, `${name}.safetensors`);
  }

  /**
   * Writes a checkpoint (student, the distiller's own modules if any, optimizer, RNG, position)
   * atomically (format: checkpoint.ts).
   */
  saveCheckpoint(file: string): void {
    saveCheckpoint(file, this.opts.distiller, { position: this.#position, best: this.#best },
      { baseLrs: this.baseLrs, schedule: this.opts.schedule?.name ?? 'constant', config: this.opts.config });
  }

  /** Restores a checkpoint written by saveCheckpoint(); fit() then continues from its position. */
  loadCheckpoint(file: string): void {
    const state = loadCheckpoint(file, this.opts.distiller);
    this.#position = state.position;
    this.#best = state.best;
  }

  /** Loads `<dir>/latest.safetensors` (default: options.outDir) and continues training. */
  async resume(dir = this.opts.outDir): Promise<FitResult> {
    if (!dir) throw new Error('resume() needs a run folder (options.outDir or the argument)');
    const file = path.join(dir, 'latest.safetensors');
    if (!existsSync(file)) throw new Error(`resume: ${file} does not exist (nothing to resume in ${dir})`);
    this.loadCheckpoint(file);
    return this.fit();
  }

  #log(line: string): void {
    if (this.isMain) (this.opts.log ?? ((l: string) => console.log(l)))(line);
  }

  /** The run folder, without the temporary files of checkpoint writes that a kill -9 (or a crash) cut short. */
  #prepareOutDir(): void {
    const dir = this.opts.outDir!;
    mkdirSync(dir, { recursive: true });
    for (const t of removeStaleTempFiles(dir)) {
      this.#log(`sdd-torch: removed ${path.basename(t.file)} (${(t.bytes / 2 ** 20).toFixed(1)} MiB), the temporary file of a checkpoint write by process ${t.pid}, which is gone`);
    }
  }

  /** Stopped before the end: the latest checkpoint, and a line saying where. */
  #stopped(why: string): void {
    if (this.#writes) this.saveCheckpoint(this.#ckpt('latest'));
    this.#log(`sdd-torch: stopped (${why}) at epoch ${this.#position.epoch}, batch ${this.#position.batch}${this.#writes ? `; checkpoint ${this.#ckpt('latest')}` : ''}`);
  }

  async fit(): Promise<FitResult> {
    const o = this.opts;
    if (this.#writes) this.#prepareOutDir();
    const stops = new StopRequests(o.signal, o.handleSigint ?? Boolean(o.outDir));
    const bar = createProgress(this.isMain ? o.progress ?? 'auto' : false);
    let interrupted = false;
    try {
      // one process stops at the next step boundary; ranks stop after a step they agreed on
      while (this.#position.epoch <= o.epochs && (this.group || !stops.requested)) {
        const run = await this.#trainEpoch(stops, bar);
        if (run.stop) {
          interrupted = true;
          this.#stopped(run.stop);
          break;
        }
        await this.#endEpoch(run);
      }
      // a single process asked to stop between epochs (during the evaluation): the epoch's checkpoint is written
      if (!interrupted && stops.requested && !this.group && this.#position.epoch <= o.epochs) {
        interrupted = true;
        this.#stopped(stops.requested);
      }
    } finally {
      bar.stop();
      stops.dispose();
    }
    const signal = interrupted ? stops.signal : undefined;
    return { epochs: this.#position.epoch - 1, interrupted, ...(signal ? { signal } : {}), best: { ...this.#best }, history: [...this.#history] };
  }

  /** The steps of the current epoch from the current position, until its end or a stop. */
  async #trainEpoch(stops: StopRequests, bar: ReturnType<typeof createProgress>): Promise<EpochRun> {
    const o = this.opts;
    const { distiller } = o;
    const epoch = this.#position.epoch;
    const schedule = o.schedule ?? constant();
    distiller.optimizer.setLr((g) => schedule.lr(epoch, this.baseLrs[g]!));
    const lr = distiller.optimizer.lr;
    const totals = new EpochTotals();
    const t0 = performance.now();
    bar.start(o.train.length, epoch, o.epochs, this.#position.batch);
    let stop: string | null = null;
    for await (const batch of o.train.epoch(epoch, { startBatch: this.#position.batch })) {
      const images = batch.targets.numel;
      let r: StepResult;
      // a DataLoader batch's sample indices (read by stored teacher outputs); CRD's batches (the
      // experiment layer's SOLVER.TRAINER crd) carry index and contrastIndex too
      const extra = batch as { index?: Tensor; contrastIndex?: Tensor; indices?: Int32Array };
      try {
        r = await distiller.stepAsync({ images: batch.images, targets: batch.targets, epoch, ...(extra.indices ? { indices: extra.indices } : {}),
          ...(extra.index ? { index: extra.index, contrastIndex: extra.contrastIndex } : {}) });
      } finally {
        dispose([batch.images, batch.targets, ...(extra.index ? [extra.index] : []), ...(extra.contrastIndex ? [extra.contrastIndex] : [])]);
      }
      totals.add(r, images);
      this.#position.batch += 1;
      const ips = totals.seen / Math.max((performance.now() - t0) / 1000, 1e-9);
      bar.update(this.#position.batch, { loss: totals.loss, acc: totals.accuracy, ips });
      o.onStep?.({ ...r, epoch, batch: this.#position.batch - 1, lr, imagesPerSecond: ips });
      if (o.checkpointEvery && this.#position.batch % o.checkpointEvery === 0 && this.#writes) this.saveCheckpoint(this.#ckpt('latest'));
      stop = await stops.decide(this.group);
      if (stop) break;
      // let timers, signals and finalizers run between steps
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    bar.stop();
    return { totals, lr, seconds: (performance.now() - t0) / 1000, stop };
  }

  /** A finished epoch: evaluation, figures over every rank, best model, checkpoints, metrics, the log line. */
  async #endEpoch(run: EpochRun): Promise<void> {
    const o = this.opts;
    const epoch = this.#position.epoch;
    let { seconds } = run;
    let test = o.test ? await evaluate(o.distiller.student, isEpochLoader(o.test) ? o.test.epoch(0) : o.test) : undefined;
    if (this.group) ({ seconds, test } = await run.totals.reduce(this.group, seconds, test));
    const isBest = test !== undefined && test.top1 > this.#best.top1;
    if (isBest) this.#best = { top1: test!.top1, epoch };
    const event: EpochEvent = { epoch, lr: run.lr, train: run.totals.figures(seconds), test, best: { ...this.#best } };
    this.#history.push(event);
    this.#position = { epoch: epoch + 1, batch: 0 };
    if (this.#writes) {
      this.saveCheckpoint(this.#ckpt('latest'));
      if (isBest) this.saveCheckpoint(this.#ckpt('best'));
      appendMetrics(o.outDir!, { type: 'epoch', ...event, time: new Date().toISOString() });
    }
    o.onEpochEnd?.(event);
    this.#log(`epoch ${epoch}/${o.epochs}  lr ${run.lr.toExponential(2)}  loss ${event.train.loss.toFixed(4)}  train acc ${(100 * event.train.accuracy).toFixed(2)}%` +
      (test ? `  test top1 ${(100 * test.top1).toFixed(2)}%  top5 ${(100 * test.top5).toFixed(2)}%` : '') +
      `  ${event.train.imagesPerSecond.toFixed(0)} img/s  ${seconds.toFixed(1)} s`);
  }
}

function isEpochLoader(x: unknown): x is EpochLoader {
  return typeof (x as EpochLoader).epoch === 'function';
}
