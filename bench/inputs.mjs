// Deterministic inputs shared with inputs.py: both sides build bit-for-bit (or last-ulp) equal
// tensors without sharing a random generator, so the orchestrator can check that the Node and the
// Python benchmark compute the same value before it times them.
import * as sdd from '../dist/index.js';

const GOLDEN = 0.6180339887498949;

/** x[i] = scale * sin((i + 1) * 0.618... + seed), as float32, shaped. */
export function det(shape, seed, scale = 1, opts = {}) {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sin((i + 1) * GOLDEN + seed);
  return sdd.tensor(out, { shape, ...opts });
}

/** targets[b] = (37 b + 11) mod K, int64. */
export function targetsArray(B, K) {
  return Array.from({ length: B }, (_, b) => (37 * b + 11) % K);
}
export function targets(B, K) {
  return sdd.tensor(BigInt64Array.from(targetsArray(B, K).map(BigInt)), { shape: [B] });
}

/**
 * Teacher/student scale logits B x K x N. The teacher's target logit gets +4 on rows where
 * (b + n) % 3 != 0, so its region predictions are a mix of right and wrong (both consistent and
 * complementary rows exist, as in training).
 */
export function scaleLogitsPair(B, K, N) {
  const n = B * K * N;
  const s = new Float32Array(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = 2 * Math.sin((i + 1) * GOLDEN + 0.1);
    t[i] = 3 * Math.sin((i + 1) * GOLDEN + 0.7);
  }
  const y = targetsArray(B, K);
  for (let b = 0; b < B; b++) for (let r = 0; r < N; r++) {
    if ((b + r) % 3 !== 0) t[(b * K + y[b]) * N + r] += 4;
  }
  return { s, t, y };
}
