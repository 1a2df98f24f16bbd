// The native batch transforms against a plain TypeScript reference written from torchvision's
// definitions (pad then crop, flips, centre crop with its padding and rounding, PIL's antialiased
// bilinear resize, RandomResizedCrop.get_params, ToTensor + Normalize), one image at a time,
// materialising every step. Random draws come from the same (seed, epoch, index) streams.
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';
import * as T from '../lib/data/transforms.js';
import { native } from '../lib/core/native.js';
import { SampleRng, sampleKey, roundHalfEven, permutation, Xoshiro128 } from '../lib/data/rng.js';

interface Img { c: number; h: number; w: number; d: Float64Array } // CHW, 0..255 scale

const at = (im: Img, c: number, y: number, x: number): number => im.d[(c * im.h + y) * im.w + x]!;

function make(c: number, h: number, w: number, f: (c: number, y: number, x: number) => number): Img {
  const d = new Float64Array(c * h * w);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d[(k * h + y) * w + x] = f(k, y, x);
  return { c, h, w, d };
}

/** Where padded coordinate i (of an axis of n) reads from: numpy.pad's modes, by walking. */
function refIndex(i: number, n: number, mode: string): number {
  if (i >= 0 && i < n) return i;
  if (mode === 'zeros') return -1;
  if (mode === 'edge') return Math.min(Math.max(i, 0), n - 1);
  if (n === 1) return 0;
  // Walk outward, bouncing off the ends: reflect does not repeat the edge pixel, symmetric does.
  let pos = 0;
  let dir = i < 0 ? -1 : 1;
  let steps = i < 0 ? -i : i;
  while (steps > 0) {
    const next = pos + dir;
    if (next < 0 || next >= n) {
      dir = -dir;
      if (mode === 'symmetric') { steps--; continue; } // the edge pixel repeats
      pos += dir;
    } else {
      pos = next;
    }
    steps--;
  }
  return pos;
}

function refPad(im: Img, l: number, t: number, r: number, b: number, mode: string): Img {
  return make(im.c, im.h + t + b, im.w + l + r, (c, y, x) => {
    const sy = refIndex(y - t, im.h, mode);
    const sx = refIndex(x - l, im.w, mode);
    return sy < 0 || sx < 0 ? 0 : at(im, c, sy, sx);
  });
}

function refCrop(im: Img, top: number, left: number, h: number, w: number): Img {
  return make(im.c, h, w, (c, y, x) => {
    const sy = y + top;
    const sx = x + left;
    return sy < 0 || sy >= im.h || sx < 0 || sx >= im.w ? 0 : at(im, c, sy, sx);
  });
}

function refFlipH(im: Img): Img {
  return make(im.c, im.h, im.w, (c, y, x) => at(im, c, y, im.w - 1 - x));
}

function refCenterCrop(im: Img, ch: number, cw: number): Img {
  // torchvision.transforms.functional.center_crop
  let img = im;
  if (cw > img.w || ch > img.h) {
    const l = cw > img.w ? Math.floor((cw - img.w) / 2) : 0;
    const t = ch > img.h ? Math.floor((ch - img.h) / 2) : 0;
    const r = cw > img.w ? Math.floor((cw - img.w + 1) / 2) : 0;
    const b = ch > img.h ? Math.floor((ch - img.h + 1) / 2) : 0;
    img = refPad(img, l, t, r, b, 'zeros');
    if (img.w === cw && img.h === ch) return img;
  }
  const top = roundHalfEven((img.h - ch) / 2);
  const left = roundHalfEven((img.w - cw) / 2);
  return refCrop(img, top, left, ch, cw);
}

/** PIL's ImagingResample with the bilinear filter (antialiased), in floating point. */
function refResize(im: Img, oh: number, ow: number): Img {
  if (oh === im.h && ow === im.w) return im;
  const weights = (inSize: number, outSize: number): { lo: number; k: number[] }[] => {
    const scale = inSize / outSize;
    const fs = Math.max(scale, 1);
    const support = fs;
    const out: { lo: number; k: number[] }[] = [];
    for (let o = 0; o < outSize; o++) {
      const center = (o + 0.5) * scale;
      const lo = Math.max(Math.trunc(center - support + 0.5), 0);
      const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
      const k: number[] = [];
      for (let x = lo; x < hi; x++) {
        const t = Math.abs((x - center + 0.5) / fs);
        k.push(t < 1 ? 1 - t : 0);
      }
      const sum = k.reduce((a, b) => a + b, 0);
      out.push({ lo, k: k.map((v) => (sum ? v / sum : 0)) });
    }
    return out;
  };
  const wx = weights(im.w, ow);
  const wy = weights(im.h, oh);
  const tmp = make(im.c, im.h, ow, (c, y, x) => wx[x]!.k.reduce((s, k, i) => s + k * at(im, c, y, wx[x]!.lo + i), 0));
  return make(im.c, oh, ow, (c, y, x) => wy[y]!.k.reduce((s, k, i) => s + k * at(tmp, c, wy[y]!.lo + i, x), 0));
}

