// The teacher/student step shared by every method: teacher forward (eval, no grad), student
// forward, the method's named loss terms, backward, gradient clipping, optimizer step.
import { Tensor } from '../core/tensor.js';
import { tidy } from '../core/scope.js';
import { noGrad } from '../core/autograd.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import { checkBoolean, checkOptionValue, checkOptions, invalidParameterError, NonFiniteLossError, StateDictError, TeacherOutputsError } from '../core/errors.js';
import { Module } from '../nn/module.js';
import type { NonFinitePolicy } from '../sdd/losses.js';
import type { DistillModel, ModelOutput } from './types.js';
import { OfflineTeacher } from './offline-teacher.js';

export interface StepInput {
  images: Tensor;
  targets: Tensor;
  /** 1-based epoch (loss warm-up of the DKD family reads it). */
  epoch?: number;
  /** CRD: each image's position in the data set (B), as sdd.data.instanceSample yields it */
  index?: Tensor;
  /** CRD: each image's position followed by its K negatives (B x (K+1)) */
  contrastIndex?: Tensor;
  /**
   * each image's position in the training data set (a loader batch's `indices`): what a teacher
   * given as stored outputs (OfflineTeacher) is read by; the Trainer passes them
   */
  indices?: Int32Array | readonly number[];
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

/**
 * Builds the optimizer from the parameters to train: the student's and the method's own modules'
 * (distiller.parameters()), e.g. `(params) => sdd.optim.sgd(params, { lr: 0.05, momentum: 0.9 })`.
 */
export type OptimizerFactory = (params: Tensor[]) => Optimizer<{ lr: number }>;

export interface DistillerOptions {
  teacher?: DistillModel;
  student: DistillModel;
  /**
   * The optimizer, or a factory called with distiller.parameters() (the student's parameters and
   * those of the method's own modules: FitNet's regressor, ...). Methods with modules of their own
   * need the factory form (or an optimizer built from distiller.parameters()): an optimizer over the
   * student alone would leave their modules untrained, which is an error.
   */
  optimizer: Optimizer<{ lr: number }> | OptimizerFactory;
  /**
   * clip the global gradient norm of all trained parameters (student and the method's own modules,
   * as the reference's clip_grad_norm_(distiller.parameters(), 40)) before each step (default 40);
   * 0 or null disables
   */
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
  readonly clip: number | null;
  readonly details: boolean;
  readonly ddp: GradientSync | undefined;
  readonly nonFinite: NonFinitePolicy;
  /** whether this method needs the teacher */
  protected readonly needsTeacher: boolean = true;
  /**
   * Run the teacher in training mode (batch statistics, running statistics updated) as the
   * reference's OFD does (its train() override puts every child, the teacher included, in training
   * mode); false (eval) for every other method.
   */
  protected teacherTraining = false;

