// Shared by the feature-distillation methods (AT, FitNet, KDSVD, NST, PKT, RKD, SP): the features
// both models must return, the small functional pieces the reference's losses are made of
// (F.normalize, F.mse_loss, F.smooth_l1_loss, the spatial alignment by adaptive average pooling),
// and the mapping from the reference's config sections to our settings.
import { Tensor, where } from '../core/tensor.js';
import { zeros } from '../core/creation.js';
import { noGrad } from '../core/autograd.js';
import { tidy } from '../core/scope.js';
import * as F from '../nn/functional.js';
import { crossEntropy } from '../nn/losses.js';
import { Distiller, type DistillerOptions, type LossTerms, type StepInput } from './distiller.js';
import { methodSettings } from './settings.js';
import type { DistillModel, ModelOutput } from './types.js';
import { OfflineTeacher } from './offline-teacher.js';
import { TeacherOutputsError } from '../core/errors.js';

/** The three feature lists of the reference's models (feats["feats"], feats["preact_feats"], feats["pooled_feat"]). */
export type FeatureKind = 'stages' | 'preact' | 'pooled';

const REFERENCE_NAME: Record<FeatureKind, string> = { stages: 'feats["feats"]', preact: 'feats["preact_feats"]', pooled: 'feats["pooled_feat"]' };

function missing(method: string, who: string, kind: FeatureKind): Error {
  return new Error(`${method}: the ${who} must return features.${kind} from forward() (the reference's ${REFERENCE_NAME[kind]}); ` +
    "the zoo's models do (sdd.models.create); for your own model return { logits, features: { stages: [stem, stage1, ...], pooled } }");
}

/** The student's and the teacher's feature list (stages / preact), the teacher's cast to the student's dtype. */
export function featureLists(method: string, s: ModelOutput, t: ModelOutput | undefined, kind: 'stages' | 'preact'): [Tensor[], Tensor[]] {
  const fs = s.features?.[kind];
  if (!Array.isArray(fs) || fs.length === 0) throw missing(method, 'student', kind);
  const ft = t?.features?.[kind];
  if (!Array.isArray(ft) || ft.length === 0) throw missing(method, 'teacher', kind);
  return [fs, ft.map((f, i) => sameDtype(f, fs[Math.min(i, fs.length - 1)]!))];
}

/** The student's and the teacher's pooled feature (B x C). */
export function pooledFeatures(method: string, s: ModelOutput, t: ModelOutput | undefined): [Tensor, Tensor] {
  const fs = s.features?.pooled;
  if (!(fs instanceof Tensor)) throw missing(method, 'student', 'pooled');
  const ft = t?.features?.pooled;
  if (!(ft instanceof Tensor)) throw missing(method, 'teacher', 'pooled');
  return [fs, sameDtype(ft, fs)];
}

/** A frozen teacher may run in bfloat16/float16: its features are compared in the student's dtype. */
function sameDtype(t: Tensor, like: Tensor): Tensor {
  return t.dtype === like.dtype ? t : t.to(like.dtype);
}

/** F.normalize(x, p=2, dim): x / max(||x||, eps). */
export function normalize(x: Tensor, dim: number, eps = 1e-12): Tensor {
  return x.div(x.norm(2, dim, true).clamp(eps));
}

/** F.mse_loss (mean). */
export function mseLoss(a: Tensor, b: Tensor): Tensor {
  return a.sub(b).square().mean();
}

/** F.smooth_l1_loss (beta 1, mean): 0.5 d^2 where |d| < 1, |d| - 0.5 elsewhere. */
export function smoothL1Loss(a: Tensor, b: Tensor): Tensor {
  const d = a.sub(b).abs();
  const quad = d.square().mul(0.5);
  const lin = d.sub(0.5);
  return where(d.lt(1), quad, lin).mean();
}

/**
 * The reference's spatial alignment of two maps before comparing them: the larger one is average
 * pooled (adaptive) to the smaller one's height, as a square (AT, NST).
 */
