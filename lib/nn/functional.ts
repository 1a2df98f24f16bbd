// Functional forms of the layers (torch.nn.functional), for code that holds its own weights.
import './binding.js';
import { native } from '../core/native.js';
import { Tensor, fromHandle, unwrapTensor } from '../core/tensor.js';
import { checkBoolean, checkInteger, checkOptions, checkPair, invalidParameterError } from '../core/errors.js';
import { paddingModeCode, type IntPair, type PaddingMode } from './binding.js';

export interface Conv2dArgs { stride?: IntPair; padding?: IntPair; dilation?: IntPair; groups?: number; paddingMode?: PaddingMode }

/** F.conv2d (plus PyTorch's Conv2d padding modes). */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dArgs = {}): Tensor {
  opts = checkOptions<Conv2dArgs>('functional.conv2d options', opts, { stride: 'any', padding: 'any', dilation: 'any', groups: 'any', paddingMode: 'any' });
  const mode = paddingModeCode('paddingMode', opts.paddingMode ?? 'zeros');
  const spec = Int32Array.from([...checkPair('stride', opts.stride ?? 1, 1), ...checkPair('padding', opts.padding ?? 0, 0),
    ...checkPair('dilation', opts.dilation ?? 1, 1), checkInteger('groups', opts.groups ?? 1, 1), mode]);
  return fromHandle(native.nnConv2d(unwrapTensor('input', x), unwrapTensor('weight', weight), bias === null ? null : unwrapTensor('bias', bias), spec));
}

export interface BatchNormArgs { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number }

/** F.batch_norm: updates runningMean/runningVar in place in training mode. */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormArgs = {}): Tensor {
  opts = checkOptions<BatchNormArgs>('functional.batchNorm options', opts,
    { weight: { kind: 'any', nullable: true }, bias: { kind: 'any', nullable: true }, training: 'boolean', momentum: 'number', eps: { kind: 'number', min: 0 } });
  const h = (name: string, t: Tensor | null | undefined) => (t == null ? null : unwrapTensor(name, t));
  return fromHandle(native.nnBatchNorm(unwrapTensor('input', x), h('weight', opts.weight), h('bias', opts.bias), h('runningMean', runningMean),
    h('runningVar', runningVar), null, Float64Array.from([opts.momentum ?? 0.1, opts.eps ?? 1e-5, 0]), opts.training === undefined ? false : checkBoolean('training', opts.training)));
}

export function maxPool2d(x: Tensor, kernelSize: IntPair, opts: { stride?: IntPair; padding?: IntPair; dilation?: IntPair; ceilMode?: boolean } = {}): Tensor {
  opts = checkOptions<typeof opts>('functional.maxPool2d options', opts, { stride: 'any', padding: 'any', dilation: 'any', ceilMode: 'boolean' });
  const k = checkPair('kernelSize', kernelSize, 1);
  const spec = Int32Array.from([...k, ...checkPair('stride', opts.stride ?? k, 1), ...checkPair('padding', opts.padding ?? 0, 0),
    ...checkPair('dilation', opts.dilation ?? 1, 1), opts.ceilMode ? 1 : 0]);
  return fromHandle(native.nnMaxPool2d(unwrapTensor('input', x), spec));
}

export function avgPool2d(x: Tensor, kernelSize: IntPair, opts: { stride?: IntPair; padding?: IntPair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  opts = checkOptions<typeof opts>('functional.avgPool2d options', opts,
    { stride: 'any', padding: 'any', ceilMode: 'boolean', countIncludePad: 'boolean', divisorOverride: { kind: 'integer', min: 0 } });
  const k = checkPair('kernelSize', kernelSize, 1);
  const spec = Int32Array.from([...k, ...checkPair('stride', opts.stride ?? k, 1), ...checkPair('padding', opts.padding ?? 0, 0),
    opts.ceilMode ? 1 : 0, opts.countIncludePad === false ? 0 : 1, opts.divisorOverride ?? 0]);
  return fromHandle(native.nnAvgPool2d(unwrapTensor('input', x), spec));
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: IntPair): Tensor {
  return fromHandle(native.nnAdaptiveAvgPool2d(unwrapTensor('input', x), Int32Array.from(checkPair('outputSize', outputSize, 1))));
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidParameterError('p', 'a probability in [0, 1]', p, true);
  return fromHandle(native.nnDropout(unwrapTensor('input', x), p, checkBoolean('training', training)));
}

export function channelShuffle(x: Tensor, groups: number): Tensor {
  return fromHandle(native.nnChannelShuffle(unwrapTensor('input', x), checkInteger('groups', groups, 1)));
}

export function relu(x: Tensor): Tensor { return fromHandle(native.nnAct(unwrapTensor('input', x), 1, 0)); }
export function relu6(x: Tensor): Tensor { return fromHandle(native.nnAct(unwrapTensor('input', x), 2, 0)); }
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor { return fromHandle(native.nnAct(unwrapTensor('input', x), 3, negativeSlope)); }

/** a + b followed by an activation, in one call (residual joins). */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  return fromHandle(native.nnAddAct(unwrapTensor('a', a), unwrapTensor('b', b), 1, 0));
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
