// (b) A 3-layer MLP (batch 64: 256 -> 256 -> 256 -> 10), forward + backward + SGD with manual
// parameters, one training step per iteration. Twin: mlp.py.
//   mlp       : linear layers as x.matmul(w.T).add(b), the public API (no linear() is exported)
//   mlpLinear : the same net through the addon's native linear (at::linear -> one addmm), which is
//               bound in lib/core/native.ts but not exposed by lib/core/tensor.ts; Python uses F.linear.
import * as sdd from '../dist/index.js';
import { native } from '../dist/core/native.js';
import { fromHandle } from '../dist/core/tensor.js';
import { det, targets } from './inputs.mjs';

const B = 64, D = 256, H = 256, K = 10, LR = 0.01;

function params() {
  const g = { requiresGrad: true };
  return [
    det([H, D], 0.3, 1 / Math.sqrt(D), g), det([H], 0.4, 0.05, g),
    det([H, H], 0.5, 1 / Math.sqrt(H), g), det([H], 0.6, 0.05, g),
    det([K, H], 0.7, 1 / Math.sqrt(H), g), det([K], 0.8, 0.05, g),
  ];
}

const matmulAdd = (x, w, b) => x.matmul(w.T).add(b);
const nativeLinear = (x, w, b) => fromHandle(native.linear(x.handle, w.handle, b.handle));

function make(linear) {
  return () => {
    const x = det([B, D], 0.2);
    const y = targets(B, K);
    const ps = params();
    const [w1, b1, w2, b2, w3, b3] = ps;
    const loss = () => {
      const h1 = linear(x, w1, b1).relu();
      const h2 = linear(h1, w2, b2).relu();
      return sdd.losses.crossEntropy(linear(h2, w3, b3), y);
    };
    return {
      run(iters) {
        for (let i = 0; i < iters; i++) {
          sdd.tidy(() => {
            loss().backward();
            sdd.noGrad(() => {
              for (const p of ps) p.sub_(p.grad, LR);
            });
          });
          for (const p of ps) p.zeroGrad();
        }
      },
      check() { return sdd.tidy(() => sdd.noGrad(() => loss().item())); },
      teardown() { sdd.dispose([x, y, ...ps]); },
    };
  };
}

export const cases = {
  mlp: { setup: make(matmulAdd) },
  mlpLinear: { setup: make(nativeLinear) },
};