function refRandomResizedCrop(im: Img, rng: SampleRng, h: number, w: number, scale = [0.08, 1], ratio = [3 / 4, 4 / 3]): Img {
  // torchvision.transforms.RandomResizedCrop.get_params
  const area = im.h * im.w;
  const logRatio = [Math.log(ratio[0]!), Math.log(ratio[1]!)];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniformIn(scale[0]!, scale[1]!);
    const aspect = Math.exp(rng.uniformIn(logRatio[0]!, logRatio[1]!));
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= im.w && ch > 0 && ch <= im.h) {
      const i = rng.int(0, im.h - ch + 1);
      const j = rng.int(0, im.w - cw + 1);
      return refResize(refCrop(im, i, j, ch, cw), h, w);
    }
  }
  const inRatio = im.w / im.h;
  let cw: number;
  let ch: number;
  if (inRatio < Math.min(...ratio)) { cw = im.w; ch = roundHalfEven(cw / Math.min(...ratio)); } else if (inRatio > Math.max(...ratio)) { ch = im.h; cw = roundHalfEven(ch * Math.max(...ratio)); } else { cw = im.w; ch = im.h; }
  return refResize(refCrop(im, Math.floor((im.h - ch) / 2), Math.floor((im.w - cw) / 2), ch, cw), h, w);
}

function refPipeline(im: Img, ts: readonly T.Transform[], rng: SampleRng): Float64Array {
  let img = im;
  let mean: readonly number[] = [];
  let std: readonly number[] = [];
  let scale = 1 / 255;
  for (const t of ts) {
    switch (t.kind) {
      case 'randomCrop': {
        const [l, tp, r, b] = t.padding;
        const padded = refPad(img, l, tp, r, b, t.paddingMode);
        const [h, w] = t.size;
        let i = 0;
        let j = 0;
        if (!(padded.h === h && padded.w === w)) { i = rng.int(0, padded.h - h + 1); j = rng.int(0, padded.w - w + 1); }
        img = refCrop(padded, i, j, h, w);
        break;
      }
      case 'pad': img = refPad(img, ...t.padding, t.paddingMode); break;
      case 'crop': img = refCrop(img, t.top, t.left, t.size[0], t.size[1]); break;
      case 'centerCrop': img = refCenterCrop(img, t.size[0], t.size[1]); break;
      case 'randomHorizontalFlip': if (rng.uniform() < t.p) img = refFlipH(img); break;
      case 'randomVerticalFlip': if (rng.uniform() < t.p) img = make(img.c, img.h, img.w, (c, y, x) => at(img, c, img.h - 1 - y, x)); break;
      case 'resize': {
        if (typeof t.size === 'number') {
          const s = t.size;
          img = img.h <= img.w ? refResize(img, s, Math.trunc((s * img.w) / img.h)) : refResize(img, Math.trunc((s * img.h) / img.w), s);
        } else {
          img = refResize(img, t.size[0], t.size[1]);
        }
        break;
      }
      case 'randomResizedCrop': img = refRandomResizedCrop(img, rng, t.size[0], t.size[1], [...t.scale], [...t.ratio]); break;
      case 'normalize': mean = t.mean; std = t.std; break;
      case 'toFloat': scale = t.scale; break;
    }
  }
  const out = new Float64Array(img.d.length);
  for (let c = 0; c < img.c; c++) {
    const m = mean.length ? (mean.length === 1 ? mean[0]! : mean[c]!) : 0;
    const s = std.length ? (std.length === 1 ? std[0]! : std[c]!) : 1;
    for (let i = 0; i < img.h * img.w; i++) out[c * img.h * img.w + i] = (img.d[c * img.h * img.w + i]! * scale - m) / s;
  }
  return out;
}

/** n random uint8 images (C×H×W), deterministic. */
function images(n: number, c: number, h: number, w: number, seed = 1): Uint8Array {
  const rng = new Xoshiro128(BigInt(seed));
  const out = new Uint8Array(n * c * h * w);
  for (let i = 0; i < out.length; i++) out[i] = rng.nextU32() & 255;
  return out;
}

