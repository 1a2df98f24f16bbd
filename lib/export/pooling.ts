// Average pooling as matrices, so that ONNX computes it with one MatMul: PyTorch's adaptive windows
// ([floor(i·H/G), ceil((i+1)·H/G)), overlapping when G does not divide H, repeating cells when G > H)
// and the SDD head's multi-scale regions with the exact semantics of native/sdd.cc (lib/sdd/pool.ts).

/** (H·W) × (gh·gw), row-major cells: x.reshape(B, C, H·W) @ M = adaptive_avg_pool2d(x, [gh, gw]).flatten(2). */
export function adaptivePoolMatrix(H: number, W: number, gh: number, gw: number): Float64Array {
  const m = new Float64Array(H * W * gh * gw);
  const cols = gh * gw;
  for (let i = 0; i < gh; i++) {
    const h0 = Math.floor((i * H) / gh);
    const h1 = Math.ceil(((i + 1) * H) / gh);
    for (let j = 0; j < gw; j++) {
      const w0 = Math.floor((j * W) / gw);
      const w1 = Math.ceil(((j + 1) * W) / gw);
      const v = 1 / ((h1 - h0) * (w1 - w0));
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) m[(h * W + w) * cols + i * gw + j] = v;
    }
  }
  return m;
}

/** a (r × k) · b (k × c), float64. */
function matmul(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let t = 0; t < k; t++) {
      const av = a[i * k + t]!;
      if (av === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j] += av * b[t * c + j]!;
    }
  }
  return out;
}

/**
 * (H·W) × N, N = Σ s²: column n averages region n of sdd.multiScalePool (region 0 the whole map,
 * then each grid row-major). 'nested' pools a base grid (4×4 when every scale divides 4, else the
 * largest scale) and derives the levels that divide it from that grid; the others, and every level
 * in 'direct' mode, are pooled from the map.
 */
export function multiScaleMatrix(H: number, W: number, scales: readonly number[], nested: boolean): { matrix: Float64Array; regions: number } {
  const largest = Math.max(...scales);
  const base = scales.every((s) => 4 % s === 0) ? 4 : largest;
  const levels: { m: Float64Array; cols: number }[] = [];
  const grid = nested ? adaptivePoolMatrix(H, W, base, base) : null;
  for (const s of scales) {
    let m: Float64Array;
    if (grid !== null && s === base) m = grid;
    else if (grid !== null && base % s === 0) m = matmul(grid, adaptivePoolMatrix(base, base, s, s), H * W, base * base, s * s);
    else m = adaptivePoolMatrix(H, W, s, s);
    levels.push({ m, cols: s * s });
  }
  const regions = levels.reduce((a, l) => a + l.cols, 0);
  const matrix = new Float64Array(H * W * regions);
  let off = 0;
  for (const { m, cols } of levels) {
    for (let r = 0; r < H * W; r++) for (let c = 0; c < cols; c++) matrix[r * regions + off + c] = m[r * cols + c]!;
    off += cols;
  }
  return { matrix, regions };
}
