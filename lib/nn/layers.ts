// Layers backed by native/nn.cc: one native call per forward. Constructors take PyTorch's
// arguments (required ones positional, optional ones in an options object with PyTorch's
// defaults) and initialise as PyTorch does (same generator, same order: same numbers per seed).
import './binding.js';
import { native, type Handle } from '../core/native.js';
import { Tensor, fromHandle } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { type Device, type DTypeLike } from '../core/dtype.js';
import { checkBoolean, checkFinite, checkInteger, checkKnownKeys, checkOptions, checkPair, invalidParameterError } from '../core/errors.js';
import { ACT, type ActCode } from './binding.js';
import { UNARY } from '../core/codes.js';
import {
  AVG_POOL2D_KEYS, CONV2D_FUNC_KEYS, MAX_POOL2D_KEYS, avgPool2dSettings, batchNormSettings, conv2dSettings, maxPool2dSettings,
  type AvgPool2dOptions, type AvgPoolSettings, type BatchNormFuncOptions, type BatchNormSettings, type Conv2dFuncOptions,
  type ConvSettings, type IntPair, type MaxPool2dOptions, type MaxPoolSettings, type PaddingMode,
} from './options.js';

export type { AvgPool2dOptions, MaxPool2dOptions } from './options.js';
import { Module, emptyParameter, filledBuffer, markEphemeral, type FrozenState, type Parameter } from './module.js';
import * as init from './init.js';

export interface FactoryOptions {
  dtype?: DTypeLike;
  device?: Device;
}

function input(x: unknown, layer: string): Handle {
  if (!(x instanceof Tensor)) throw invalidParameterError(`${layer} input`, 'a Tensor', x);
  return x.handle;
}

/** A converted (and kept) copy of a tensor for frozen inference. */
function inferenceCopy(t: Tensor | null, dtype: number | null): Tensor | null {
  if (t === null) return null;
  return keep(fromHandle(dtype === null ? native.unary(UNARY.clone, t.handle) : native.to(t.handle, dtype, null, false)));
}

