// Layer options shared by a layer and its functional form (PyTorch's nn/options): one type per
// kind of layer, and one function that checks a user's options and resolves them into the object
// native/nn.cc reads by field name (ToConvOptions, ToBatchNormOptions, ToMaxPoolOptions,
// ToAvgPoolOptions). A layer resolves once, at construction; a functional call resolves per call.
import { checkBoolean, checkFinite, checkInteger, checkPair, invalidParameterError } from '../core/errors.js';
import { PADDING_MODE } from '../core/codes.js';

/** One integer or [height, width]: kernel sizes, strides, paddings, dilations (checkPair checks them). */
export type IntPair = number | [number, number];

/** Conv2d padding modes (the names native/nn.cc knows: native.codes.paddingMode). */
export const PADDING_MODES = ['zeros', 'reflect', 'replicate', 'circular'] as const satisfies readonly (keyof typeof PADDING_MODE)[];
export type PaddingMode = (typeof PADDING_MODES)[number];

/** A padding mode; anything else is an error naming `name`. */
export function checkPaddingMode(name: string, mode: unknown): PaddingMode {
  if (!(PADDING_MODES as readonly unknown[]).includes(mode)) throw invalidParameterError(name, "'zeros', 'reflect', 'replicate' or 'circular'", mode);
  return mode as PaddingMode;
}

// ------------------------------------------------------------------ convolution

/** The convolution settings of nn.Conv2d and nn.functional.conv2d. */
export interface Conv2dFuncOptions {
  stride?: IntPair;
  /** Zero padding per side (default 0), 'valid' (0) or 'same' (stride 1, odd effective kernel). */
  padding?: IntPair | 'same' | 'valid';
  dilation?: IntPair;
  groups?: number;
  /** How the border is padded: 'zeros' (default), 'reflect', 'replicate' or 'circular'. */
  paddingMode?: PaddingMode;
}
export const CONV2D_FUNC_KEYS = ['stride', 'padding', 'dilation', 'groups', 'paddingMode'] as const;

/** What native/nn.cc's ToConvOptions reads. */
export interface ConvSettings {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  paddingMode: PaddingMode;
}

/** Checks conv options (their keys were checked by the caller) for a kernel of `kernelSize`. */
export function conv2dSettings(where: string, o: Conv2dFuncOptions, kernelSize: [number, number]): ConvSettings {
  const stride = checkPair('stride', o.stride ?? 1, 1);
  const dilation = checkPair('dilation', o.dilation ?? 1, 1);
  const groups = checkInteger('groups', o.groups ?? 1, 1);
  const paddingMode = checkPaddingMode('paddingMode', o.paddingMode ?? 'zeros');
  const p = o.padding ?? 0;
  let padding: [number, number];
  if (p === 'valid') {
    padding = [0, 0];
  } else if (p === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new RangeError(`${where}: padding 'same' needs stride 1`);
    const total = [0, 1].map((i) => dilation[i]! * (kernelSize[i]! - 1));
    if (total.some((t) => t % 2 !== 0)) throw new RangeError(`${where}: padding 'same' needs an odd effective kernel size (asymmetric padding is not supported)`);
    padding = [total[0]! / 2, total[1]! / 2];
  } else {
    padding = checkPair('padding', p, 0);
  }
  return { stride, padding, dilation, groups, paddingMode };
}

// ------------------------------------------------------------------ batch norm

/** The normalisation settings of nn.BatchNorm1d/2d and nn.functional.batchNorm. */
export interface BatchNormFuncOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Running-average factor, default 0.1; null = cumulative average (PyTorch's momentum=None). */
  momentum?: number | null;
}

/** What native/nn.cc's ToBatchNormOptions reads (syncGroup: the SyncBatchNorm process group, 0 for none). */
export interface BatchNormSettings {
  momentum: number | null;
  eps: number;
  syncGroup: number;
}

export function batchNormSettings(o: BatchNormFuncOptions): BatchNormSettings {
  return {
    momentum: o.momentum === undefined ? 0.1 : o.momentum === null ? null : checkFinite('momentum', o.momentum),
    eps: o.eps === undefined ? 1e-5 : checkFinite('eps', o.eps),
    syncGroup: 0,
  };
}

// ------------------------------------------------------------------ pooling

/** nn.MaxPool2d's and nn.functional.maxPool2d's options (stride defaults to the kernel size). */
export interface MaxPool2dOptions { stride?: IntPair | null; padding?: IntPair; dilation?: IntPair; ceilMode?: boolean }
export const MAX_POOL2D_KEYS = ['stride', 'padding', 'dilation', 'ceilMode'] as const;

/** What native/nn.cc's ToMaxPoolOptions reads. */
export interface MaxPoolSettings {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

export function maxPool2dSettings(kernelSize: IntPair, o: MaxPool2dOptions): MaxPoolSettings {
  const k = checkPair('kernelSize', kernelSize, 1);
  return {
    kernelSize: k,
    stride: o.stride == null ? k : checkPair('stride', o.stride, 1),
    padding: checkPair('padding', o.padding ?? 0, 0),
    dilation: checkPair('dilation', o.dilation ?? 1, 1),
    ceilMode: o.ceilMode === undefined ? false : checkBoolean('ceilMode', o.ceilMode),
  };
}

/** nn.AvgPool2d's and nn.functional.avgPool2d's options (stride defaults to the kernel size). */
export interface AvgPool2dOptions { stride?: IntPair | null; padding?: IntPair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number | null }
export const AVG_POOL2D_KEYS = ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'] as const;

/** What native/nn.cc's ToAvgPoolOptions reads (divisorOverride null: the window size). */
export interface AvgPoolSettings {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  ceilMode: boolean;
  countIncludePad: boolean;
  divisorOverride: number | null;
}

export function avgPool2dSettings(kernelSize: IntPair, o: AvgPool2dOptions): AvgPoolSettings {
  const k = checkPair('kernelSize', kernelSize, 1);
  return {
    kernelSize: k,
    stride: o.stride == null ? k : checkPair('stride', o.stride, 1),
    padding: checkPair('padding', o.padding ?? 0, 0),
    ceilMode: o.ceilMode === undefined ? false : checkBoolean('ceilMode', o.ceilMode),
    countIncludePad: o.countIncludePad === undefined ? true : checkBoolean('countIncludePad', o.countIncludePad),
    divisorOverride: o.divisorOverride == null ? null : checkInteger('divisorOverride', o.divisorOverride, 1),
  };
}
