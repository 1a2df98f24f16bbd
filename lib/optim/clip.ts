// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_; the reference clips at 40).
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import { checkNumber, invalidParameterError } from '../core/errors.js';

/** Scales every gradient so that their global norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  if (!Array.isArray(params)) throw invalidParameterError('params', 'an array of tensors', params);
  if (!(checkNumber('maxNorm', maxNorm) > 0)) throw invalidParameterError('maxNorm', 'a positive number', maxNorm, true);
  return native.clipGradNorm(params.map((p) => p.handle), maxNorm, checkNumber('normType', normType));
}