function disposeAll(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

// ============================================================== convolution

/** nn.Conv2d's options: the convolution settings it shares with functional.conv2d, the bias and the factory options. */
export interface Conv2dOptions extends FactoryOptions, Conv2dFuncOptions {
  /** Default true. */
  bias?: boolean;
}

export interface FusedOptions {
  /** A BatchNorm2d applied to the convolution's output (its training flag and running statistics are honoured). */
  bn?: BatchNorm2d | null;
  /** Added after the BatchNorm, before the activation (a residual connection). */
  residual?: Tensor | null;
  activation?: 'none' | 'relu' | 'relu6' | 'leakyRelu' | 'sigmoid' | 'tanh';
  negativeSlope?: number;
}

const CONV2D_KEYS = [...CONV2D_FUNC_KEYS, 'bias', 'dtype', 'device'];

/** 2-D convolution (torch.nn.Conv2d): weight [out, in / groups, kH, kW], optional bias [out]. */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  declare weight: Parameter;
  declare bias: Parameter | null;
  #settings: ConvSettings;
  #inf: { weight: Tensor; bias: Tensor | null; folded: BatchNorm2d | null } | null = null;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, opts: Conv2dOptions = {}) {
    super();
    const o = checkOptions('Conv2d options', opts) as Conv2dOptions;
    checkKnownKeys('Conv2d options', o as Record<string, unknown>, CONV2D_KEYS);
    this.inChannels = checkInteger('inChannels', inChannels, 1);
    this.outChannels = checkInteger('outChannels', outChannels, 1);
    this.kernelSize = checkPair('kernelSize', kernelSize, 1);
    const c = conv2dSettings('Conv2d', o, this.kernelSize);
    this.#settings = c;
    this.stride = c.stride;
    this.padding = c.padding;
    this.dilation = c.dilation;
    this.groups = c.groups;
    this.paddingMode = c.paddingMode;
    if (this.inChannels % this.groups !== 0) throw new RangeError(`Conv2d: inChannels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (this.outChannels % this.groups !== 0) throw new RangeError(`Conv2d: outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    const bias = o.bias === undefined ? true : checkBoolean('bias', o.bias);
    this.registerParameter('weight', emptyParameter([this.outChannels, this.inChannels / this.groups, ...this.kernelSize], o.dtype, o.device));
    this.registerParameter('bias', bias ? emptyParameter([this.outChannels], o.dtype, o.device) : null);
    this.resetParameters();
  }

  /** PyTorch's default: weight kaiming_uniform(a = sqrt 5), bias U(±1/sqrt(fan_in)). */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const { fanIn } = init.calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        init.uniform_(this.bias, -bound, bound);
      }
    }
  }

  #wb(): [Handle, Handle | null] {
    const inf = this.#inf;
    if (inf !== null) return [inf.weight.handle, inf.bias?.handle ?? null];
    return [this.weight.handle, this.bias?.handle ?? null];
  }

  override forward(x: Tensor): Tensor {
    const [w, b] = this.#wb();
    return fromHandle(native.nnConv2d(input(x, 'Conv2d'), w, b, this.#settings));
  }

  /**
   * conv → bn → + residual → activation in one native call (what Sequential and the model zoo
   * use). Frozen-aware: a BatchNorm folded into this conv is skipped, its effect is in the weights.
   */
  forwardFused(x: Tensor, opts: FusedOptions = {}): Tensor {
    const act = opts.activation === undefined ? ACT.none : ACT[opts.activation];
    if (act === undefined) throw invalidParameterError('activation', "'none', 'relu', 'relu6', 'leakyRelu', 'sigmoid' or 'tanh'", opts.activation);
    return this._fused(x, opts.bn ?? null, opts.residual ?? null, act, opts.negativeSlope ?? 0.01);
  }

  /** @internal */
  _fused(x: Tensor, bn: BatchNorm2d | null, residual: Tensor | null, act: ActCode, actParam: number): Tensor {
    const [w, b] = this.#wb();
    const r = residual === null ? null : residual.handle;
    if (bn === null || bn._foldedInto !== null) {
      if (bn !== null && bn._foldedInto !== this) throw new Error('forwardFused: this BatchNorm was folded into another convolution');
      return fromHandle(native.nnConvBnAct(input(x, 'Conv2d'), w, b, this.#settings, null, null, null, null, null, null, false, r, act, actParam));
    }
    const s = bn._state();
    return fromHandle(native.nnConvBnAct(input(x, 'Conv2d'), w, b, this.#settings, s[0], s[1], s[2], s[3], s[4], bn._settings(),
      bn.training, r, act, actParam));
  }

  /** @internal the BatchNorm freeze() folded into this conv, or null. */
  get _foldedBatchNorm(): BatchNorm2d | null { return this.#inf?.folded ?? null; }

  /** @internal folds an eval-mode BatchNorm into an inference copy of this conv's weights. */
  override _foldBatchNorm(bn: Module): boolean {
    if (!(bn instanceof BatchNorm2d) || bn.running_mean === null || bn.running_var === null) return false;
    if (bn.numFeatures !== this.outChannels) return false;
    const [w, b] = native.nnFoldBatchNorm(this.weight.handle, this.bias?.handle ?? null, bn.weight?.handle ?? null,
      bn.bias?.handle ?? null, bn.running_mean.handle, bn.running_var.handle, bn.eps);
    this.#dropInference();
    this.#inf = { weight: keep(fromHandle(w)), bias: keep(fromHandle(b)), folded: bn };
    bn._foldedInto = this;
    return true;
  }

  override _freezeLayer(state: FrozenState, dtype: number | null): void {
    if (dtype === null) return;
    const inf = this.#inf;
    const src = inf ?? { weight: this.weight, bias: this.bias, folded: null };
    const next = { weight: inferenceCopy(src.weight, dtype)!, bias: inferenceCopy(src.bias, dtype), folded: src.folded };
    if (inf !== null) disposeAll(inf.weight, inf.bias);
    this.#inf = next;
  }

  #dropInference(): void {
    const inf = this.#inf;
    if (inf === null) return;
    if (inf.folded !== null) inf.folded._foldedInto = null;
    disposeAll(inf.weight, inf.bias);
    this.#inf = null;
  }

  override _unfreezeLayer(): void {
    this.#dropInference();
  }

  /** The weight and bias the forward uses (folded/converted copies when frozen). */
  effectiveWeights(): { weight: Tensor; bias: Tensor | null } {
    return this.#inf !== null ? { weight: this.#inf.weight, bias: this.#inf.bias } : { weight: this.weight, bias: this.bias };
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=(${this.stride.join(', ')})`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=(${this.padding.join(', ')})`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=(${this.dilation.join(', ')})`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

// ============================================================== batch norm

/** nn.BatchNorm1d/2d's options: the normalisation settings they share with functional.batchNorm, and the layer's own. */
export interface BatchNormOptions extends FactoryOptions, BatchNormFuncOptions {
  /** Learnable γ, β (default true). */
  affine?: boolean;
  /** Keep running statistics (default true); without them eval mode uses the batch's. */
  trackRunningStats?: boolean;
}

class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  #settings: BatchNormSettings;
  #inf: Tensor[] | null = null;
  #foldedInto: Conv2d | null = null;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const o = checkOptions(`${new.target.name} options`, opts) as BatchNormOptions;
    checkKnownKeys(`${new.target.name} options`, o as Record<string, unknown>, ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype', 'device']);
    this.numFeatures = checkInteger('numFeatures', numFeatures, 1);
    this.affine = o.affine === undefined ? true : checkBoolean('affine', o.affine);
    this.trackRunningStats = o.trackRunningStats === undefined ? true : checkBoolean('trackRunningStats', o.trackRunningStats);
    this.#settings = batchNormSettings(o);
    if (this.affine) {
      this.registerParameter('weight', emptyParameter([numFeatures], o.dtype, o.device));
      this.registerParameter('bias', emptyParameter([numFeatures], o.dtype, o.device));
    } else {
      this.registerParameter('weight', null);
      this.registerParameter('bias', null);
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', filledBuffer([numFeatures], 0, o.dtype ?? 'float32', o.device));
      this.registerBuffer('running_var', filledBuffer([numFeatures], 1, o.dtype ?? 'float32', o.device));
      this.registerBuffer('num_batches_tracked', filledBuffer([], 0, 'int64', o.device));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  /** @internal the conv this layer was folded into by freeze() (then it is an identity). */
  get _foldedInto(): Conv2d | null { return this.#foldedInto; }
  set _foldedInto(c: Conv2d | null) { this.#foldedInto = c; }

  get eps(): number { return this.#settings.eps; }
  set eps(v: number) { this.#settings.eps = checkFinite('eps', v); }
  get momentum(): number | null { return this.#settings.momentum; }
  set momentum(v: number | null) { this.#settings.momentum = v === null ? null : checkFinite('momentum', v); }
  get runningMean(): Tensor | null { return this.running_mean; }
  get runningVar(): Tensor | null { return this.running_var; }
  get numBatchesTracked(): Tensor | null { return this.num_batches_tracked; }

  /** Running statistics back to mean 0, variance 1, count 0. */
  resetRunningStats(): void {
    if (this.running_mean) init.zeros_(this.running_mean);
    if (this.running_var) init.ones_(this.running_var);
    if (this.num_batches_tracked) init.zeros_(this.num_batches_tracked);
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  /** @internal [weight, bias, mean, var, tracked] handles the forward uses. */
  _state(): (Handle | null)[] {
    if (this.#inf !== null) return [this.#inf[0]?.handle ?? null, this.#inf[1]?.handle ?? null, this.#inf[2]?.handle ?? null, this.#inf[3]?.handle ?? null, null];
    return [this.weight?.handle ?? null, this.bias?.handle ?? null, this.running_mean?.handle ?? null,
      this.running_var?.handle ?? null, this.num_batches_tracked?.handle ?? null];
  }

  /** @internal the settings native/nn.cc reads (one object per layer, updated by the setters) */
  _settings(): BatchNormSettings {
    return this.#settings;
  }

  /** The process group whose ranks share the batch statistics in training (sdd.dist.convertSyncBatchNorm), or 0. */
  get syncGroupId(): number { return this.#settings.syncGroup; }
  /** @internal set by sdd.dist.convertSyncBatchNorm (0 turns it off) */
  _setSyncGroup(id: number): void { this.#settings.syncGroup = id; }

  protected checkInput(x: Tensor): void {}

  override forward(x: Tensor): Tensor {
    if (this._foldedInto !== null) return x;
    this.checkInput(x);
    const s = this._state();
    return fromHandle(native.nnBatchNorm(input(x, this.constructor.name), s[0], s[1], s[2], s[3], s[4], this.#settings, this.training));
  }

  override _freezeLayer(state: FrozenState, dtype: number | null): void {
    if (dtype === null || this._foldedInto !== null) return;
    const src = [this.weight, this.bias, this.running_mean, this.running_var];
    this.#inf = src.map((t) => inferenceCopy(t, dtype)) as Tensor[];
  }

  override _unfreezeLayer(): void {
    if (this.#inf !== null) disposeAll(...this.#inf);
    this.#inf = null;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, track_running_stats=${this.trackRunningStats}`;
  }
}

/** Batch normalisation over [N, C, H, W] (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  protected override checkInput(x: Tensor): void {
    const d = x instanceof Tensor ? x.ndim : -1;
    if (d !== 4) throw new RangeError(`BatchNorm2d: expected a 4-D input [N, C, H, W] (got ${d}-D input)`);
  }
}

/** Batch normalisation over [N, C] or [N, C, L] (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  protected override checkInput(x: Tensor): void {
    const d = x instanceof Tensor ? x.ndim : -1;
    if (d !== 2 && d !== 3) throw new RangeError(`BatchNorm1d: expected a 2-D or 3-D input (got ${d}-D input)`);
  }
}

export type { BatchNormBase };

// ============================================================== linear

export interface LinearOptions extends FactoryOptions {
  /** Default true. */
  bias?: boolean;
}

/** y = x Wᵀ + b (torch.nn.Linear): weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  declare weight: Parameter;
  declare bias: Parameter | null;
  #inf: [Tensor, Tensor | null] | null = null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    const o = checkOptions('Linear options', opts) as LinearOptions;
    checkKnownKeys('Linear options', o as Record<string, unknown>, ['bias', 'dtype', 'device']);
    this.inFeatures = checkInteger('inFeatures', inFeatures, 1);
    this.outFeatures = checkInteger('outFeatures', outFeatures, 1);
    this.registerParameter('weight', emptyParameter([outFeatures, inFeatures], o.dtype, o.device));
    const bias = o.bias === undefined ? true : checkBoolean('bias', o.bias);
    this.registerParameter('bias', bias ? emptyParameter([outFeatures], o.dtype, o.device) : null);
    this.resetParameters();
  }

  /** PyTorch's default: weight kaiming_uniform(a = sqrt 5), bias U(±1/sqrt(in)). */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const { fanIn } = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  /** The weight and bias the forward uses (converted copies when frozen with a dtype). */
  effectiveWeights(): { weight: Tensor; bias: Tensor | null } {
    return this.#inf !== null ? { weight: this.#inf[0], bias: this.#inf[1] } : { weight: this.weight, bias: this.bias };
  }

  override forward(x: Tensor): Tensor {
    const { weight, bias } = this.effectiveWeights();
    return fromHandle(native.linear(input(x, 'Linear'), weight.handle, bias?.handle ?? null));
  }

  override _freezeLayer(state: FrozenState, dtype: number | null): void {
    if (dtype !== null) this.#inf = [inferenceCopy(this.weight, dtype)!, inferenceCopy(this.bias, dtype)];
  }

  override _unfreezeLayer(): void {
    if (this.#inf !== null) disposeAll(...this.#inf);
    this.#inf = null;
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

// ============================================================== activations

/** @internal an activation layer's native code, for fusion. */
export abstract class Activation extends Module {
  abstract readonly code: ActCode;
  get param(): number { return 0; }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.nnAct(input(x, this.constructor.name), this.code, this.param));
  }
}

/** max(0, x). The inplace flag of PyTorch is accepted and ignored (results are new tensors). */
export class ReLU extends Activation {
  readonly code = ACT.relu;
  constructor(opts: { inplace?: boolean } = {}) { super(); checkInplace('ReLU', opts); }
}
/** PyTorch's inplace flag: accepted (as a boolean) and ignored, results are new tensors. */
function checkInplace(layer: string, opts: unknown): void {
  checkOptions(`${layer} options`, opts, { inplace: 'boolean' });
}
/** min(max(0, x), 6). */
export class ReLU6 extends Activation {
  readonly code = ACT.relu6;
  constructor(opts: { inplace?: boolean } = {}) { super(); checkInplace('ReLU6', opts); }
}
/** x for x ≥ 0, negativeSlope · x otherwise (default 0.01). */
export class LeakyReLU extends Activation {
  readonly code = ACT.leakyRelu;
  readonly negativeSlope: number;
  constructor(negativeSlope = 0.01, opts: { inplace?: boolean } = {}) {
    super();
    checkInplace('LeakyReLU', opts);
    this.negativeSlope = checkFinite('negativeSlope', negativeSlope);
  }
  override get param(): number { return this.negativeSlope; }
  override extraRepr(): string { return `negative_slope=${this.negativeSlope}`; }
}
export class Sigmoid extends Activation { readonly code = ACT.sigmoid; }
export class Tanh extends Activation { readonly code = ACT.tanh; }

// ============================================================== pooling, dropout, reshaping

/** torch.nn.MaxPool2d (stride defaults to the kernel size). */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  #settings: MaxPoolSettings;
  constructor(kernelSize: IntPair, opts: MaxPool2dOptions = {}) {
    super();
    const o = checkOptions('MaxPool2d options', opts) as MaxPool2dOptions;
    checkKnownKeys('MaxPool2d options', o as Record<string, unknown>, MAX_POOL2D_KEYS);
    const p = maxPool2dSettings(kernelSize, o);
    this.#settings = p;
    this.kernelSize = p.kernelSize;
    this.stride = p.stride;
    this.padding = p.padding;
    this.dilation = p.dilation;
    this.ceilMode = p.ceilMode;
  }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.nnMaxPool2d(input(x, 'MaxPool2d'), this.#settings));
  }
  override extraRepr(): string {
    return `kernel_size=${this.kernelSize[0]}, stride=${this.stride[0]}, padding=${this.padding[0]}, dilation=${this.dilation[0]}, ceil_mode=${this.ceilMode}`;
  }
}

/** torch.nn.AvgPool2d (stride defaults to the kernel size). */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  #settings: AvgPoolSettings;
  constructor(kernelSize: IntPair, opts: AvgPool2dOptions = {}) {
    super();
    const o = checkOptions('AvgPool2d options', opts) as AvgPool2dOptions;
    checkKnownKeys('AvgPool2d options', o as Record<string, unknown>, AVG_POOL2D_KEYS);
    const p = avgPool2dSettings(kernelSize, o);
    this.#settings = p;
    this.kernelSize = p.kernelSize;
    this.stride = p.stride;
    this.padding = p.padding;
    this.ceilMode = p.ceilMode;
    this.countIncludePad = p.countIncludePad;
  }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.nnAvgPool2d(input(x, 'AvgPool2d'), this.#settings));
  }
  override extraRepr(): string {
    return `kernel_size=${this.kernelSize[0]}, stride=${this.stride[0]}, padding=${this.padding[0]}`;
  }
}

