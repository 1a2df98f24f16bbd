// The native surface of native/nn.cc, added to NativeBinding (lib/core/native.ts) by augmentation.
import type { Handle } from '../core/native.js';
import { invalidParameterError } from '../core/errors.js';

type H = Handle;

declare module '../core/native.js' {
  interface NativeBinding {
    /** conv settings: Int32Array [strideH, strideW, padH, padW, dilH, dilW, groups, paddingMode]. */
    nnConv2d(x: H, w: H, b: H | null, conv: Int32Array): H;
    /** bn settings: Float64Array [momentum (NaN = cumulative), eps]. */
    nnBatchNorm(x: H, w: H | null, b: H | null, mean: H | null, variance: H | null, tracked: H | null,
      bn: Float64Array, training: boolean): H;
    nnConvBnAct(x: H, w: H, b: H | null, conv: Int32Array,
      bnW: H | null, bnB: H | null, mean: H | null, variance: H | null, tracked: H | null, bn: Float64Array | null,
      training: boolean, residual: H | null, act: number, actParam: number): H;
    nnAddAct(a: H, b: H, act: number, actParam: number): H;
    nnAct(x: H, act: number, actParam: number): H;
    /** [kH, kW, sH, sW, pH, pW, dH, dW, ceilMode] */
    nnMaxPool2d(x: H, settings: Int32Array): H;
    /** [kH, kW, sH, sW, pH, pW, ceilMode, countIncludePad, divisorOverride (0 = none)] */
    nnAvgPool2d(x: H, settings: Int32Array): H;
    nnAdaptiveAvgPool2d(x: H, size: Int32Array): H;
    nnDropout(x: H, p: number, training: boolean): H;
    nnChannelShuffle(x: H, groups: number): H;
    /** kind: 0 normal_(a = mean, b = std), 1 uniform_(a, b), 2 fill_(a), 3 zero_() */
    nnInit(t: H, kind: 0 | 1 | 2 | 3, a: number, b: number): void;
    nnFoldBatchNorm(w: H, b: H | null, bnW: H | null, bnB: H | null, mean: H, variance: H, eps: number): [H, H];
    nnSetData(param: H, data: H): void;
  }
}

/** One integer or [height, width]: kernel sizes, strides, paddings, dilations (checkPair checks them). */
export type IntPair = number | [number, number];

/** Conv2d padding modes; the index is the code native/nn.cc reads. */
export const PADDING_MODES = ['zeros', 'reflect', 'replicate', 'circular'] as const;
export type PaddingMode = (typeof PADDING_MODES)[number];

/** The native code of a padding mode; anything else is an error naming `name`. */
export function paddingModeCode(name: string, mode: unknown): number {
  const code = PADDING_MODES.indexOf(mode as PaddingMode);
  if (code < 0) throw invalidParameterError(name, "'zeros', 'reflect', 'replicate' or 'circular'", mode);
  return code;
}

/** Activation codes shared with native/nn.cc. */
export const ACT = { none: 0, relu: 1, relu6: 2, leakyRelu: 3, sigmoid: 4, tanh: 5 } as const;
export type ActCode = (typeof ACT)[keyof typeof ACT];

/** Codes of lib/core/tensor.ts's unary ops used here (native/ops.cc). */
export const UNARY_DETACH = 25;
export const UNARY_CONTIGUOUS = 26;
export const UNARY_CHANNELS_LAST = 32;
