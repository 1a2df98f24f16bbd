// The teacher's decoupled predictions, per image: its global prediction and, for every SDD region
// (regions.ts), the local top class, its probability and whether the region is consistent or
// complementary. The rule is the SDD losses' (sdd-method.md §3, sdd/losses.ts): pred = argmax over
// the K classes (first maximum on ties) of the region's logits; the global prediction is region 0's
// (the 1x1 grid, as the losses take it); a region is consistent when (its pred == target) equals
// (global pred == target), complementary otherwise, so region 0 is always consistent.
import { Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { tidy } from '../core/scope.js';
import { checkOptions, invalidParameterError } from '../core/errors.js';
import { regionLayout, type Region } from './regions.js';

export type Agreement = 'consistent' | 'complementary';

export interface RegionExplanation extends Region {
  /** The region's top class (argmax of scaleLogits[b, :, n]). */
  pred: number;
  /** Its softmax probability within the region. */
  prob: number;
  /** pred == target. */
  correct: boolean;
  kind: Agreement;
}

export interface ImageExplanation {
  /** The image's index in its data set, when known. */
  index?: number;
  target: number;
  /** The global prediction SDD compares against: region 0's top class. */
  pred: number;
  /** Its probability. */
  prob: number;
  correct: boolean;
  /** argmax of the model's global logits, when they were given (equal to pred for the zoo's CIFAR models). */
  logitsPred?: number;
  /** Every region in scaleLogits' order (regions.ts). */
  regions: RegionExplanation[];
}

/** What explain needs of a model: forward(x) -> { logits, scaleLogits } (a zoo SddModel). */
export interface ExplainModel {
  forward(x: Tensor): { logits: Tensor; scaleLogits?: Tensor | null };
  eval?(): unknown;
  train?(mode?: boolean): unknown;
  readonly training?: boolean;
}

export interface ExplainOptions {
  /** The model's SDD grids (default [1, 2, 4]); their region count must match scaleLogits. */
  scales?: number[];
  /** Data set indices of the batch's images, copied into the explanations. */
  indices?: ArrayLike<number>;
}

const SCHEMA = { scales: 'any', indices: 'any' } as const;

/** Numbers of a 1-d targets tensor or array. */
export function targetList(name: string, targets: Tensor | ArrayLike<number | bigint>): number[] {
  const raw = targets instanceof Tensor ? (tidy(() => targets.detach().cpu().toTypedArray()) as ArrayLike<number | bigint>) : targets;
  if (raw == null || typeof (raw as ArrayLike<unknown>).length !== 'number') throw invalidParameterError(name, 'a 1-d tensor or an array of class indices', targets);
  const out = Array.from(raw as ArrayLike<number | bigint>, (v) => Number(v));
  out.forEach((v, i) => { if (!Number.isInteger(v) || v < 0) throw invalidParameterError(`${name}[${i}]`, 'a class index (an integer >= 0)', v); });
  return out;
}

/** Top class (first maximum) and its softmax probability of K logits read with a stride. */
function top(data: ArrayLike<number>, start: number, k: number, stride: number): { pred: number; prob: number } {
  let best = 0;
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    const v = data[start + c * stride]!;
    if (v > max || (Number.isNaN(v) && !Number.isNaN(max))) { max = v; best = c; }
  }
  let sum = 0;
  for (let c = 0; c < k; c++) sum += Math.exp(data[start + c * stride]! - max);
  return { pred: best, prob: 1 / sum };
}

/** Float values of a tensor on the CPU, row-major. */
function floats(t: Tensor): Float32Array {
  return tidy(() => t.detach().float().cpu().contiguous().toTypedArray() as Float32Array);
}

/**
 * Explains given outputs: scaleLogits B x K x N (and optionally the global logits B x K) with the
 * batch's targets.
 */