async function check(n: number, c: number, h: number, w: number, ts: T.Transform[], opts: { seed?: number; epoch?: number; tol?: number; layout?: 'NCHW' | 'NHWC' } = {}): Promise<void> {
  const px = images(n, c, h, w, (opts.seed ?? 0) + 7);
  const input = sdd.tensor(px, { shape: [n, c, h, w], dtype: 'uint8' });
  let src = input;
  if (opts.layout === 'NHWC') src = input.permute([0, 2, 3, 1]).contiguous();
  const out = await T.apply(src, ts, { seed: opts.seed ?? 0, epoch: opts.epoch ?? 0, layout: opts.layout });
  const got = out.toTypedArray() as Float32Array;
  const per = got.length / n;
  for (let i = 0; i < n; i++) {
    const im = make(c, h, w, (k, y, x) => px[((i * c + k) * h + y) * w + x]!);
    const rng = new SampleRng(sampleKey(opts.seed ?? 0, opts.epoch ?? 0, i));
    const want = refPipeline(im, ts, rng);
    expect(want.length).toBe(per);
    let worst = 0;
    for (let k = 0; k < per; k++) worst = Math.max(worst, Math.abs(got[i * per + k]! - want[k]!));
    expect(worst, `image ${i}`).toBeLessThanOrEqual(opts.tol ?? 1e-5);
  }
  input.dispose();
  if (src !== input) src.dispose();
  out.dispose();
}

describe('random streams', () => {
  it('native and TS compute the same sample keys', () => {
    for (const [seed, epoch, id] of [[0, 0, 0], [1, 2, 3], [123456789, 99, 49999], [2 ** 53 - 1, 7, 2 ** 40]] as const) {
      expect(native.dataSampleKey(BigInt(seed), epoch, id)).toBe(sampleKey(seed, epoch, id));
    }
  });
  it('known values (splitmix64 of 0 is 0xe220a8397b1dcdaf)', () => {
    // splitmix64's first output from state 0, as published with the algorithm.
    expect(new SampleRng(0n).next()).toBe(0xe220a8397b1dcdafn);
    expect(roundHalfEven(0.5)).toBe(0);
    expect(roundHalfEven(1.5)).toBe(2);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-1.5)).toBe(-2);
  });
  it('permutation is a permutation, fixed by (seed, epoch), different across epochs', () => {
    const a = permutation(1000, 5, 0);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(1000).keys()]);
    expect(permutation(1000, 5, 0)).toEqual(a);
    expect(permutation(1000, 5, 1)).not.toEqual(a);
    expect(permutation(1000, 6, 0)).not.toEqual(a);
    // Roughly uniform: each position's mean over many epochs is near (n - 1) / 2.
    let sum = 0;
    for (let e = 0; e < 2000; e++) sum += permutation(10, 1, e)[0]!;
    expect(sum / 2000).toBeGreaterThan(4.2);
    expect(sum / 2000).toBeLessThan(4.8);
  });
});

