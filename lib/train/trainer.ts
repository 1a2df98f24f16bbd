// The Trainer: epochs of distiller steps with a schedule, evaluation, best-model tracking, JSON-lines
// metrics, a progress bar, and checkpoints (latest + best) written atomically that resume
// bit-exactly: the data order is a function of (seed, epoch), and the checkpoint holds the model,
// the optimizer state, the RNG state and the position inside the epoch.
import { mkdirSync, existsSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tidy, dispose } from '../core/scope.js';
import { getRngState, setRngState } from '../core/runtime.js';
import { isTensor, type Tensor } from '../core/tensor.js';
import { readSafetensors, saveSync } from '../checkpoint/index.js';
import { removeStaleTempFiles } from '../checkpoint/atomic.js';
import { constant, type Schedule } from '../optim/schedules.js';
import type { Distiller, StepResult } from '../distill/distiller.js';
import { invalidParameterError, checkInteger, checkOptions, type OptionSchema } from '../core/errors.js';
import { evaluate, type BatchLike, type EvalResult } from './evaluate.js';
import { createProgress } from './progress.js';
import { tensor } from '../core/creation.js';
import { DistributedSampler } from '../data/sampler.js';
import { group as defaultGroup, isInitialized, type ProcessGroup } from '../dist/process-group.js';

/** A loader the trainer can restart at any (epoch, batch): sdd.data.DataLoader is one. */
export interface EpochLoader {
  readonly length: number;
  epoch(epoch: number, opts?: { startBatch?: number }): AsyncIterable<BatchLike>;
}

