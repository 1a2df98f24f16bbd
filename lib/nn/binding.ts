// The native surface of native/nn.cc, added to NativeBinding (lib/core/native.ts) by augmentation.
// Settings travel as named options (lib/nn/options.ts resolves them); codes come from lib/core/codes.ts.
import type { Handle } from '../core/native.js';
import { ACTIVATION } from '../core/codes.js';
import type { AvgPoolSettings, BatchNormSettings, ConvSettings, MaxPoolSettings } from './options.js';

type H = Handle;

declare module '../core/native.js' {
  interface NativeBinding {
    nnConv2d(x: H, w: H, b: H | null, conv: ConvSettings): H;
    nnBatchNorm(x: H, w: H | null, b: H | null, mean: H | null, variance: H | null, tracked: H | null,
      bn: BatchNormSettings, training: boolean): H;
    /** bn null: no batch norm (a folded or BN-less conv); act: native.codes.activation */
    nnConvBnAct(x: H, w: H, b: H | null, conv: ConvSettings,
      bnW: H | null, bnB: H | null, mean: H | null, variance: H | null, tracked: H | null, bn: BatchNormSettings | null,
      training: boolean, residual: H | null, act: number, actParam: number): H;
    nnAddAct(a: H, b: H, act: number, actParam: number): H;
    nnAct(x: H, act: number, actParam: number): H;
    nnMaxPool2d(x: H, settings: MaxPoolSettings): H;
    nnAvgPool2d(x: H, settings: AvgPoolSettings): H;
    nnAdaptiveAvgPool2d(x: H, outputSize: [number, number]): H;
    nnDropout(x: H, p: number, training: boolean): H;
    nnChannelShuffle(x: H, groups: number): H;
    /** kind: native.codes.init (normal_(a = mean, b = std), uniform_(a, b), fill_(a), zero_()) */
    nnInit(t: H, kind: number, a: number, b: number): void;
    nnFoldBatchNorm(w: H, b: H | null, bnW: H | null, bnB: H | null, mean: H, variance: H, eps: number): [H, H];
    nnSetData(param: H, data: H): void;
  }
}

export { PADDING_MODES, checkPaddingMode, type IntPair, type PaddingMode } from './options.js';

/** Activation codes shared with native/nn.cc (native.codes.activation, read by name). */
export const ACT = ACTIVATION;
export type ActCode = number;
