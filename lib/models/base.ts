// What every zoo model shares: the SDD forward (global logits + multi-scale logits through the same
// classifier), the frozen-teacher casts, and small helpers the families use to build and run blocks.
import { Tensor } from '../core/tensor.js';
import { scaleLogits as sddScaleLogits, checkScales, DEFAULT_SCALES, type PoolMode } from '../sdd/pool.js';
import { checkInteger, invalidParameterError } from '../core/errors.js';
import { Module, markEphemeral } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Linear } from '../nn/layers.js';
import { ACT, type ActCode } from '../nn/binding.js';
import type { ModelOutput as DistillOutput } from '../distill/types.js';

export interface ModelOptions {
  /** Classes of the classifier (default: 100 for CIFAR-100 models, 1000 for ImageNet ones). */
  numClasses?: number;
  /** Grids of the SDD head (default [1, 2, 4]). */
  scales?: number[];
  /** Pooling of the SDD head: 'nested' (default, the reference) or 'direct' (see sdd.multiScalePool). */
  poolMode?: PoolMode;
}

export interface ModelFeatures {
  /** The last feature map B×C×H×W: input of the global pooling and of the SDD head. */
  map: Tensor;
  /** The stage outputs, as the reference's feats["feats"]. */
  stages: Tensor[];
  /** The stage outputs before their last ReLU, where the reference has them (feats["preact_feats"]). */
  preact?: Tensor[];
  /** The globally pooled vector B×C the classifier scores (feats["pooled_feat"]). */
  pooled: Tensor;
}

/**
 * What a zoo model's forward returns: the ModelOutput a distiller reads (distill/types.ts), with
 * scaleLogits always there, and the features.
 */
export interface ModelOutput extends DistillOutput {
  /** B×K×N: the same classifier on every region of the multi-scale grid (sdd.scaleLogits). */
  scaleLogits: Tensor;
  features: ModelFeatures;
}

export interface BodyOutput {
  map: Tensor;
  stages: Tensor[];
  preact?: Tensor[];
}

/**
 * A distillation model: a backbone whose last map feeds a global head and the SDD multi-scale head
 * with one shared classifier. Families implement `body` (the backbone) and `classifierLayer`.
 */
export abstract class SddModel extends Module {
  /** The registry name it was built as (e.g. 'resnet32x4'). */
  readonly arch: string;
  readonly numClasses: number;
  /** The SDD grids. */
  scales: number[];
  poolMode: PoolMode;
  /** Maps smaller than the largest scale repeat cells, as the reference does (CIFAR MobileNetV2's 2×2 map). */
  readonly allowReplicate: boolean;

  constructor(arch: string, opts: ModelOptions, defaults: { numClasses: number; allowReplicate?: boolean }) {
    super();
    this.arch = arch;
    this.numClasses = checkInteger('numClasses', opts.numClasses ?? defaults.numClasses, 1);
    this.scales = checkScales('scales', opts.scales ?? [...DEFAULT_SCALES]);
    const mode = opts.poolMode ?? 'nested';
    if (mode !== 'nested' && mode !== 'direct') throw invalidParameterError('poolMode', "'nested' or 'direct'", mode);
    this.poolMode = mode;
    this.allowReplicate = defaults.allowReplicate ?? false;
  }

  /** The backbone: input -> last map (+ stage features). */
  protected abstract body(x: Tensor): BodyOutput;

  /** The classifier shared by the global and the multi-scale head. */
  abstract classifierLayer(): Linear;

  /**
   * { logits, scaleLogits, features }. Converts the input to the model's memory format (see
   * toChannelsLast) and, when frozen with a dtype, to that dtype; logits then come back as float32.
   */
  override forward(x: Tensor): ModelOutput {
    if (!(x instanceof Tensor)) throw invalidParameterError('input', 'a Tensor', x);
    const dtype = this.frozen?.dtype ?? null;
    let inp = x;
    if (dtype !== null && x.dtype !== dtype) inp = x.to(dtype);
    if (this.memoryFormat === 'channelsLast') {
      const cl = inp.contiguous({ memoryFormat: 'channelsLast' });
      if (inp !== x) inp.dispose();
      inp = cl;
    }
    const { map, stages, preact } = this.body(inp);
    if (inp !== x) inp.dispose();
    const fc = this.classifierLayer();
    const { weight, bias } = fc.effectiveWeights();
    const pooled = map.mean([2, 3]);
    let logits = fc.forward(pooled);
    let scaleLogits = sddScaleLogits(map, weight, bias, { scales: this.scales, mode: this.poolMode, allowReplicate: this.allowReplicate });
    if (dtype !== null && dtype !== 'float32' && dtype !== 'float64') {
      const l = logits.float();
      const s = scaleLogits.float();
      logits.dispose();
      scaleLogits.dispose();
      logits = l;
      scaleLogits = s;
    }
    return { logits, scaleLogits, features: { map, stages, ...(preact ? { preact } : {}), pooled } };
  }
}

// ------------------------------------------------------------------ helpers for the families

/** The 3x3 convolution (padding 1, no bias) of the ResNet families. */
export function conv3x3(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
}

/** Runs conv -> bn -> (+ residual) -> act in one native call. */
export function cba(conv: Conv2d, bn: BatchNorm2d | null, x: Tensor, act: ActCode = ACT.relu, residual: Tensor | null = null): Tensor {
  return conv._fused(x, bn, residual, act, 0);
}

/**
 * Runs blocks in order, disposing each intermediate once the next block has consumed it (the input
 * and the tensors in `keepSet` excepted).
 */
export function runBlocks(blocks: Iterable<Module>, x: Tensor, keepSet?: Set<Tensor>): Tensor {
  let out = x;
  for (const b of blocks) {
    const next = b.forward(out) as Tensor;
    if (out !== x && next !== out && !keepSet?.has(out)) out.dispose();
    out = next;
  }
  return out;
}

/** Disposes the tensors that are not the given input and not kept. */
export function release(x: Tensor, ...ts: Tensor[]): void {
  for (const t of ts) if (t !== x) t.dispose();
}

export { markEphemeral, ACT };
