// The teacher/student step shared by every method: teacher forward (eval, no grad), student
// forward, the method's named loss terms, backward, gradient clipping, optimizer step.
import { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { noGrad } from '../autograd.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import { invalidParameterError } from '../errors.js';
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
  /** whether this method needs the teacher */
  protected readonly needsTeacher: boolean = true;

  constructor(opts: DistillerOptions) {
    if (!opts || typeof opts !== 'object') throw invalidParameterError('options', 'an options object', opts);
    if (!opts.student || typeof opts.student.forward !== 'function') throw invalidParameterError('options.student', 'a model with forward()', opts.student);
    if (!opts.optimizer || typeof opts.optimizer.step !== 'function') throw invalidParameterError('options.optimizer', 'an optimizer (e.g. sdd.optim.sgd(...))', opts.optimizer);
    this.teacher = opts.teacher;
    this.student = opts.student;
    this.optimizer = opts.optimizer;
    this.clip = opts.clipGradNorm === undefined ? 40 : opts.clipGradNorm;
    this.details = opts.details === true;
    if (opts.ddp !== undefined && typeof opts.ddp?.averageGradients !== 'function') throw invalidParameterError('options.ddp', 'a DistributedDataParallel (await sdd.dist.ddp(student))', opts.ddp);
    this.ddp = opts.ddp;
  }

  /** The method's weighted loss terms for one batch (teacherOut is undefined for vanilla). */
  protected abstract losses(student: ModelOutput, teacher: ModelOutput | undefined, targets: Tensor, epoch: number): LossTerms;

  /** One training step (single process: with options.ddp use stepAsync). */
  step(input: StepInput): StepResult {
    if (this.ddp) throw new Error(`distiller '${this.name}' has options.ddp: call await stepAsync() (gradients are averaged across ranks off the main thread)`);
    const r = this.#forwardBackward(input);
    r.gradNorm = this.#update();
    return r;
  }

  /** One training step; with options.ddp the gradients are averaged across ranks before the update. */
  async stepAsync(input: StepInput): Promise<StepResult> {
    const r = this.#forwardBackward(input);
    if (this.ddp) await this.ddp.averageGradients();
    r.gradNorm = this.#update();
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
    return tidy(() => {
      this.optimizer.zeroGrad();
      const teacherOut = this.needsTeacher ? noGrad(() => this.teacher!.forward(images)) : undefined;
      const studentOut = this.student.forward(images);
      const { terms, sdd } = this.losses(studentOut, teacherOut, targets, epoch);
      const names = Object.keys(terms);
      let total = terms[names[0]!]!;
      for (const n of names.slice(1)) total = total.add(terms[n]!);
      this.ddp?.beforeBackward?.();
      total.backward();
      const accuracy = noGrad(() => studentOut.logits.argmax(1).eq(targets).float().mean().item() as number);
      const result: StepResult = {
        loss: total.item() as number,
        terms: Object.fromEntries(names.map((n) => [n, terms[n]!.item() as number])),
        accuracy,
        gradNorm: Number.NaN,
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