export function alignSpatial(fs: Tensor, ft: Tensor): [Tensor, Tensor] {
  const sH = fs.shape[2]!, tH = ft.shape[2]!;
  if (sH > tH) return [F.adaptiveAvgPool2d(fs, [tH, tH]), ft];
  if (sH < tH) return [fs, F.adaptiveAvgPool2d(ft, [sH, sH])];
  return [fs, ft];
}

/**
 * The reference's config section of a feature method (cfg.AT, cfg.FITNET, ...: the YAML keys as in
 * its mdistiller/engine/cfg.py) as our settings, e.g. { LOSS: { CE_WEIGHT: 1, FEAT_WEIGHT: 1000 }, P: 2 }
 * -> { ceWeight: 1, featWeight: 1000, p: 2 }. Keys the method does not have are left out.
 */
export function referenceFeatureSettings(type: string, section: Record<string, unknown> | undefined): Record<string, unknown> {
  const s = (section ?? {}) as Record<string, unknown> & { LOSS?: Record<string, unknown>; PDIST?: Record<string, unknown> };
  const out: Record<string, unknown> = {};
  const put = (key: string, v: unknown): void => { if (v !== undefined) out[key] = v; };
  put('ceWeight', s.LOSS?.CE_WEIGHT);
  put('featWeight', s.LOSS?.FEAT_WEIGHT);
  switch (type.toUpperCase()) {
    case 'AT': put('p', s.P); break;
    case 'FITNET': put('hintLayer', s.HINT_LAYER); put('inputSize', s.INPUT_SIZE); break;
    case 'KDSVD': put('k', s.K); break;
    case 'RKD':
      put('distanceWeight', s.DISTANCE_WEIGHT); put('angleWeight', s.ANGLE_WEIGHT);
      put('eps', s.PDIST?.EPSILON); put('squared', s.PDIST?.SQUARED);
      break;
    default: break;
  }
  return out;
}

/**
 * The reference's config sections of the feature methods with its defaults (mdistiller/engine/cfg.py),
 * for experiment configs that read the authors' YAML files (AT, FITNET, KDSVD, NST, PKT, RKD, SP).
 */
export function referenceFeatureConfigDefaults(): Record<string, Record<string, unknown>> {
  return {
    AT: { P: 2, LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 1000.0 } },
    RKD: { DISTANCE_WEIGHT: 25, ANGLE_WEIGHT: 50, LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 1.0 }, PDIST: { EPSILON: 1e-12, SQUARED: false } },
    FITNET: { HINT_LAYER: 2, INPUT_SIZE: [32, 32], LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 100.0 } },
    KDSVD: { K: 1, LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 1.0 } },
    NST: { LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 50.0 } },
    PKT: { LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 30000.0 } },
    SP: { LOSS: { CE_WEIGHT: 1.0, FEAT_WEIGHT: 3000.0 } },
  };
}

/** A method's settings from an experiment config's section of the reference's name (cfg.AT, ...; absent: the defaults). */
export function featureSettingsFromConfig(type: string, cfg: object): Record<string, unknown> {
  return referenceFeatureSettings(type, (cfg as Record<string, Record<string, unknown> | undefined>)[type]);
}

