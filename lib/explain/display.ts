// Images for display: the normalised float C x H x W tensors a loader gives, un-normalised with the
// data set's mean and std (the recipe's normalize transform, e.g. sdd.transforms.PRESETS) back to
// 8-bit RGB pixels. One channel is shown grey; more than three: the first three.
import { Tensor } from '../core/tensor.js';
import { tidy } from '../core/scope.js';
import { invalidParameterError } from '../core/errors.js';
import type { Transform } from '../data/transforms.js';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** The normalize step of a transform list (the last one), if any: what displayImages undoes. */
export function normalizationOf(transforms: readonly Transform[]): Normalization | undefined {
  for (let i = transforms.length - 1; i >= 0; i--) {
    const t = transforms[i]!;
    if (t.kind === 'normalize') return { mean: [...t.mean], std: [...t.std] };
  }
  return undefined;
}

/**
 * B x C x H x W float images (normalised with `norm`, or in [0, 1] without it) as RGB pixels:
 * x * std + mean per channel, times 255, clamped.
 */
export function displayImages(images: Tensor, norm?: Normalization): RgbImage[] {
  if (!(images instanceof Tensor) || images.shape.length !== 4) throw invalidParameterError('images', 'a 4-d tensor B x C x H x W', images);
  const [B, C, H, W] = images.shape as [number, number, number, number];
  if (norm !== undefined) {
    const ok = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!ok(norm.mean) || !ok(norm.std)) throw invalidParameterError('norm', '{ mean: number[], std: number[] }', norm);
  }
  const x = tidy(() => images.detach().float().cpu().contiguous().toTypedArray() as Float32Array);
  const out: RgbImage[] = [];
  for (let b = 0; b < B; b++) {
    const data = new Uint8Array(H * W * 3);
    for (let o = 0; o < 3; o++) {
      const c = C >= 3 ? o : 0;
      const mean = norm ? norm.mean[c % norm.mean.length]! : 0;
      const std = norm ? norm.std[c % norm.std.length]! : 1;
      const base = (b * C + c) * H * W;
      for (let p = 0; p < H * W; p++) {
        const v = Math.round((x[base + p]! * std + mean) * 255);
        data[p * 3 + o] = v < 0 ? 0 : v > 255 ? 255 : Number.isNaN(v) ? 0 : v;
      }
    }
    out.push({ width: W, height: H, data });
  }
  return out;
}
