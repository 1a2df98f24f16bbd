// (d) The SDD head, forward + backward (gradients to the feature map and the classifier), at
// B = 64, C = 256, 8 x 8, K = 100:
//   sddHead   : sdd.scaleLogits(x, w, b) -> B x K x 21 (scales [1, 2, 4], nested pooling)
//   plainHead : global average pooling + the same classifier -> B x K
// The scalar that is backpropagated is the sum of the logits (the head's cost, not a loss's).
// Twin: sdd_head.py (the authors' SPP module + shared fc).
import * as sdd from '../dist/index.js';
import { det } from './inputs.mjs';

export const B = 64, C = 256, HW = 8, K = 100;

function make(head) {
  return () => {
    const x = det([B, C, HW, HW], 0.1, 1, { requiresGrad: true });
    const w = det([K, C], 0.2, 1 / Math.sqrt(C), { requiresGrad: true });
    const b = det([K], 0.3, 0.05, { requiresGrad: true });
    const leaves = [x, w, b];
    return {
      run(iters) {
        for (let i = 0; i < iters; i++) {
          sdd.tidy(() => { head(x, w, b).sum().backward(); });
          for (const p of leaves) p.zeroGrad();
        }
      },
      check() { return sdd.tidy(() => sdd.noGrad(() => head(x, w, b).sum().item())); },
      teardown() { sdd.dispose(leaves); },
    };
  };
}

export const cases = {
  sddHead: { setup: make((x, w, b) => sdd.scaleLogits(x, w, b)) },
  plainHead: { setup: make((x, w, b) => x.mean([2, 3]).matmul(w.T).add(b)) },
};
