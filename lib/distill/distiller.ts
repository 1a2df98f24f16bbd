// The teacher/student step shared by every method: teacher forward (eval, no grad), student
// forward, the method's named loss terms, backward, gradient clipping, optimizer step.
import { Tensor } from '../core/tensor.js';
import { tidy } from '../core/scope.js';
import { noGrad } from '../core/autograd.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import { checkOptionValue, invalidParameterError, NonFiniteLossError } from '../core/errors.js';
import type { NonFinitePolicy } from '../sdd/losses.js';
import type { DistillModel, ModelOutput } from './types.js';

export interface StepInput {
  images: Tensor;
  targets: Tensor;
  /** 1-based epoch (loss warm-up of the DKD family reads it). */
  epoch?: number;
}

export interface StepResult {
  /** total loss (sum of the weighted terms) */
  loss: number;
  /** each weighted term, e.g. { ce, kd } */
  terms: Record<string, number>;
  /** top-1 accuracy of the student's global logits on this batch, in [0, 1] (before the update) */
  accuracy: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  /** SDD methods: how many region rows were complementary, and (with details) every row weight */
  sdd?: { complementary: number; rows: number; weights?: number[] };
  /** true when a non-finite loss term made this step skip the update (options.nonFinite: 'skip') */
  skipped: boolean;
}

export interface DistillerOptions {
  teacher?: DistillModel;
  student: DistillModel;
  optimizer: Optimizer<{ lr: number }>;
  /** clip the global gradient norm before each step (the reference: 40); 0 or null disables */
  clipGradNorm?: number | null;
  /** return every SDD row weight in step results (costs a copy) */
  details?: boolean;
  /**
   * data parallelism: `await sdd.dist.ddp(student)`. Gradients are averaged across ranks between
   * backward and clipping; use stepAsync() (the Trainer does).
   */
  ddp?: GradientSync;
  /**
   * A non-finite (NaN/Inf) loss term: 'error' (default) throws a NonFiniteLossError naming the step,
   * the epoch and the term, before anything is updated; 'skip' skips the batch (no backward, no
   * optimizer step; a warning, and `skipped: true` in the step result). The distillation losses get
   * the same policy: with 'skip', non-finite logits make their term zero (see sdd.losses), and the
   * batch trains on the remaining terms when those are finite. With options.ddp a skipped batch
   * still joins the gradient exchange with zero gradients, so every rank takes the same step.
   */
  nonFinite?: NonFinitePolicy;
}

/** What a distiller needs from data parallelism (sdd.dist.DistributedDataParallel is one). */
export interface GradientSync {
  /** called right before backward (lets the exchange overlap backward) */
  beforeBackward?(): void;
  averageGradients(): Promise<unknown>;
}

/** The loss terms of one batch: weighted tensors plus optional SDD bookkeeping. */
export interface LossTerms {
  terms: Record<string, Tensor>;
  sdd?: { complementary: number; rows: number; weights?: Tensor };
}

export abstract class Distiller {
  abstract readonly name: string;
  readonly teacher: DistillModel | undefined;
  readonly student: DistillModel;
  readonly optimizer: Optimizer<{ lr: number }>;
  readonly clip: number | null;
  readonly details: boolean;
  readonly ddp: GradientSync | undefined;
  readonly nonFinite: NonFinitePolicy;
  /** whether this method needs the teacher */
  protected readonly needsTeacher: boolean = true;

  constructor(opts: DistillerOptions) {
    if (!opts || typeof opts !== 'object') throw invalidParameterError('options', 'an options object', opts);
    if (opts.clipGradNorm !== undefined) checkOptionValue('options.clipGradNorm', opts.clipGradNorm, { kind: 'number', min: 0, nullable: true, expected: 'a non-negative number, 0 or null (no clipping)' });
    if (opts.details !== undefined) checkOptionValue('options.details', opts.details, 'boolean');
    if (opts.teacher !== undefined && (typeof opts.teacher !== 'object' || opts.teacher === null || typeof opts.teacher.forward !== 'function')) {
      throw invalidParameterError('options.teacher', 'a model with forward() (or no teacher)', opts.teacher);
    }
    if (!opts.student || typeof opts.student.forward !== 'function') throw invalidParameterError('options.student', 'a model with forward()', opts.student);
    if (!opts.optimizer || typeof opts.optimizer.step !== 'function') throw invalidParameterError('options.optimizer', 'an optimizer (e.g. sdd.optim.sgd(...))', opts.optimizer);
    this.teacher = opts.teacher;
    this.student = opts.student;
    this.optimizer = opts.optimizer;
    this.clip = opts.clipGradNorm === undefined ? 40 : opts.clipGradNorm;
    this.details = opts.details === true;
    if (opts.ddp !== undefined && typeof opts.ddp?.averageGradients !== 'function') throw invalidParameterError('options.ddp', 'a DistributedDataParallel (await sdd.dist.ddp(student))', opts.ddp);
    this.ddp = opts.ddp;
    if (opts.nonFinite !== undefined && opts.nonFinite !== 'error' && opts.nonFinite !== 'skip') {
      throw invalidParameterError('options.nonFinite', "'error' or 'skip'", opts.nonFinite);
    }
    this.nonFinite = opts.nonFinite ?? 'error';
  }

  /** steps started by this distiller (1-based in messages) and the epoch of the current one */
  #steps = 0;
  #epoch = 1;

  /**
   * Computes one named loss term. With nonFinite 'error', the losses' error for non-finite logits
   * comes out as a NonFiniteLossError naming the step, the epoch and this term.
   */
  protected term<T>(name: string, compute: () => T): T {
    try {
      return compute();
    } catch (e) {
      throw this.#asNonFinite(e, name);
    }
  }

