// Functional forms of the layers (torch.nn.functional), for code that holds its own weights.
import './binding.js';
import { native } from '../core/native.js';
import { Tensor, fromHandle, unwrapTensor } from '../core/tensor.js';
import { checkBoolean, checkInteger, checkKnownKeys, checkOptions, checkPair, invalidParameterError } from '../core/errors.js';
import { ACTIVATION } from '../core/codes.js';
import {
  AVG_POOL2D_KEYS, CONV2D_FUNC_KEYS, MAX_POOL2D_KEYS, avgPool2dSettings, batchNormSettings, conv2dSettings, maxPool2dSettings,
  type AvgPool2dOptions, type BatchNormFuncOptions, type Conv2dFuncOptions, type IntPair, type MaxPool2dOptions,
} from './options.js';

/** F.conv2d's options: the same as nn.Conv2d's convolution settings. */
export type Conv2dArgs = Conv2dFuncOptions;

/** F.conv2d (plus PyTorch's Conv2d padding modes; padding 'same' / 'valid' as in PyTorch). */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dArgs = {}): Tensor {
  const o = checkOptions('functional.conv2d options', opts) as Conv2dArgs;
  checkKnownKeys('functional.conv2d options', o as Record<string, unknown>, CONV2D_FUNC_KEYS);
  const w = unwrapTensor('weight', weight);
  // the kernel size matters only for padding 'same'
  const kernel = (typeof o.padding === 'string' ? weight.shape.slice(2) : [1, 1]) as [number, number];
  const settings = conv2dSettings('functional.conv2d', o, kernel);
  return fromHandle(native.nnConv2d(unwrapTensor('input', x), w, bias === null ? null : unwrapTensor('bias', bias), settings));
}

/** F.batch_norm's options: nn.BatchNorm's normalisation settings plus the affine parameters and the mode. */
export interface BatchNormArgs extends BatchNormFuncOptions { weight?: Tensor | null; bias?: Tensor | null; training?: boolean }

/** F.batch_norm: updates runningMean/runningVar in place in training mode. */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormArgs = {}): Tensor {
  const o = checkOptions<BatchNormArgs>('functional.batchNorm options', opts,
    { weight: { kind: 'any', nullable: true }, bias: { kind: 'any', nullable: true }, training: 'boolean', momentum: { kind: 'number', nullable: true }, eps: { kind: 'number', min: 0 } });
  const h = (name: string, t: Tensor | null | undefined) => (t == null ? null : unwrapTensor(name, t));
  return fromHandle(native.nnBatchNorm(unwrapTensor('input', x), h('weight', o.weight), h('bias', o.bias), h('runningMean', runningMean),
    h('runningVar', runningVar), null, batchNormSettings(o), o.training === undefined ? false : checkBoolean('training', o.training)));
}

export function maxPool2d(x: Tensor, kernelSize: IntPair, opts: MaxPool2dOptions = {}): Tensor {
  const o = checkOptions('functional.maxPool2d options', opts) as MaxPool2dOptions;
  checkKnownKeys('functional.maxPool2d options', o as Record<string, unknown>, MAX_POOL2D_KEYS);
  return fromHandle(native.nnMaxPool2d(unwrapTensor('input', x), maxPool2dSettings(kernelSize, o)));
}

export function avgPool2d(x: Tensor, kernelSize: IntPair, opts: AvgPool2dOptions = {}): Tensor {
  const o = checkOptions('functional.avgPool2d options', opts) as AvgPool2dOptions;
  checkKnownKeys('functional.avgPool2d options', o as Record<string, unknown>, AVG_POOL2D_KEYS);
  return fromHandle(native.nnAvgPool2d(unwrapTensor('input', x), avgPool2dSettings(kernelSize, o)));
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: IntPair): Tensor {
  return fromHandle(native.nnAdaptiveAvgPool2d(unwrapTensor('input', x), checkPair('outputSize', outputSize, 1)));
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidParameterError('p', 'a probability in [0, 1]', p, true);
  return fromHandle(native.nnDropout(unwrapTensor('input', x), p, checkBoolean('training', training)));
}

export function channelShuffle(x: Tensor, groups: number): Tensor {
  return fromHandle(native.nnChannelShuffle(unwrapTensor('input', x), checkInteger('groups', groups, 1)));
}

export function relu(x: Tensor): Tensor { return fromHandle(native.nnAct(unwrapTensor('input', x), ACTIVATION.relu, 0)); }
export function relu6(x: Tensor): Tensor { return fromHandle(native.nnAct(unwrapTensor('input', x), ACTIVATION.relu6, 0)); }
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor { return fromHandle(native.nnAct(unwrapTensor('input', x), ACTIVATION.leakyRelu, negativeSlope)); }

/** a + b followed by an activation, in one call (residual joins). */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  return fromHandle(native.nnAddAct(unwrapTensor('a', a), unwrapTensor('b', b), ACTIVATION.relu, 0));
}

/**
 * Folds an eval-mode BatchNorm into the preceding convolution: returns [W·γ/σ, (b − μ)·γ/σ + β]
 * with σ = sqrt(var + eps), computed in float64 and returned in the weight's dtype.
 */
export function foldBatchNorm(weight: Tensor, bias: Tensor | null, bn: { weight: Tensor | null; bias: Tensor | null; runningMean: Tensor; runningVar: Tensor; eps: number }): [Tensor, Tensor] {
  const h = (name: string, t: Tensor | null) => (t === null ? null : unwrapTensor(name, t));
  const [w, b] = native.nnFoldBatchNorm(unwrapTensor('weight', weight), h('bias', bias), h('bn.weight', bn.weight), h('bn.bias', bn.bias),
    unwrapTensor('bn.runningMean', bn.runningMean), unwrapTensor('bn.runningVar', bn.runningVar), bn.eps);
  return [fromHandle(w), fromHandle(b)];
}
