// What every zoo model shares: the SDD forward (global logits + multi-scale logits through the same
// classifier), the frozen-teacher casts, and small helpers the families use to build and run blocks.
import { Tensor } from '../core/tensor.js';
import { scaleLogits as sddScaleLogits, checkReferenceScales, DEFAULT_SCALES, type PoolMode } from '../sdd/pool.js';
import { checkBoolean, checkInteger, invalidParameterError } from '../core/errors.js';
import { Module, markEphemeral } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Linear } from '../nn/layers.js';
import { ACT, type ActCode } from '../nn/binding.js';
import type { ModelOutput as DistillOutput } from '../distill/types.js';
import { noGrad } from '../core/autograd.js';
import { tidy } from '../core/scope.js';
import { zeros } from '../core/creation.js';
import * as F from '../nn/functional.js';

export interface ModelOptions {
  /** Classes of the classifier (default: 100 for CIFAR-100 models, 1000 for ImageNet ones). */
  numClasses?: number;
  /**
   * Grids of the SDD head (default [1, 2, 4]). The reference knows M = [1], [1, 2] and [1, 2, 4];
   * any other list is an error unless allowAnyScales is true.
   */
  scales?: number[];
  /** Accept scale lists the reference does not know (e.g. [1, 3] or [1, 2, 4, 8]); default false. */
  allowAnyScales?: boolean;
  /**
   * Let the SDD head repeat cells when the last map is smaller than the largest scale (default
   * false: an error at forward). The reference does this silently for CIFAR MobileNetV2 (2x2 map,
   * M = [1, 2, 4]); pass true to reproduce it.
   */
  allowReplicate?: boolean;
  /** Pooling of the SDD head: 'nested' (default, the reference) or 'direct' (see sdd.multiScalePool). */
  poolMode?: PoolMode;
  /**
   * The reference's CUB-200 variant of a CIFAR model (its train_origin.py modify_*_for_cub200, for
   * 224x224 images): a 7x7 stride-2 first convolution where the reference has one (CIFAR ResNets,
   * ResNet50, ShuffleV1/V2; MobileNetV2 also a 2x2 max-pool in its stem). models.create sets it for
   * dataset 'cub200'.
   */
  cub200?: boolean;
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

/** What model.featureShapes() reports: the shapes of the feature lists for one input size. */
export interface FeatureShapes {
  stages: number[][];
  preact?: number[][];
  pooled: number[];
  map: number[];
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
  /** Maps smaller than the largest scale repeat cells (options.allowReplicate; the reference does it for CIFAR MobileNetV2's 2×2 map). */
  readonly allowReplicate: boolean;
  /** Built as the reference's CUB-200 variant (options.cub200). */
  readonly cub200: boolean;

  constructor(arch: string, opts: ModelOptions, defaults: { numClasses: number }) {
    super();
    this.arch = arch;
    this.numClasses = checkInteger('numClasses', opts.numClasses ?? defaults.numClasses, 1);
    const anyScales = opts.allowAnyScales === undefined ? false : checkBoolean('allowAnyScales', opts.allowAnyScales);
    this.scales = checkReferenceScales('scales', opts.scales ?? [...DEFAULT_SCALES], anyScales);
    const mode = opts.poolMode ?? 'nested';
    if (mode !== 'nested' && mode !== 'direct') throw invalidParameterError('poolMode', "'nested' or 'direct'", mode);
    this.poolMode = mode;
    this.allowReplicate = opts.allowReplicate === undefined ? false : checkBoolean('allowReplicate', opts.allowReplicate);
    this.cub200 = opts.cub200 === undefined ? false : checkBoolean('cub200', opts.cub200);
  }

  /**
   * The channels of the stages, as the reference's get_stage_channels() (what feature distillers
   * size their connectors from). The zoo's families return the reference's list, which does not
   * always line up with features.stages (ResNet50's [256, 512, 1024, 2048] leaves out the stem);
   * by default (models of your own) the channels of features.stages.
   */
  stageChannels(): number[] {
    return this.featureShapes().stages.map((s) => s[1]!);
  }

  /**
   * The BatchNorm layers right before each stage's last ReLU, as the reference's
   * get_bn_before_relu() (OFD reads their statistics). Families where the reference has none
   * (ShuffleNets) throw.
   */
  bnBeforeRelu(): BatchNorm2d[] {
    throw new Error(`${this.arch}: the reference has no get_bn_before_relu() for this model (it does not support the "Overhaul" (OFD) teacher/student)`);
  }

  /**
   * The shapes of features.stages / preact / pooled / map for a batch of `batch` inputs of
   * `inputSize` (default the family's: 32x32 for CIFAR models, 224x224 for ImageNet and CUB-200),
   * as the reference's get_feat_shapes(). Runs one forward without gradients in eval mode (running
   * statistics are not touched) and restores the training mode.
   */
  featureShapes(inputSize?: [number, number], batch = 1): FeatureShapes {
    const [h, w] = inputSize ?? this.defaultInputSize();
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => tidy(() => {
        const p = this.parameters()[0];
        const x = zeros([checkInteger('batch', batch, 1), 3, checkInteger('inputSize[0]', h, 1), checkInteger('inputSize[1]', w, 1)],
          p ? { dtype: p.dtype, device: p.device as never } : {});
        const f = this.forward(x).features;
        return { stages: f.stages.map((t) => t.shape), ...(f.preact ? { preact: f.preact.map((t) => t.shape) } : {}), pooled: f.pooled.shape, map: f.map.shape };
      }));
    } finally {
      if (wasTraining) this.train();
    }
  }

  /** The input size the model is built for: 32x32 (CIFAR), 224x224 (ImageNet and CUB-200 variants). */
  defaultInputSize(): [number, number] {
    return this.cub200 ? [224, 224] : [32, 32];
  }

  /**
   * The global pooling of the last map into the vector the classifier scores (features.pooled):
   * the mean over H x W by default (what the reference's AdaptiveAvgPool2d(1) computes); families
   * whose reference uses a fixed-size average pooling (nn.AvgPool2d(8), F.avg_pool2d(out, 4), ...)
   * override it with avgPoolAll, which sums in that kernel's order (the feature losses on pooled
   * vectors, PKT and RKD, are sensitive to the last bit).
   */
  protected globalPool(map: Tensor): Tensor {
    return map.mean([2, 3]);
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
    const pooled = this.globalPool(map);
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

/** Average pooling with a kernel as large as the map (the reference's AvgPool2d(8) on an 8x8 map, ...), flattened to B x C. */
export function avgPoolAll(map: Tensor): Tensor {
  const p = F.avgPool2d(map, [map.shape[2]!, map.shape[3]!]);
  const flat = p.reshape([map.shape[0]!, map.shape[1]!]);
  p.dispose();
  return flat;
}

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
