// KDSVD (Lee et al., "Self-supervised Knowledge Distillation Using Singular Value Decomposition"):
// CE + the distance between radial-basis correlations of consecutive stages' leading right singular
// vectors (student's aligned to the teacher's). Reference: mdistiller KDSVD (cfg.KDSVD: K 1,
// CE_WEIGHT 1, FEAT_WEIGHT 1).
//
// libtorch's SVD is not exposed by the native layer, so the decomposition is computed here: the
// right singular vectors of X (B x CH x W) are the eigenvectors of X^T X (W x W), found by Jacobi
// rotations in float64; their gradient reaches X through a first-order term of zero value,
// V + Σ_j v_j (v_j^T (G - stop(G)) v_i) / (λ_i - λ_j), which is the derivative torch.svd's backward
// gives for V (distinct singular values).
import type { DistillerOptions } from './distiller.js';
import { Tensor, where } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { noGrad } from '../core/autograd.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, configReader, featureLists, normalize } from './feature-common.js';

export const KDSVD_DEFAULTS = { ceWeight: 1, featWeight: 1, k: 1 };
export type KdsvdSettings = typeof KDSVD_DEFAULTS;

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major, float64) by cyclic Jacobi rotations:
 * eigenvalues in descending order and the eigenvectors as columns (row-major n x n).
 */
export function symmetricEigen(a0: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(a0);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p]! * a[p * n + p]!;
      for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!, aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    // sign: the larger half of the vector's mass positive (deterministic; the loss only compares
    // stages through vectors aligned to the teacher's)
    let sum = 0;
    for (let k = 0; k < n; k++) sum += v[k * n + src]!;
    const sg = sum < 0 ? -1 : 1;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = sg * v[k * n + src]!;
  });
  return { values, vectors };
}

/**
 * The reference's svd(feat, n): the leading n right singular vectors (B x W x n, columns
 * normalised) and singular values (B x n, normalised) of feat viewed as B x CH x W. With
 * gradients when feat has them (see the file's header).
 */
export function rightSingular(feat: Tensor, n: number): { s: Tensor; v: Tensor } {
  const [b, c, h, w] = feat.shape as [number, number, number, number];
  const x = feat.reshape([b, c * h, w]);
  const g64 = noGrad(() => { const xd = x.double(); return xd.transpose(1, 2).matmul(xd); });
  const gArr = g64.toTypedArray() as Float64Array;
  g64.dispose();
  const vecs = new Float64Array(b * w * w), vals = new Float64Array(b * w);
  for (let i = 0; i < b; i++) {
    const { values, vectors } = symmetricEigen(gArr.subarray(i * w * w, (i + 1) * w * w), w);
    vecs.set(vectors, i * w * w);
    vals.set(values, i * w);
  }
  const like = { dtype: feat.dtype, device: feat.device as never };
  let v = tensor(vecs, { shape: [b, w, w], dtype: 'float64' }).to(like);
  if (feat.requiresGrad) {
    const inv = new Float64Array(b * w * w);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < w; j++) {
        for (let k = 0; k < w; k++) {
          const d = vals[i * w + k]! - vals[i * w + j]!;
          if (j !== k && d !== 0 && Number.isFinite(d)) inv[i * w * w + j * w + k] = 1 / d;
        }
      }
    }
    const g = x.transpose(1, 2).matmul(x);
    const dg = g.sub(g.detach());
    const m = v.transpose(1, 2).matmul(dg).matmul(v);
    v = v.add(v.matmul(m.mul(tensor(inv, { shape: [b, w, w], dtype: 'float64' }).to(like))));
  }
  const s = tensor(Float64Array.from(vals, (l) => Math.sqrt(Math.max(l, 0))), { shape: [b, w], dtype: 'float64' }).to(like);
  const clean = (t: Tensor) => where(t.isfinite(), t, 0);
  return { s: normalize(clean(s).narrow(1, 0, n), 1), v: normalize(clean(v).narrow(2, 0, n), 1) };
}

/** The student's vectors matched (by largest |cosine|, with its sign) to the teacher's. */
export function alignRsv(a: Tensor, b: Tensor): Tensor {
  const cosine = a.transpose(1, 2).matmul(b);
  const mask = noGrad(() => {
    const abs = cosine.abs();
    const best = abs.amax(1, true);
    return where(best.eq(abs), cosine.sign(), 0);
  });
  return a.matmul(mask);
}

/**
 * The sign of the teacher's singular vectors of stage `stage` (0-based, after the stem) for batch
 * element `element`: +1 keeps this implementation's convention (each vector's components sum to a
 * non-negative number), -1 flips it.
 */
export type SignChoice = (stage: number, element: number) => 1 | -1;

/**
 * The KDSVD loss of two feature lists (consecutive stages compared), divided by the batch size.
 *
 * Singular vectors have no intrinsic sign, and the loss compares stages through the teacher's
 * vectors (the student's are aligned to them), so it depends on the sign the SVD routine happens
 * to return: the reference gets LAPACK gesdd's, which varies from matrix to matrix. Here the
 * convention is deterministic (see symmetricEigen); `teacherSign` can impose another one.
 */
export function kdsvdLoss(gs: Tensor[], gt: Tensor[], k: number, teacherSign?: SignChoice): Tensor {
  let vsb: Tensor | null = null, vtb: Tensor | null = null;
  let total: Tensor | null = null;
  for (let i = 0; i < Math.min(gs.length, gt.length); i++) {
    const t = noGrad(() => rightSingular(gt[i]!, k));
    if (teacherSign) {
      const b = gt[i]!.shape[0]!;
      const signs = Array.from({ length: b }, (_, e) => teacherSign(i, e));
      if (signs.some((v) => v === -1)) {
        const flip = tensor(signs, { dtype: t.v.dtype, device: t.v.device as never }).reshape([b, 1, 1]);
        t.v = t.v.mul(flip);
      }
    }
    const s = rightSingular(gs[i]!, k + 3);
    const st = t.s.unsqueeze(1);
    const vt = t.v.mul(st);
    const vs = alignRsv(s.v, t.v).mul(st);
    if (vsb !== null && vtb !== null) {
      const sRbf = vs.unsqueeze(2).sub(vsb.unsqueeze(1)).square().div(-8).exp();
      const tRbf = vt.unsqueeze(2).sub(vtb.unsqueeze(1)).square().div(-8).exp();
      const l2 = sRbf.sub(tRbf.detach()).square();
      const l = where(l2.isfinite(), l2, 0).sum();
      total = total === null ? l : total.add(l);
    }
    vsb = vs;
    vtb = vt;
  }
  if (total === null) throw new Error('kdsvd: needs at least two stages to compare');
  return total.div(gs[0]!.shape[0]!);
}

export class KDSVD extends FeatureDistiller<KdsvdSettings> {
  /** Settings from an experiment config: the reference's KDSVD section (absent: the defaults). */
  static fromConfig = configReader('KDSVD');
  readonly name = 'kdsvd';
  /** Imposes the teacher's singular-vector signs (see kdsvdLoss); tests use it to follow the reference's LAPACK. */
  teacherSign: SignChoice | undefined = undefined;
  constructor(opts: DistillerOptions & Partial<KdsvdSettings>) {
    super('kdsvd', opts, KDSVD_DEFAULTS);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const [fs, ft] = featureLists(this.name, s, t, 'stages');
    return () => kdsvdLoss(fs.slice(1), ft.slice(1), this.settings.k, this.teacherSign);
  }
}