export function explainOutputs(scaleLogits: Tensor, targets: Tensor | ArrayLike<number | bigint>, opts: ExplainOptions & { logits?: Tensor } = {}): ImageExplanation[] {
  const o = checkOptions<ExplainOptions & { logits?: Tensor }>('explain.explainOutputs options', opts, { ...SCHEMA, logits: 'any' }, { name: 'options', hints: { M: 'scales' } });
  if (!(scaleLogits instanceof Tensor)) throw invalidParameterError('scaleLogits', 'a Tensor B x K x N', scaleLogits);
  const shape = scaleLogits.shape;
  if (shape.length !== 3) throw invalidParameterError('scaleLogits', 'a 3-d tensor B x K x N (a ModelOutput\'s scaleLogits)', `a tensor of shape [${shape.join(', ')}]`);
  const [B, K, N] = shape as [number, number, number];
  const layout = regionLayout(o.scales ?? [1, 2, 4]);
  if (layout.length !== N) {
    throw new RangeError(`explain: scaleLogits has N = ${N} regions but scales [${(o.scales ?? [1, 2, 4]).join(', ')}] give ${layout.length}; pass the model's scales`);
  }
  const y = targetList('targets', targets);
  if (y.length !== B) throw new RangeError(`explain: ${y.length} targets for a batch of ${B} images`);
  y.forEach((t, i) => { if (t >= K) throw invalidParameterError(`targets[${i}]`, `a class index below K = ${K}`, t, true); });
  const idx = o.indices === undefined ? undefined : Array.from(o.indices);
  if (idx !== undefined && idx.length !== B) throw new RangeError(`explain: options.indices has ${idx.length} entries for a batch of ${B} images`);
  const s = floats(scaleLogits);
  let g: Float32Array | undefined;
  if (o.logits !== undefined) {
    if (!(o.logits instanceof Tensor) || o.logits.shape.length !== 2 || o.logits.shape[0] !== B || o.logits.shape[1] !== K) {
      throw invalidParameterError('options.logits', `a B x K = ${B} x ${K} tensor`, o.logits);
    }
    g = floats(o.logits);
  }
  const out: ImageExplanation[] = [];
  for (let b = 0; b < B; b++) {
    const target = y[b]!;
    // scaleLogits[b, c, n] is at (b * K + c) * N + n
    const global = top(s, b * K * N, K, N);
    const correct = global.pred === target;
    const regions = layout.map((r): RegionExplanation => {
      const local = top(s, b * K * N + r.index, K, N);
      const rc = local.pred === target;
      return { ...r, pred: local.pred, prob: local.prob, correct: rc, kind: rc === correct ? 'consistent' : 'complementary' };
    });
    const e: ImageExplanation = { target, pred: global.pred, prob: global.prob, correct, regions };
    if (idx !== undefined) e.index = idx[b]!;
    if (g !== undefined) e.logitsPred = top(g, b * K, K, 1).pred;
    out.push(e);
  }
  return out;
}

/** Runs the model (eval mode, no grad) on a batch of images B x C x H x W and explains its outputs. */
export function explainBatch(model: ExplainModel, images: Tensor, targets: Tensor | ArrayLike<number | bigint>, opts: ExplainOptions = {}): ImageExplanation[] {
  if (model == null || typeof (model as ExplainModel).forward !== 'function') throw invalidParameterError('model', 'a model with forward(x) -> { logits, scaleLogits } (a zoo model)', model);
  if (!(images instanceof Tensor) || images.shape.length !== 4) throw invalidParameterError('images', 'a 4-d tensor B x C x H x W', images);
  const wasTraining = model.training === true;
  model.eval?.();
  try {
    return tidy(() => noGrad(() => {
      const out = model.forward(images);
      if (!(out?.scaleLogits instanceof Tensor)) {
        throw new TypeError('explain: the model\'s forward returned no scaleLogits; use a zoo model (sdd.models.create) with SDD scales, e.g. [1, 2, 4]');
      }
      return explainOutputs(out.scaleLogits, targets, { ...opts, logits: out.logits });
    }));
  } finally {
    if (wasTraining) model.train?.();
  }
}