/** An experiment-config reader for a method's section (static fromConfig): the shared keys plus `extra` (setting -> dotted path in the section, e.g. { featDim: 'FEAT.DIM' }). */
export function configReader(type: string, extra: Record<string, string> = {}): (cfg: object) => Record<string, unknown> {
  return (cfg: object) => {
    const out = featureSettingsFromConfig(type, cfg);
    const section = (cfg as Record<string, unknown>)[type];
    for (const [key, path] of Object.entries(extra)) {
      let v: unknown = section;
      for (const part of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
      if (v !== undefined) out[key] = v;
    }
    return out;
  };
}

/** The sum of loss(0) + ... + loss(n - 1) (in that order); n < 1 is the method's error. */
export function sumLosses(method: string, n: number, loss: (i: number) => Tensor): Tensor {
  let total: Tensor | null = null;
  for (let i = 0; i < n; i++) {
    const l = loss(i);
    total = total === null ? l : total.add(l);
  }
  if (total === null) throw new Error(`${method}: no feature pair to compare`);
  return total;
}

/** The student's input size (the reference's INPUT_SIZE, 32x32 for CIFAR; model.defaultInputSize() when it has one). */
export function studentInputSize(student: DistillModel): [number, number] {
  const s = student as DistillModel & { defaultInputSize?: () => [number, number] };
  return typeof s.defaultInputSize === 'function' ? s.defaultInputSize() : [32, 32];
}

/** read(model's output) for one zero input of `size`, in eval mode and without gradients (the training mode restored). */
export function probeForward<T>(model: DistillModel, size: [number, number], read: (out: ModelOutput) => T): T {
  const wasTraining = model.training !== false;
  model.eval();
  try {
    return noGrad(() => tidy(() => {
      const p = model.parameters()[0];
      return read(model.forward(zeros([1, 3, size[0], size[1]], p ? { dtype: p.dtype, device: p.device as never } : {})));
    }));
  } finally {
    if (wasTraining) model.train();
  }
}

/** The shapes of features.stages for an input of `size` (model.featureShapes() when it has one). */
export function stageShapes(model: DistillModel, size: [number, number], who: string): number[][] {
  const m = model as DistillModel & { featureShapes?: (s?: [number, number]) => { stages: number[][] } };
  if (typeof m.featureShapes === 'function') return m.featureShapes(size).stages;
  return probeForward(m, size, (out) => {
    const st = out.features?.stages;
    if (!Array.isArray(st)) throw new Error(`fitnet: the ${who} must return features.stages from forward() (the reference's feats["feats"])`);
    return st.map((t) => t.shape);
  });
}

/**
 * A feature-distillation method: its settings (the method's defaults, validated), and a step of
 * CE (ceWeight) + one feature term `kd` (the method's featureTerm, weighted by featureWeight).
 */
export abstract class FeatureDistiller<S extends Record<string, unknown> & { ceWeight: number }> extends Distiller {
  readonly settings: S;
  /** given: the options the settings are read from (default: opts). */
  constructor(method: string, opts: DistillerOptions, defaults: S, given: object = opts) {
    super(opts);
    this.settings = methodSettings(method, given, defaults);
    if (opts.teacher instanceof OfflineTeacher) {
      throw new TeacherOutputsError(`distiller '${method}' reads the teacher's features, and stored teacher outputs (OfflineTeacher) hold only its logits ` +
        'and multi-scale logits: pass the teacher model itself');
    }
  }
  /** The teacher, for a method that builds its modules from it. */
  protected requireTeacher(method: string): DistillModel {
    if (!this.teacher) throw new Error(`distiller '${method}' needs a teacher (options.teacher)`);
    return this.teacher;
  }
  /**
   * The feature term: reads (and checks) what it needs at once and returns the unweighted loss's
   * computation, which runs as the loss term `kd`.
   */
  protected abstract featureTerm(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number, input: StepInput): () => Tensor;
  /** The feature term's weight (default: featWeight); null: none. */
  protected featureWeight(_epoch: number): number | null {
    return (this.settings as unknown as { featWeight: number }).featWeight;
  }
  protected losses(s: ModelOutput, t: ModelOutput | undefined, y: Tensor, epoch: number, input: StepInput): LossTerms {
    const compute = this.featureTerm(s, t, y, epoch, input);
    const kd = this.term('kd', compute);
    const w = this.featureWeight(epoch);
    return { terms: { ce: crossEntropy(s.logits, y).mul(this.settings.ceWeight), kd: w === null ? kd : kd.mul(w) } };
  }
}
