// Initialisers (torch.nn.init), in place and without recording gradients. The bounds and standard
// deviations are computed with PyTorch's own formulas in double precision, and the draws go through
// the same libtorch generator and kernels, so after the same manualSeed the same calls in the same
// order give the same numbers as PyTorch.
import './binding.js';
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import { checkFinite, checkOptions, invalidParameterError } from '../core/errors.js';
import { INIT } from '../core/codes.js';

export type FanMode = 'fan_in' | 'fan_out';
export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

function target(name: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw invalidParameterError(name, 'a Tensor', t);
  return t;
}

/** fan_in and fan_out of a weight (PyTorch's _calculate_fan_in_and_fan_out). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  const shape = target('tensor', t).shape;
  if (shape.length < 2) {
    throw new RangeError('Fan in and fan out can not be computed for a tensor with fewer than 2 dimensions');
  }
  let receptive = 1;
  for (const s of shape.slice(2)) receptive *= s;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d': case 'sigmoid': return 1;
    case 'tanh': return 5.0 / 3;
    case 'relu': return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param === undefined ? 0.01 : checkFinite('param', param);
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case 'selu': return 3.0 / 4;
    default: throw invalidParameterError('nonlinearity', "one of 'linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'", nonlinearity);
  }
}

function fan(t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (mode === 'fan_in') return fanIn;
  if (mode === 'fan_out') return fanOut;
  throw invalidParameterError('mode', "'fan_in' or 'fan_out'", mode);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  /** 'fan_in' (default) preserves the forward variance, 'fan_out' the backward. */
  mode?: FanMode;
  /** Default 'leaky_relu' (as PyTorch). The CIFAR zoo uses { mode: 'fan_out', nonlinearity: 'relu' }. */
  nonlinearity?: Nonlinearity;
}

function kaimingOptions(fn: string, opts: unknown): KaimingOptions {
  return checkOptions<KaimingOptions>(`nn.init.${fn} options`, opts, {
    a: 'number', mode: { kind: 'string', oneOf: ['fan_in', 'fan_out'] }, nonlinearity: 'string',
  }, { hints: { negative_slope: 'a', negativeSlope: 'a' } });
}

/** He normal: N(0, gain / sqrt(fan)). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  opts = kaimingOptions('kaimingNormal_', opts);
  const std = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan(target('tensor', t), opts.mode ?? 'fan_in'));
  native.nnInit(t.handle, INIT.normal, 0, std);
  return t;
}

/** He uniform: U(-b, b), b = sqrt(3) · gain / sqrt(fan). PyTorch's default for Conv2d/Linear weights uses a = sqrt(5). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  opts = kaimingOptions('kaimingUniform_', opts);
  const std = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan(target('tensor', t), opts.mode ?? 'fan_in'));
  const bound = Math.sqrt(3.0) * std;
  native.nnInit(t.handle, INIT.uniform, -bound, bound);
  return t;
}

/** Glorot uniform: U(-b, b), b = gain · sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1.0): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(target('tensor', t));
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  native.nnInit(t.handle, INIT.uniform, -a, a);
  return t;
}

/** Glorot normal: N(0, gain · sqrt(2 / (fan_in + fan_out))). */
export function xavierNormal_(t: Tensor, gain = 1.0): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(target('tensor', t));
  native.nnInit(t.handle, INIT.normal, 0, gain * Math.sqrt(2.0 / (fanIn + fanOut)));
  return t;
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  native.nnInit(target('tensor', t).handle, INIT.normal, checkFinite('mean', mean), checkFinite('std', std));
  return t;
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  native.nnInit(target('tensor', t).handle, INIT.uniform, checkFinite('a', a), checkFinite('b', b));
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  native.nnInit(target('tensor', t).handle, INIT.fill, checkFinite('value', value), 0);
  return t;
}

export function zeros_(t: Tensor): Tensor {
  native.nnInit(target('tensor', t).handle, INIT.zero, 0, 0);
  return t;
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}
