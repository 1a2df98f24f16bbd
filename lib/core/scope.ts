// Memory scopes: tidy() frees every tensor created inside it that it does not return; keep()
// exempts a tensor. Tensors are owned natively; this file only decides when to release them.
import { native, type Handle } from './native.js';

/** What a scope can track: tensors (branded so this file need not import the Tensor class). */
export interface Tracked {
  dispose(): void;
  readonly handle: Handle;
  /** @internal set once the finalization registry holds it */
  guarded: boolean;
}

export const TENSOR_BRAND: unique symbol = Symbol.for('sdd-torch.Tensor');

const scopes: Set<Tracked>[] = [];
const kept = new WeakSet<Tracked>();

// The safety net: a tensor nobody disposes is released once V8 has collected its handle. It is
// native (a weak reference per tensor, swept right after garbage collections, see native/tensor.cc)
// rather than a FinalizationRegistry: registry callbacks only run when the event loop turns, so a
// synchronous loop that never yields would hold every tensor it dropped, autograd graphs included.
// Guarding costs about as much as a small op, so tensors made inside tidy() (which frees them
// deterministically) are guarded only if they escape it: returned to top level or passed to keep().
function guard(t: Tracked): void {
  if (t.guarded) return;
  t.guarded = true;
  native.guard(t.handle);
}

/** Called by every new tensor: the innermost open scope owns it; outside any scope the GC does. */
export function track(t: Tracked): void {
  const top = scopes[scopes.length - 1];
  if (top !== undefined) top.add(t);
  else guard(t);
}

/** Exempts a tensor from every enclosing tidy() scope (it must then be disposed by hand, or is
 * released when collected). */
export function keep<T extends Tracked>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
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
  const scope = new Set<Tracked>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (isThenable(result)) {
    for (const t of scope) t.dispose();
    throw new TypeError('tidy() takes a synchronous function, but it returned a Promise: tensors created after an ' +
      'await would escape the scope. Use tidy() around the synchronous parts, or dispose() by hand.');
  }
  const returned = new Set<Tracked>();
  collect(result, returned, new Set());
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned.has(t)) {
      if (outer !== undefined) outer.add(t);
      else guard(t);
    } else if (!kept.has(t)) {
      t.dispose();
    }
  }
  return result;
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