/** torch.nn.AdaptiveAvgPool2d: output size per side (number or [h, w]). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(outputSize: IntPair) {
    super();
    this.outputSize = checkPair('outputSize', outputSize, 1);
  }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.nnAdaptiveAvgPool2d(input(x, 'AdaptiveAvgPool2d'), this.outputSize));
  }
  override extraRepr(): string { return `output_size=(${this.outputSize.join(', ')})`; }
}

/** Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval. */
export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5, opts: { inplace?: boolean } = {}) {
    super();
    checkInplace('Dropout', opts);
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidParameterError('p', 'a probability in [0, 1]', p, true);
    this.p = p;
  }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.nnDropout(input(x, 'Dropout'), this.p, this.training));
  }
  override extraRepr(): string { return `p=${this.p}`; }
}

/** Flattens dims startDim..endDim (default 1..-1). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    checkInteger('startDim', startDim);
    checkInteger('endDim', endDim);
  }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.flatten(input(x, 'Flatten'), this.startDim, this.endDim));
  }
}

/** Returns its input. */
export class Identity extends Module {
  override forward<T>(x: T): T {
    return x;
  }
}

/**
 * Channel shuffle (ShuffleNet): [N, C, H, W] -> [N, g, C/g, H, W] -> swap the two channel axes ->
 * [N, C, H, W].
 */
export class ChannelShuffle extends Module {
  readonly groups: number;
  constructor(groups: number) {
    super();
    this.groups = checkInteger('groups', groups, 1);
  }
  override forward(x: Tensor): Tensor {
    return fromHandle(native.nnChannelShuffle(input(x, 'ChannelShuffle'), this.groups));
  }
  override extraRepr(): string { return `groups=${this.groups}`; }
}

/** conv → bn pairs are foldable when the BN normalises exactly the conv's channels. */
export function isConvBnPair(conv: Module, bn: Module): boolean {
  return conv instanceof Conv2d && bn instanceof BatchNorm2d && bn.numFeatures === conv.outChannels;
}

markEphemeral(Conv2d, BatchNorm2d, BatchNorm1d, Linear, ReLU, ReLU6, LeakyReLU, Sigmoid, Tanh, MaxPool2d, AvgPool2d,
  AdaptiveAvgPool2d, Dropout, Flatten, ChannelShuffle);