describe('native transforms match the reference', () => {
  it('uint8 -> float (ToTensor) with no transforms', async () => {
    await check(3, 3, 5, 4, []);
  });
  it('normalize: CIFAR-100 and ImageNet presets and explicit values, 1 channel broadcast', async () => {
    await check(4, 3, 6, 6, [T.normalize('cifar100')]);
    await check(2, 3, 6, 6, [T.toFloat(), T.normalize('imagenet')]);
    await check(2, 1, 6, 6, [T.normalize([0.5], [0.25])]);
    await check(2, 3, 4, 4, [T.toFloat({ scale: 1 })]);
  });
  it('random crop with zero, reflect, edge and symmetric padding (CIFAR recipe)', async () => {
    for (const mode of ['zeros', 'reflect', 'edge', 'symmetric'] as const) {
      await check(16, 3, 8, 8, [T.randomCrop(8, { padding: 3, paddingMode: mode }), T.normalize('cifar100')], { seed: 3 });
    }
    await check(8, 3, 32, 32, T.cifarTrain('cifar100'), { seed: 11, epoch: 4 });
    await check(8, 1, 9, 7, [T.randomCrop([5, 6], { padding: [1, 2, 3, 4], paddingMode: 'reflect' })], { seed: 2 });
    // reflect padding wider than the image bounces back and forth
    await check(4, 2, 3, 3, [T.randomCrop(9, { padding: 5, paddingMode: 'reflect' })], { seed: 9 });
  });
  it('crop offsets cover the whole range and flips happen about half the time', async () => {
    const n = 400;
    const px = new Uint8Array(n * 8 * 8);
    for (let i = 0; i < n; i++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) px[i * 64 + y * 8 + x] = y * 8 + x;
    const input = sdd.tensor(px, { shape: [n, 8, 8], dtype: 'uint8' });
    const out = await T.apply(input, [T.randomCrop(4, { padding: 0 }), T.randomHorizontalFlip()], { seed: 1, epoch: 0 });
    const got = out.toTypedArray() as Float32Array;
    const tops = new Set<number>();
    let flips = 0;
    for (let i = 0; i < n; i++) {
      const v = (k: number) => Math.round(got[i * 16 + k]! * 255);
      const first = v(0);
      const last = v(3);
      if (last < first) flips++;
      tops.add(Math.floor(Math.min(first, last) / 8));
    }
    expect([...tops].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(flips).toBeGreaterThan(n * 0.4);
    expect(flips).toBeLessThan(n * 0.6);
    input.dispose();
    out.dispose();
  });
  it('flips: p = 1 always, p = 0 never; vertical too', async () => {
    await check(4, 3, 5, 6, [T.randomHorizontalFlip(1)]);
    await check(4, 3, 5, 6, [T.randomHorizontalFlip(0)]);
    await check(6, 2, 5, 6, [T.randomVerticalFlip(), T.randomHorizontalFlip()], { seed: 4 });
  });
  it('centre crop (torchvision rounding, zero padding when larger), fixed crop, pad', async () => {
    await check(2, 3, 9, 10, [T.centerCrop([4, 5])]);
    await check(2, 3, 9, 10, [T.centerCrop([6, 3])]);
    await check(2, 1, 5, 4, [T.centerCrop([8, 7])]);
    await check(2, 3, 6, 6, [T.crop(-1, 2, [4, 6])]);
    await check(2, 3, 4, 5, [T.pad([1, 2, 3, 0], 'symmetric'), T.pad(1, 'edge')]);
  });
  it('resize (antialiased bilinear, PIL weights) up, down, by the shorter side', async () => {
    await check(2, 3, 12, 16, [T.resize([6, 8])], { tol: 1e-3 });
    await check(2, 3, 7, 5, [T.resize([11, 13])], { tol: 1e-3 });
    await check(2, 3, 12, 20, [T.resize(6)], { tol: 1e-3 });
    await check(2, 1, 20, 12, [T.resize(5), T.centerCrop(5)], { tol: 1e-3 });
  });
  it('random resized crop, then flip and normalize (ImageNet recipe, small)', async () => {
    await check(12, 3, 20, 24, [T.randomResizedCrop(8), T.randomHorizontalFlip(), T.normalize('imagenet')], { seed: 5, tol: 1e-3 });
    await check(6, 3, 30, 10, [T.randomResizedCrop([6, 4], { scale: [0.9, 1], ratio: [3, 4] })], { seed: 6, tol: 1e-3 }); // forces the fallback
  });
  it('channels-last input gives the same result as channels-first', async () => {
    await check(5, 3, 32, 32, T.cifarTrain('cifar10'), { seed: 8, layout: 'NHWC' });
  });
  it('the same (seed, epoch, index) gives the same augmentation whatever the threads', async () => {
    const input = sdd.tensor(images(64, 3, 32, 32), { shape: [64, 3, 32, 32], dtype: 'uint8' });
    const a = await T.apply(input, T.cifarTrain(), { seed: 3, epoch: 2, threads: 1 });
    const b = await T.apply(input, T.cifarTrain(), { seed: 3, epoch: 2, threads: 4 });
    const c = await T.apply(input, T.cifarTrain(), { seed: 3, epoch: 3, threads: 4 });
    expect(a.equal(b)).toBe(true);
    expect(a.equal(c)).toBe(false);
    sdd.dispose([input, a, b, c]);
  });
});

describe('transform arguments', () => {
  it('rejects bad arguments with clear errors', async () => {
    expect(() => T.randomCrop(0)).toThrow(/Expected an integer >= 1 for size/);
    expect(() => T.randomCrop(32, { padding: -1 })).toThrow(/padding/);
    expect(() => T.randomCrop(32, { paddingMode: 'wrap' as never })).toThrow(/'zeros', 'reflect', 'edge' or 'symmetric'/);
    expect(() => T.randomHorizontalFlip(2)).toThrow(/probability/);
    expect(() => T.normalize('nope' as never)).toThrow(/cifar100/);
    expect(() => T.normalize([0.5], [0])).toThrow(/non-zero/);
    expect(() => T.toNativeOps([T.normalize('cifar100'), T.randomHorizontalFlip()])).toThrow(/must come last/);
    const input = sdd.tensor(images(2, 3, 4, 4), { shape: [2, 3, 4, 4], dtype: 'uint8' });
    await expect(T.apply(input, [T.normalize([0.5, 0.5], [1, 1])])).rejects.toThrow(/normalize has 2 values per channel but the images have 3 channels/);
    await expect(T.apply(input, [T.randomCrop(8)])).rejects.toThrow(/randomCrop: the crop 8x8 is larger than the \(padded\) image 4x4/);
    await expect(T.apply(input, [], { device: 'cuda' })).rejects.toThrow(/CUDA/);
    input.dispose();
  });
});
