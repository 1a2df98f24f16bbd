// Memory scopes: tidy() frees every tensor created inside it that it does not return; keep()
// exempts a tensor. Tensors are owned natively; this file only decides when to release them.
import { native, type Handle } from './native.js';

/** What a scope can track: tensors (branded so this file need not import the Tensor class). */
export interface Tracked {
  dispose(): void;
  readonly handle: Handle;
  /**
   * @internal true once the tensor needs no more bookkeeping: the GC safety net holds it, or it
   * was disposed (inside tidy(): also once keep() exempted it). Tensor.dispose() sets it.
   */
  guarded: boolean;
}

export const TENSOR_BRAND: unique symbol = Symbol.for('sdd-torch.Tensor');

// The innermost open scope (each tidy() call keeps the enclosing one on its stack frame). A scope
// is a plain array (a push is the cheapest record there is): keep() does not search it, it marks
// the tensor instead (guarded, below), and tidy() skips marked tensors when it frees the rest.
let innermost: Tracked[] | undefined;

// The safety net: a tensor nobody disposes is released once V8 has collected it. It is native (a
// weak reference per tensor, swept right after garbage collections, see native/tensor.cc) rather
// than a FinalizationRegistry: registry callbacks only run when the event loop turns, so a
// synchronous loop that never yields would hold every tensor it dropped, autograd graphs included.
// Tensors made inside tidy() (which frees them deterministically) are guarded only if they escape
// it: returned to top level or passed to keep(). Inside an open scope, `guarded` therefore means
// kept or already disposed.
function guard(t: Tracked): void {
  if (t.guarded) return;
  t.guarded = true;
  native.guard(t.handle, t);
}

// Guarding costs a native call and a weak reference, as much as a small op, and most tensors made
// outside tidy() are disposed a few ops later (`a.add(b).dispose()`), when they need no guard. So a
// new top-level tensor first waits in a short queue, and is guarded only if it is still undisposed
// when the queue is emptied: when it holds NURSERY tensors, and at the next microtask (so a program
// that awaits never leaves a dropped tensor out of the safety net). The queue delays the release
// of at most NURSERY dropped tensors; a synchronous loop stays bounded.
const NURSERY = 32;
const nursery: Tracked[] = [];
let flushQueued = false;

function flushNursery(): void {
  for (let i = 0; i < nursery.length; i++) guard(nursery[i]!);
  nursery.length = 0;
}

function flushLater(): void {
  flushQueued = false;
  flushNursery();
}

/** Called by every new tensor: the innermost open scope owns it; outside any scope the GC does. */
export function track(t: Tracked): void {
  if (innermost !== undefined) {
    innermost.push(t);
  } else if (nursery.push(t) >= NURSERY) {
    flushNursery();
  } else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushLater);
  }
}

/** Exempts a tensor from every enclosing tidy() scope (it must then be disposed by hand, or is
 * released when collected). */
export function keep<T extends Tracked>(t: T): T {
  guard(t);
  return t;
}

function isTracked(v: unknown): v is Tracked {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TENSOR_BRAND] === true;
}

/** Tensors reachable from a tidy() result: the value itself, arrays, Maps and plain objects. */
function collect(value: unknown, out: Set<Tracked>, seen: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 8) return;
  seen.add(value);
  if (isTracked(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen, depth + 1);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) collect(v, out, seen, depth + 1);
  }
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs `fn` and disposes every tensor created during it, except those in its result (a tensor,
 * or tensors inside arrays, Maps and plain objects) and those passed to keep(). Scopes nest: a
 * returned tensor moves to the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`Expected a function for tidy(fn) but received ${typeof fn}`);
  const outer = innermost;
  const scope: Tracked[] = [];
  innermost = scope;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    innermost = outer;
    release(scope, undefined);
    throw e;
  }
  innermost = outer;
  if (isThenable(result)) {
    release(scope, undefined);
    throw new TypeError('tidy() takes a synchronous function, but it returned a Promise: tensors created after an ' +
      'await would escape the scope. Use tidy() around the synchronous parts, or dispose() by hand.');
  }
  if (scope.length === 0) return result;
  if (result === undefined || result === null || typeof result !== 'object') {
    release(scope, undefined);
  } else if (isTracked(result)) {
    if (release(scope, result)) hand(result, outer);
  } else {
    const returned = new Set<Tracked>();
    collect(result, returned, new Set());
    for (const t of scope) {
      if (returned.has(t)) hand(t, outer);
      else if (!t.guarded) t.dispose();
    }
  }
  return result;
}

/** Disposes a closed scope's tensors except `returned` and the kept (guarded) ones; true when
 * `returned` was made in this scope. */
function release(scope: Tracked[], returned: Tracked | undefined): boolean {
  let found = false;
  for (let i = 0; i < scope.length; i++) {
    const t = scope[i]!;
    if (t === returned) found = true;
    else if (!t.guarded) t.dispose();
  }
  return found;
}

/** A returned tensor moves to the enclosing scope, or under the GC safety net at top level. */
function hand(t: Tracked, outer: Tracked[] | undefined): void {
  if (t.guarded) return;
  if (outer !== undefined) outer.push(t);
  else guard(t);
}

/** Live native tensors of this thread (main or worker) and the bytes of the storages they hold. */
export function memory(): { liveTensors: number; bytes: number } {
  return native.memory();
}

/** Disposes every tensor in a value (a tensor, an array, a Map or a plain object of them). */
export function dispose(value: unknown): void {
  const found = new Set<Tracked>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}