  constructor(opts: DistillerOptions) {
    if (!opts || typeof opts !== 'object') throw invalidParameterError('options', 'an options object', opts);
    if (opts.clipGradNorm !== undefined) checkOptionValue('options.clipGradNorm', opts.clipGradNorm, { kind: 'number', min: 0, nullable: true, expected: 'a non-negative number, 0 or null (no clipping)' });
    if (opts.details !== undefined) checkOptionValue('options.details', opts.details, 'boolean');
    if (opts.teacher !== undefined && (typeof opts.teacher !== 'object' || opts.teacher === null || typeof opts.teacher.forward !== 'function')) {
      throw invalidParameterError('options.teacher', 'a model with forward() (or no teacher)', opts.teacher);
    }
    if (!opts.student || typeof opts.student.forward !== 'function') throw invalidParameterError('options.student', 'a model with forward()', opts.student);
    if (typeof opts.optimizer === 'function') this.#optimizerFactory = opts.optimizer;
    else if (!opts.optimizer || typeof opts.optimizer.step !== 'function') {
      throw invalidParameterError('options.optimizer', 'an optimizer (e.g. sdd.optim.sgd(...)) or a function (params) => optimizer', opts.optimizer);
    } else this.#optimizer = opts.optimizer;
    this.teacher = opts.teacher;
    this.student = opts.student;
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

  // ------------------------------------------------------------ modules of the method's own
  #optimizer: Optimizer<{ lr: number }> | null = null;
  #optimizerFactory: OptimizerFactory | null = null;
  #optimizerChecked = false;
  readonly #modules = new Map<string, Module>();

  /**
   * Registers a module the method trains along with the student (FitNet's `conv_reg`, ...): its
   * parameters join parameters(), its state joins stateDict() under `name.`, it is moved to the
   * student's device and dtype and trained in training mode (the reference's distiller.train()).
   * Call it in the constructor, then setupOptimizer().
   */
  protected registerModule<M extends Module>(name: string, module: M): M {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalidParameterError('name', 'a module name (letters, digits, _)', name);
    if (!(module instanceof Module)) throw invalidParameterError(`module '${name}'`, 'an nn.Module', module);
    if (this.#modules.has(name)) throw new Error(`distiller '${this.name}': a module '${name}' is already registered`);
    if (this.#optimizerChecked) throw new Error(`distiller '${this.name}': register modules before the optimizer is set up (setupOptimizer())`);
    const p = this.student.parameters()[0];
    if (p) module.to({ device: p.device as never, dtype: p.dtype });
    this.#modules.set(name, module);
    return module;
  }

  /** The method's own modules (name, module), in registration order. */
  ownModules(): [string, Module][] {
    return [...this.#modules.entries()];
  }

  /** The learnable parameters of the method's own modules (empty for most methods). */
  ownParameters(): Tensor[] {
    return [...this.#modules.values()].flatMap((m) => m.parameters());
  }

  /**
   * Everything this method trains: the student's parameters, then its own modules' (the reference's
   * get_learnable_parameters()). What the optimizer factory receives and the gradient clipping covers.
   */
  parameters(): Tensor[] {
    return [...this.student.parameters(), ...this.ownParameters()];
  }

  /**
   * The state of the method's own modules under the reference's names (`conv_reg.conv.weight`,
   * `conv_reg.bn.running_mean`, ...); empty for methods without any. The student is not included
   * (it has its own stateDict).
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, m] of this.#modules) Object.assign(out, m.stateDict({ prefix: `${name}.` }));
    return out;
  }

  /**
   * Loads stateDict() entries (keys as the reference names them). Missing and unexpected keys are
   * an error unless { strict: false }; shape mismatches always are.
   */
  loadStateDict(sd: Record<string, Tensor> | Map<string, Tensor>, opts: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    const o = checkOptions<{ strict?: boolean }>('distiller.loadStateDict options', opts, { strict: 'boolean' });
    const strict = o.strict === undefined ? true : checkBoolean('strict', o.strict);
    if (sd === null || typeof sd !== 'object') throw invalidParameterError('stateDict', 'an object or Map of name -> Tensor', sd);
    const entries = sd instanceof Map ? [...sd.entries()] : Object.entries(sd);
    const parts = new Map<string, Record<string, Tensor>>([...this.#modules.keys()].map((n) => [n, {}]));
    const unexpected: string[] = [];
    for (const [k, v] of entries) {
      const dot = k.indexOf('.');
      const part = dot > 0 ? parts.get(k.slice(0, dot)) : undefined;
      if (part) part[k.slice(dot + 1)] = v;
      else unexpected.push(k);
    }
    const missing: string[] = [];
    for (const [name, m] of this.#modules) {
      const own = Object.keys(m.stateDict());
      const part = parts.get(name)!;
      missing.push(...own.filter((k) => !(k in part)).map((k) => `${name}.${k}`));
      for (const k of Object.keys(part)) {
        if (!own.includes(k)) {
          unexpected.push(`${name}.${k}`);
          delete part[k];
        }
      }
    }
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      throw new StateDictError(`distiller '${this.name}'`, missing, unexpected, [],
        this.#modules.size === 0 ? `'${this.name}' has no modules of its own: its state dict is empty` : '');
    }
    // every module checks its shapes before anything is copied into any of them
    const loaded: [Module, Record<string, Tensor>][] = [...this.#modules].map(([n, m]) => [m, parts.get(n)!]);
    const mismatched: StateDictError['mismatchedKeys'] = [];
    for (const [n, m] of this.#modules) {
      const own = m.stateDict({ keepVars: true });
      for (const [k, v] of Object.entries(parts.get(n)!)) {
        const e = own[k];
        if (e && (e.shape.length !== v.shape.length || e.shape.some((d, i) => d !== v.shape[i]))) mismatched.push({ key: `${n}.${k}`, expected: e.shape, received: v.shape });
      }
    }
    if (mismatched.length > 0) throw new StateDictError(`distiller '${this.name}'`, [], [], mismatched, '');
    for (const [m, part] of loaded) m.loadStateDict(part, { strict: false });
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** The optimizer (built by options.optimizer's factory on first use when one was given). */
  get optimizer(): Optimizer<{ lr: number }> {
    this.setupOptimizer();
    return this.#optimizer!;
  }

  /**
   * Builds the optimizer from a factory and checks that it covers the method's own parameters.
   * Distillers with modules of their own call it at the end of their constructor (so a wrong
   * optimizer is reported there); otherwise it runs on first use.
   */
  protected setupOptimizer(): void {
    if (this.#optimizerChecked) return;
    if (this.#optimizer === null) {
      const opt = this.#optimizerFactory!(this.parameters());
      if (!opt || typeof (opt as { step?: unknown }).step !== 'function' || !Array.isArray((opt as { paramGroups?: unknown }).paramGroups)) {
        throw invalidParameterError('options.optimizer', 'a function returning an optimizer (e.g. (params) => sdd.optim.sgd(params, { lr: 0.05 }))', opt);
      }
      this.#optimizer = opt;
    }
    const own = this.ownParameters().filter((p) => p.requiresGrad);
    if (own.length > 0) {
      const covered = new Set(this.#optimizer.params);
      const names = this.ownModules().flatMap(([n, m]) => m.namedParameters({ prefix: n })).filter(([, p]) => p.requiresGrad && !covered.has(p)).map(([k]) => k);
      if (names.length > 0) {
        throw new Error(`distiller '${this.name}': options.optimizer does not update the method's own parameters (${names.slice(0, 4).join(', ')}` +
          `${names.length > 4 ? `, … ${names.length} in all` : ''}): '${this.name}' trains modules of its own along with the student, and an ` +
          'optimizer built from the student alone would leave them at their initial values. Pass a factory instead: ' +
          'optimizer: (params) => sdd.optim.sgd(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }) (it receives distiller.parameters()), ' +
          'or build the optimizer from distiller.parameters().');
      }
      if (this.ddp) {
        throw new Error(`distiller '${this.name}': options.ddp averages the student's gradients only, and '${this.name}' trains modules of its own; ` +
          'data-parallel training of such methods is not supported yet');
      }
    }
    this.#optimizerChecked = true;
  }

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

  /** The method's weighted loss terms for one batch (teacherOut is undefined for vanilla; input: the whole step input, e.g. CRD's indices). */
  protected abstract losses(student: ModelOutput, teacher: ModelOutput | undefined, targets: Tensor, epoch: number, input: StepInput): LossTerms;

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
    this.setupOptimizer();
    this.student.train();
    for (const m of this.#modules.values()) m.train();
    if (this.teacherTraining) this.teacher?.train();
    else this.teacher?.eval();
    this.#steps += 1;
    this.#epoch = epoch;
    return tidy(() => {
      this.optimizer.zeroGrad();
      const teacherOut = this.needsTeacher ? this.#teacherOutput(images, input) : undefined;
      const studentOut = this.student.forward(images);
      let lt: LossTerms;
      try {
        lt = this.losses(studentOut, teacherOut, targets, epoch, input);
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

  /** The teacher's outputs for the batch: run (no grad), or read from stored outputs by sample index. */
  #teacherOutput(images: Tensor, input: StepInput): ModelOutput {
    const teacher = this.teacher!;
    if (!(teacher instanceof OfflineTeacher)) return noGrad(() => teacher.forward(images));
    const indices = input.indices ?? input.index;
    if (indices === undefined) {
      throw new TeacherOutputsError(`distiller '${this.name}': the teacher is stored outputs (OfflineTeacher), read by each image's position in the data set: ` +
        'pass indices to step({ images, targets, indices }) (a DataLoader batch has them as batch.indices; the Trainer passes them)');
    }
    const n = indices instanceof Tensor ? indices.numel : indices.length;
    if (n !== images.shape[0]) throw invalidParameterError('indices', `one sample index per image (${images.shape[0]})`, `${n} indices` as unknown, true);
    return teacher.outputs(indices, images.device);
  }

  /** Clipping and the optimizer step; returns the gradient norm before clipping (NaN without clipping). */
  #update(): number {
    return tidy(() => {
      const gradNorm = this.clip ? clipGradNorm(this.parameters(), this.clip) : Number.NaN;
      this.optimizer.step();
      return gradNorm;
    });
  }
}
