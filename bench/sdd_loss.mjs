// (c) Distillation losses, forward + backward w.r.t. the student logits, at B = 64, K = 100:
//   kd    : losses.kd on B x K logits
//   sddKd : losses.sddKd on B x K x N scale logits, N = 21 (scales [1, 2, 4])
//   kdRows: losses.kd on (N*B) x K = 1344 x 100 logits, the same number of rows as sddKd (how
//           much the SDD part - region rows, weights - costs beyond KD on that much data)
// Twin: sdd_loss.py (the authors' formulation in plain torch ops).
import * as sdd from '../dist/index.js';
import { det, scaleLogitsPair, targets } from './inputs.mjs';

export const B = 64, K = 100, N = 21, T = 4;

function kdCase(rows) {
  return {
    setup() {
      const s = det([rows, K], 0.1, 2, { requiresGrad: true });
      const t = det([rows, K], 0.7, 3);
      return {
        run(iters) {
          for (let i = 0; i < iters; i++) {
            sdd.tidy(() => { sdd.losses.kd(s, t, { temperature: T }).backward(); });
            s.zeroGrad();
          }
        },
        check() { return sdd.tidy(() => sdd.losses.kd(s, t, { temperature: T }).item()); },
        teardown() { sdd.dispose([s, t]); },
      };
    },
  };
}

export const cases = {
  kd: kdCase(B),
  kdRows: kdCase(N * B),
  sddKd: {
    setup() {
      const d = scaleLogitsPair(B, K, N);
      const s = sdd.tensor(d.s, { shape: [B, K, N], requiresGrad: true });
      const t = sdd.tensor(d.t, { shape: [B, K, N] });
      const y = targets(B, K);
      return {
        run(iters) {
          for (let i = 0; i < iters; i++) {
            sdd.tidy(() => { sdd.losses.sddKd(s, t, y, { temperature: T }).backward(); });
            s.zeroGrad();
          }
        },
        check() { return sdd.tidy(() => sdd.losses.sddKd(s, t, y, { temperature: T }).item()); },
        teardown() { sdd.dispose([s, t, y]); },
      };
    },
  },
};
