// Grad-mode scopes. Grad mode is thread-wide in libtorch, so the scopes take synchronous functions:
// across an await, unrelated code would run with the wrong mode.
import { native } from './native.js';
import { GRAD_MODE } from './codes.js';

function run<T>(mode: number, name: string, fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`Expected a function for ${name}(fn) but received ${typeof fn}`);
  const result = native.withGradMode(mode, fn);
  if (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError(`${name}() takes a synchronous function, but it returned a Promise: grad mode is ` +
      'thread-wide and cannot follow an await. Call it around the synchronous tensor code instead.');
  }
  return result;
}

/** Runs fn with gradient recording off (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  return run(GRAD_MODE.noGrad, 'noGrad', fn);
}

/** Runs fn with gradient recording on, even inside noGrad(). */
export function enableGrad<T>(fn: () => T): T {
  return run(GRAD_MODE.enableGrad, 'enableGrad', fn);
}

/** Runs fn in inference mode (torch.inference_mode()): no autograd bookkeeping at all. Tensors made
 * inside cannot be used in autograd later. */
export function inferenceMode<T>(fn: () => T): T {
  return run(GRAD_MODE.inferenceMode, 'inferenceMode', fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