export interface StepEvent extends StepResult { epoch: number; batch: number; lr: number; imagesPerSecond: number }
export interface EpochEvent {
  epoch: number;
  lr: number;
  train: { loss: number; accuracy: number; terms: Record<string, number>; imagesPerSecond: number; seconds: number };
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

interface Position { epoch: number; batch: number }

const FORMAT = 'sdd-torch-trainer-checkpoint/1';

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
/** The signals fit() turns into an orderly stop (handleSigint). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const signalNumber = (sig: NodeJS.Signals): number => os.constants.signals[sig] ?? 0;
const ignore = () => {};

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
    this.baseLrs = opts.distiller.optimizer.paramGroups.map((g) => g.options.lr);
  }

  get position(): Position { return { ...this.#position }; }

  #ckpt(name: string): string | undefined {
    return this.opts.outDir && this.isMain ? path.join(this.opts.outDir, `${name}.safetensors`) : undefined;
  }

  /** Writes a checkpoint (student, optimizer, RNG, position) atomically. */
  saveCheckpoint(file: string): void {
    const { distiller } = this.opts;
    const student = distiller.student as unknown as { stateDict?: () => Record<string, Tensor> };
    if (typeof student.stateDict !== 'function') throw new Error('Trainer checkpoints need a student with stateDict() (an nn.Module)');
    tidy(() => {
      const sd: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(student.stateDict!())) sd[`model.${k}`] = v;
      const opt = distiller.optimizer.stateDict();
      const scalars: Record<string, Record<string, number>> = {};
      for (const [i, s] of Object.entries(opt.state)) {
        for (const [name, v] of Object.entries(s)) {
          if (isTensor(v)) sd[`optim.${i}.${name}`] = v;
          else (scalars[i] ??= {})[name] = v;
        }
      }
      sd['rng.cpu'] = getRngState();
      const meta = {
        format: FORMAT, position: this.#position, best: this.#best, baseLrs: this.baseLrs,
        optimizer: { type: distiller.optimizer.constructor.name, paramGroups: opt.paramGroups, scalars }, schedule: this.opts.schedule?.name ?? 'constant',
        distiller: distiller.name, config: this.opts.config ?? null, savedAt: new Date().toISOString(),
      };
      saveSync(sd, file, { metadata: { 'sdd-torch': JSON.stringify(meta) } });
    });
  }

  /** Restores a checkpoint written by saveCheckpoint(); fit() then continues from its position. */
  loadCheckpoint(file: string): void {
    const { tensors, metadata } = readSafetensors(file);
    try {
      const raw = metadata?.['sdd-torch'];
      if (!raw) throw new Error(`${file}: not an sdd-torch trainer checkpoint (no 'sdd-torch' metadata)`);
      const meta = JSON.parse(raw);
      if (meta.format !== FORMAT) throw new Error(`${file}: unknown checkpoint format ${meta.format}`);
      const { distiller } = this.opts;
      const model: Record<string, Tensor> = {};
      const state: Record<number, Record<string, Tensor | number>> = {};
      for (const [k, v] of Object.entries(tensors)) {
        if (k.startsWith('model.')) model[k.slice(6)] = v;
        else if (k.startsWith('optim.')) {
          const [, i, name] = k.split('.');
          (state[Number(i)] ??= {})[name!] = v;
        }
      }
      for (const [i, s] of Object.entries(meta.optimizer.scalars as Record<string, Record<string, number>>)) Object.assign(state[Number(i)] ??= {}, s);
      const student = distiller.student as unknown as { loadStateDict?: (sd: Record<string, Tensor>, o?: { strict?: boolean }) => void };
      if (typeof student.loadStateDict !== 'function') throw new Error('Trainer checkpoints need a student with loadStateDict() (an nn.Module)');
      // checked before anything is loaded, so a refused checkpoint leaves the run as it was
      const savedType = meta.optimizer.type as string | undefined;
      const ownType = distiller.optimizer.constructor.name;
      if (savedType !== undefined && savedType !== ownType) {
        throw new Error(`${file}: the checkpoint's optimizer state is ${savedType}'s but this run uses ${ownType}: ` +
          `resume with the optimizer the run was started with (${savedType}), or load only the weights (sdd.checkpoint.load(file), keys model.*) into a new run`);
      }
      distiller.optimizer.checkStateDict({ state, paramGroups: meta.optimizer.paramGroups }, file);
      student.loadStateDict(model, { strict: true });
      try {
        distiller.optimizer.loadStateDict({ state, paramGroups: meta.optimizer.paramGroups });
      } catch (e) {
        (e as Error).message = `${file}: ${(e as Error).message}`;
        throw e;
      }
      setRngState(tensors['rng.cpu']!);
      this.#position = meta.position;
      this.#best = meta.best;
    } finally {
      dispose(tensors);
    }
  }

  /** Loads `<dir>/latest.safetensors` (default: options.outDir) and continues training. */
  async resume(dir = this.opts.outDir): Promise<FitResult> {
    if (!dir) throw new Error('resume() needs a run folder (options.outDir or the argument)');
    const file = path.join(dir, 'latest.safetensors');
    if (!existsSync(file)) throw new Error(`resume: ${file} does not exist (nothing to resume in ${dir})`);
    this.loadCheckpoint(file);
    return this.fit();
  }

  #metrics(line: Record<string, unknown>): void {
    if (!this.opts.outDir || !this.isMain) return;
    appendFileSync(path.join(this.opts.outDir, 'metrics.jsonl'), `${JSON.stringify(line)}\n`);
  }

  async fit(): Promise<FitResult> {
    const o = this.opts;
    const { distiller } = o;
    const schedule = o.schedule ?? constant();
    const userLog = o.log ?? ((l: string) => console.log(l));
    const log = (l: string) => { if (this.isMain) userLog(l); };
    const g = this.group;
    const writes = Boolean(o.outDir) && this.isMain;
    if (writes) {
      mkdirSync(o.outDir!, { recursive: true });
      // temporary files of checkpoint writes that a kill -9 (or a crash) cut short
      for (const t of removeStaleTempFiles(o.outDir!)) {
        log(`sdd-torch: removed ${path.basename(t.file)} (${(t.bytes / 2 ** 20).toFixed(1)} MiB), the temporary file of a checkpoint write by process ${t.pid}, which is gone`);
      }
    }
    // `requested`: a stop asked for here (abort, signal); `stop`: the stop decided after a step
    // (in a distributed run, agreed by every rank, so a request waits for the next step's agreement)
    let requested: string | null = null;
    let stop: string | null = null;
    let stopSignal: NodeJS.Signals | undefined;
    let signalled = false;
    const onAbort = () => { requested ??= 'aborted'; };
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) requested = 'aborted';
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) process.exit(128 + signalNumber(sig)); // a second signal leaves at once
      signalled = true;
      requested = sig;
      stopSignal = sig;
      // the terminal is gone: writes to it fail (EIO), and an unhandled stream error would end the process before the checkpoint
      if (sig === 'SIGHUP') for (const s of [process.stdout, process.stderr]) if (s.listenerCount('error') === 0) s.on('error', ignore);
      process.stderr.write(`\nsdd-torch: ${sig}: finishing the current step and writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C again' : 'another signal'} to quit now)\n`);
    };
    const handles = o.handleSigint ?? Boolean(o.outDir);
    const handlers = STOP_SIGNALS.map((sig) => [sig, () => onSignal(sig)] as const);
    if (handles) for (const [sig, h] of handlers) process.on(sig, h);
    const bar = createProgress(this.isMain ? o.progress ?? 'auto' : false);
    let interrupted = false;
    try {
      // one process stops at the next step boundary; ranks stop after a step they agreed on
      while (this.#position.epoch <= o.epochs && !stop && (g || !requested)) {
        const epoch = this.#position.epoch;
        distiller.optimizer.setLr((g) => schedule.lr(epoch, this.baseLrs[g]!));
        const lr = distiller.optimizer.lr;
        const total = o.train.length;
        let seen = 0, lossSum = 0, accSum = 0, steps = 0;
        const termSums: Record<string, number> = {};
        const t0 = performance.now();
        bar.start(total, epoch, o.epochs, this.#position.batch);
        for await (const batch of o.train.epoch(epoch, { startBatch: this.#position.batch })) {
          const bs = batch.targets.numel;
          let r: StepResult;
          try {
            r = await distiller.stepAsync({ images: batch.images, targets: batch.targets, epoch });
          } finally {
            dispose([batch.images, batch.targets]);
          }
          seen += bs;
          // a batch skipped for a non-finite loss (nonFinite: 'skip') stays out of the epoch's averages
          if (!r.skipped) {
            steps++; lossSum += r.loss; accSum += r.accuracy;
            for (const [k, v] of Object.entries(r.terms)) termSums[k] = (termSums[k] ?? 0) + v;
          }
          this.#position.batch += 1;
          const ips = seen / Math.max((performance.now() - t0) / 1000, 1e-9);
          bar.update(this.#position.batch, { loss: lossSum / Math.max(steps, 1), acc: accSum / Math.max(steps, 1), ips });
          o.onStep?.({ ...r, epoch, batch: this.#position.batch - 1, lr, imagesPerSecond: ips });
          if (o.checkpointEvery && this.#position.batch % o.checkpointEvery === 0 && writes) this.saveCheckpoint(this.#ckpt('latest')!);
          // every rank stops after the same step (a rank that stopped alone would leave the others
          // waiting); a request that comes in during this exchange waits for the next one
          if (g) {
            const asked = requested;
            const [any, sigNum] = await allReduceNumbers(g, 'max', [asked ? 1 : 0, asked && stopSignal ? signalNumber(stopSignal) : 0]);
            if (any! > 0) {
              stop = asked ?? 'stop on another rank';
              stopSignal ??= STOP_SIGNALS.find((s) => signalNumber(s) === sigNum);
            }
          } else {
            stop = requested;
          }
          if (stop) break;
          // let timers, signals and finalizers run between steps
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        bar.stop();
        if (stop) {
          interrupted = true;
          if (writes) this.saveCheckpoint(this.#ckpt('latest')!);
          log(`sdd-torch: stopped (${stop}) at epoch ${epoch}, batch ${this.#position.batch}${writes ? `; checkpoint ${this.#ckpt('latest')}` : ''}`);
          break;
        }
        let seconds = (performance.now() - t0) / 1000;
        let test = o.test ? await evaluate(distiller.student, isEpochLoader(o.test) ? o.test.epoch(0) : o.test) : undefined;
        if (g) {
          // sums over ranks: each rank trained (and evaluated) its own shard
          const t = test ?? { top1: 0, top5: 0, loss: 0, count: 0 };
          const terms = Object.keys(termSums); // the same names in the same order on every rank
          const [l, a, n, s2, c1, c5, cl, cn, sec, ...ts] = await allReduceNumbers(g, 'sum',
            [lossSum, accSum, steps, seen, t.top1 * t.count, t.top5 * t.count, t.loss * t.count, t.count, seconds, ...terms.map((k) => termSums[k]!)]);
          lossSum = l!; accSum = a!; steps = n!; seen = s2!; seconds = sec! / g.worldSize;
          terms.forEach((k, i) => { termSums[k] = ts[i]!; });
          if (test) test = { top1: cn ? c1! / cn : 0, top5: cn ? c5! / cn : 0, loss: cn ? cl! / cn : 0, count: cn! };
        }
        const isBest = test !== undefined && test.top1 > this.#best.top1;
        if (isBest) this.#best = { top1: test!.top1, epoch };
        const event: EpochEvent = {
          epoch, lr,
          train: { loss: lossSum / Math.max(steps, 1), accuracy: accSum / Math.max(steps, 1), terms: Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, v / Math.max(steps, 1)])), imagesPerSecond: seen / seconds, seconds },
          test, best: { ...this.#best },
        };
        this.#history.push(event);
        this.#position = { epoch: epoch + 1, batch: 0 };
        if (writes) {
          this.saveCheckpoint(this.#ckpt('latest')!);
          if (isBest) this.saveCheckpoint(this.#ckpt('best')!);
        }
        this.#metrics({ type: 'epoch', ...event, time: new Date().toISOString() });
        o.onEpochEnd?.(event);
        log(`epoch ${epoch}/${o.epochs}  lr ${lr.toExponential(2)}  loss ${event.train.loss.toFixed(4)}  train acc ${(100 * event.train.accuracy).toFixed(2)}%` +
          (test ? `  test top1 ${(100 * test.top1).toFixed(2)}%  top5 ${(100 * test.top5).toFixed(2)}%` : '') +
          `  ${event.train.imagesPerSecond.toFixed(0)} img/s  ${seconds.toFixed(1)} s`);
      }
      // a single process asked to stop between epochs (during the evaluation): the epoch's checkpoint is written
      if (!interrupted && requested && !g && this.#position.epoch <= o.epochs) {
        interrupted = true;
        if (writes) this.saveCheckpoint(this.#ckpt('latest')!);
        log(`sdd-torch: stopped (${requested}) at epoch ${this.#position.epoch}, batch ${this.#position.batch}${writes ? `; checkpoint ${this.#ckpt('latest')}` : ''}`);
      }
    } finally {
      bar.stop();
      o.signal?.removeEventListener('abort', onAbort);
      if (handles) for (const [sig, h] of handlers) process.off(sig, h);
    }
    return { epochs: this.#position.epoch - 1, interrupted, ...(interrupted && stopSignal ? { signal: stopSignal } : {}), best: { ...this.#best }, history: [...this.#history] };
  }
}

/** A few numbers reduced element-wise over the ranks (float64). */
async function allReduceNumbers(g: ProcessGroup, op: 'sum' | 'max', values: number[]): Promise<number[]> {
  const t = tensor(values, { dtype: 'float64' });
  try {
    await g.allReduce(t, op);
    return Array.from(t.toTypedArray() as Float64Array);
  } finally {
    t.dispose();
  }
}

function isEpochLoader(x: unknown): x is EpochLoader {
  return typeof (x as EpochLoader).epoch === 'function';
}