  #asNonFinite(e: unknown, term: string | null): unknown {
    if (!(e instanceof Error) || e instanceof NonFiniteLossError || !e.message.includes('contains a non-finite value')) return e;
    // the loss function's own advice (nonFinite: 'skip' on the loss) is replaced by the distiller's
    const detail = e.message.split('\n')[0]!.replace(/; check the model's outputs.*$/, '');
    const fn = /(losses\.\w+):/.exec(detail)?.[1];
    return this.#nonFiniteError(term ?? `from ${fn ?? 'a loss'}`, detail);
  }

  #nonFiniteError(term: string, detail: string): NonFiniteLossError {
    const quoted = term.startsWith('from ') ? `the loss term ${term}` : `the loss term '${term}'`;
    return new NonFiniteLossError(`distiller '${this.name}': ${quoted} is not finite at step ${this.#steps} (epoch ${this.#epoch}): ${detail}. ` +
      'Training stopped before the optimizer step (the weights are those of the previous step). Check the model\'s outputs ' +
      "(a too-high learning rate or a bad input batch), or pass nonFinite: 'skip' in the distiller options to skip such batches.",
    this.name, term, this.#steps, this.#epoch);
  }

  /** The method's weighted loss terms for one batch (teacherOut is undefined for vanilla). */
  protected abstract losses(student: ModelOutput, teacher: ModelOutput | undefined, targets: Tensor, epoch: number): LossTerms;

  /** One training step (single process: with options.ddp use stepAsync). */
  step(input: StepInput): StepResult {
    if (this.ddp) throw new Error(`distiller '${this.name}' has options.ddp: call await stepAsync() (gradients are averaged across ranks off the main thread)`);
    const r = this.#forwardBackward(input);
    if (!r.skipped) r.gradNorm = this.#update();
    return r;
  }

  /** One training step; with options.ddp the gradients are averaged across ranks before the update. */
  async stepAsync(input: StepInput): Promise<StepResult> {
    const r = this.#forwardBackward(input);
    if (this.ddp) await this.ddp.averageGradients();
    // a skipped batch: no update, except that with ddp the other ranks' average is applied here too
    if (!r.skipped || this.ddp) r.gradNorm = this.#update();
    return r;
  }

  /** Forward, losses, backward: gradients are left on the student's parameters. */
  #forwardBackward(input: StepInput): StepResult {
    const { images, targets } = input;
    const epoch = input.epoch ?? 1;
    if (!(images instanceof Tensor)) throw invalidParameterError('images', 'a Tensor', images);
    if (!(targets instanceof Tensor)) throw invalidParameterError('targets', 'a Tensor', targets);
    if (this.needsTeacher && !this.teacher) throw new Error(`distiller '${this.name}' needs a teacher (options.teacher)`);
    this.student.train();
    this.teacher?.eval();
    this.#steps += 1;
    this.#epoch = epoch;
    return tidy(() => {
      this.optimizer.zeroGrad();
      const teacherOut = this.needsTeacher ? noGrad(() => this.teacher!.forward(images)) : undefined;
      const studentOut = this.student.forward(images);
      let lt: LossTerms;
      try {
        lt = this.losses(studentOut, teacherOut, targets, epoch);
      } catch (e) {
        throw this.#asNonFinite(e, null);
      }
      const { terms, sdd } = lt;
      const names = Object.keys(terms);
      let total = terms[names[0]!]!;
      for (const n of names.slice(1)) total = total.add(terms[n]!);
      // checked before backward: a non-finite loss never reaches the gradients or the weights
      const values = names.map((n) => terms[n]!.item() as number);
      const loss = total.item() as number;
      const badIndex = values.findIndex((v) => !Number.isFinite(v));
      const bad = badIndex >= 0 ? names[badIndex]! : Number.isFinite(loss) ? null : 'total';
      if (bad !== null) {
        const value = bad === 'total' ? loss : values[badIndex]!;
        if (this.nonFinite === 'error') throw this.#nonFiniteError(bad, `${bad} = ${value}`);
        process.emitWarning(`distiller '${this.name}': the loss term '${bad}' is ${value} at step ${this.#steps} (epoch ${epoch}); ` +
          "the batch was skipped (nonFinite: 'skip')", { code: 'SDD_TORCH_NONFINITE' });
        if (this.ddp) {
          // join the exchange with zero gradients (graph through every trainable parameter)
          this.ddp.beforeBackward?.();
          const params = this.student.parameters().filter((p) => p.requiresGrad);
          if (params.length > 0) params.map((p) => p.sum().mul(0)).reduce((a, b) => a.add(b)).backward();
        }
      } else {
        this.ddp?.beforeBackward?.();
        total.backward();
      }
      const accuracy = noGrad(() => studentOut.logits.argmax(1).eq(targets).float().mean().item() as number);
      const result: StepResult = {
        loss,
        terms: Object.fromEntries(names.map((n, i) => [n, values[i]!])),
        accuracy,
        gradNorm: Number.NaN,
        skipped: bad !== null,
      };
      if (sdd) {
        result.sdd = { complementary: sdd.complementary, rows: sdd.rows };
        if (sdd.weights) result.sdd.weights = Array.from(sdd.weights.toTypedArray() as Float32Array);
      }
      return result;
    });
  }

  /** Clipping and the optimizer step; returns the gradient norm before clipping (NaN without clipping). */
  #update(): number {
    return tidy(() => {
      const gradNorm = this.clip ? clipGradNorm(this.student.parameters(), this.clip) : Number.NaN;
      this.optimizer.step();
      return gradNorm;
    });
  }
}
