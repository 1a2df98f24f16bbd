// (a) Per-op overhead: tiny tensors, so the time is the binding's cost per call, not the math.
// Twin: ops.py. Every case's run(iters) holds its own loop (no per-iteration callback).
import * as sdd from '../dist/index.js';
import { det } from './inputs.mjs';

function pair() {
  return { a: det([8], 0.1), b: det([8], 0.2) };
}

export const cases = {
  add: {
    setup() {
      const { a, b } = pair();
      return {
        run(iters) {
          for (let i = 0; i < iters; i++) a.add(b).dispose();
        },
        check() { return sdd.tidy(() => a.add(b).sum().item()); },
        teardown() { sdd.dispose([a, b]); },
      };
    },
  },
  addTidy: {
    setup() {
      const { a, b } = pair();
      return {
        run(iters) {
          for (let i = 0; i < iters; i++) sdd.tidy(() => { a.add(b); });
        },
        check() { return sdd.tidy(() => a.add(b).sum().item()); },
        teardown() { sdd.dispose([a, b]); },
      };
    },
  },
  addBatchTidy: {
    // the way tidy() is meant to be used: many ops per scope (here 1000), freed together
    setup() {
      const { a, b } = pair();
      return {
        run(iters) {
          for (let done = 0; done < iters; done += 1000) {
            const n = Math.min(1000, iters - done);
            sdd.tidy(() => { for (let i = 0; i < n; i++) a.add(b); });
          }
        },
        check() { return sdd.tidy(() => a.add(b).sum().item()); },
        teardown() { sdd.dispose([a, b]); },
      };
    },
  },
  mulScalar: {
    setup() {
      const { a } = pair();
      return {
        run(iters) {
          for (let i = 0; i < iters; i++) a.mul(2.5).dispose();
        },
        check() { return sdd.tidy(() => a.mul(2.5).sum().item()); },
        teardown() { a.dispose(); },
      };
    },
  },
  sum: {
    setup() {
      const { a } = pair();
      return {
        run(iters) {
          for (let i = 0; i < iters; i++) a.sum().dispose();
        },
        check() { return sdd.tidy(() => a.sum().item()); },
        teardown() { a.dispose(); },
      };
    },
  },
};
