// Image transforms for the data loader, run per batch in native code on libuv pool threads
// (native/data_pipeline.h). Each transform is a plain, serialisable object; a list of them runs in
// order, and the output is always float32 C×H×W: pixels / 255 (torchvision's ToTensor), then
// normalize() if it ends the list. Random choices come from the sample's own stream, keyed by
// (seed, epoch, data set index) (see rng.ts), so they do not depend on batching or threads.
//
// The parameters follow torchvision 0.14 (RandomCrop, RandomHorizontalFlip, CenterCrop, Resize,
// RandomResizedCrop, Normalize), including its rounding. Resize is PIL's antialiased bilinear
// filter computed in float (no rounding to uint8 in between), so it agrees with PIL to about 1/255.
import { native } from '../core/native.js';
import { Tensor, fromHandle } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { checkInteger, checkOptions, checkPair, invalidParameterError } from '../core/errors.js';
import { toSeed } from './rng.js';
import { checkDevice } from '../core/dtype.js';
import type { NativeOp, PaddingMode } from './binding.js';
import './binding.js';

export type { PaddingMode };
export type Size = number | readonly [number, number];
/** One number (all sides), [left/right, top/bottom] or [left, top, right, bottom], like torchvision. */
export type Padding = number | readonly [number, number] | readonly [number, number, number, number];

export type Transform =
  | { readonly kind: 'randomCrop'; readonly size: [number, number]; readonly padding: [number, number, number, number]; readonly paddingMode: PaddingMode }
  | { readonly kind: 'centerCrop'; readonly size: [number, number] }
  | { readonly kind: 'crop'; readonly top: number; readonly left: number; readonly size: [number, number] }
  | { readonly kind: 'pad'; readonly padding: [number, number, number, number]; readonly paddingMode: PaddingMode }
  | { readonly kind: 'randomHorizontalFlip'; readonly p: number }
  | { readonly kind: 'randomVerticalFlip'; readonly p: number }
  | { readonly kind: 'resize'; readonly size: number | [number, number] }
  | { readonly kind: 'randomResizedCrop'; readonly size: [number, number]; readonly scale: [number, number]; readonly ratio: [number, number] }
  | { readonly kind: 'normalize'; readonly mean: readonly number[]; readonly std: readonly number[] }
  | { readonly kind: 'toFloat'; readonly scale: number };

/** Per-channel statistics of common data sets (RGB order; mean and std of pixels / 255). */
export const PRESETS = {
  /** CIFAR-100 training set, as mdistiller (SDD's code base) normalises it. */
  cifar100: { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] },
  /** CIFAR-10 training set. */
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  /** ImageNet (torchvision's models). */
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
} as const satisfies Record<string, { mean: readonly number[]; std: readonly number[] }>;
export type Preset = keyof typeof PRESETS;

function size2(name: string, s: unknown): [number, number] {
  return checkPair(name, s, 1, 'a positive integer or [height, width]');
}

function padding4(name: string, p: unknown): [number, number, number, number] {
  if (typeof p === 'number') {
    checkInteger(name, p, 0);
    return [p, p, p, p];
  }
  if (Array.isArray(p) && p.length === 2) {
    const [lr, tb] = [checkInteger(`${name}[0]`, p[0], 0), checkInteger(`${name}[1]`, p[1], 0)];
    return [lr, tb, lr, tb];
  }
  if (Array.isArray(p) && p.length === 4) return p.map((v, i) => checkInteger(`${name}[${i}]`, v, 0)) as [number, number, number, number];
  throw invalidParameterError(name, 'a non-negative integer, [left/right, top/bottom] or [left, top, right, bottom]', p);
}

function paddingMode(name: string, m: unknown): PaddingMode {
  if (m === undefined) return 'zeros';
  if (m === 'constant') return 'zeros';
  if (m === 'zeros' || m === 'reflect' || m === 'edge' || m === 'symmetric') return m;
  throw invalidParameterError(name, "'zeros', 'reflect', 'edge' or 'symmetric'", m);
}

function probability(name: string, p: unknown): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidParameterError(name, 'a probability in [0, 1]', p, typeof p === 'number');
  return p;
}

function range2(name: string, r: unknown, def: [number, number]): [number, number] {
  if (r === undefined) return def;
  if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'number' && x > 0 && Number.isFinite(x)) || r[0] > r[1]) {
    throw invalidParameterError(name, '[min, max] with 0 < min <= max', r);
  }
  return [r[0], r[1]];
}

/**
 * torchvision's RandomCrop: pads by `padding` (zeros by default; 'reflect', 'edge', 'symmetric'),
 * then crops `size` at a uniformly random offset. CIFAR: randomCrop(32, { padding: 4 }).
 */
export function randomCrop(size: Size, opts: { padding?: Padding; paddingMode?: PaddingMode | 'constant' } = {}): Transform {
  const o = checkOptions('randomCrop() options', opts, { padding: 'any', paddingMode: 'any' }, { hints: { padding_mode: 'paddingMode', pad_if_needed: 'padding (pad_if_needed is not supported)', fill: "paddingMode (the fill is 0 with 'zeros')" } });
  return { kind: 'randomCrop', size: size2('size', size), padding: padding4('options.padding', o.padding ?? 0), paddingMode: paddingMode('options.paddingMode', o.paddingMode) };
}

/** Flips left-right with probability p. */
export function randomHorizontalFlip(p = 0.5): Transform {
  return { kind: 'randomHorizontalFlip', p: probability('p', p) };
}

/** Flips upside down with probability p. */
export function randomVerticalFlip(p = 0.5): Transform {
  return { kind: 'randomVerticalFlip', p: probability('p', p) };
}

/** The centre `size` window (zero-padded when the image is smaller), as torchvision rounds it. */
export function centerCrop(size: Size): Transform {
  return { kind: 'centerCrop', size: size2('size', size) };
}

/** A fixed window; parts outside the image are zeros. */
export function crop(top: number, left: number, size: Size): Transform {
  return { kind: 'crop', top: checkInteger('top', top), left: checkInteger('left', left), size: size2('size', size) };
}

/** Pads the borders. */
export function pad(padding: Padding, mode?: PaddingMode | 'constant'): Transform {
  return { kind: 'pad', padding: padding4('padding', padding), paddingMode: paddingMode('mode', mode) };
}

/** Resizes to [height, width], or (a number) so that the shorter side is `size`, keeping the aspect ratio. */
export function resize(size: Size): Transform {
  return { kind: 'resize', size: typeof size === 'number' ? checkInteger('size', size, 1) : size2('size', size) };
}

/** torchvision's RandomResizedCrop: a random area fraction `scale` and aspect `ratio`, resized to `size`. */
export function randomResizedCrop(size: Size, opts: { scale?: readonly [number, number]; ratio?: readonly [number, number] } = {}): Transform {
  const o = checkOptions('randomResizedCrop() options', opts, { scale: 'any', ratio: 'any' });
  return {
    kind: 'randomResizedCrop',
    size: size2('size', size),
    scale: range2('options.scale', o.scale, [0.08, 1]),
    ratio: range2('options.ratio', o.ratio, [3 / 4, 4 / 3]),
  };
}

/** (pixel / 255 - mean[c]) / std[c]; a preset name ('cifar100', 'imagenet', …) or the two lists. Must be last. */
export function normalize(meanOrPreset: readonly number[] | Preset, std?: readonly number[]): Transform {
  if (typeof meanOrPreset === 'string') {
    const p = (PRESETS as Record<string, { mean: readonly number[]; std: readonly number[] }>)[meanOrPreset];
    if (!p) throw invalidParameterError('preset', `one of ${Object.keys(PRESETS).join(', ')}`, meanOrPreset);
    return { kind: 'normalize', mean: [...p.mean], std: [...p.std] };
  }
  const ok = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!ok(meanOrPreset)) throw invalidParameterError('mean', 'a non-empty array of numbers or a preset name', meanOrPreset);
  if (!ok(std) || std.some((s) => s === 0)) throw invalidParameterError('std', 'a non-empty array of non-zero numbers', std);
  return { kind: 'normalize', mean: [...meanOrPreset], std: [...std] };
}

/** uint8 -> float32 times `scale` (default 1/255, ToTensor); implied when the list has no normalize. */
export function toFloat(opts: { scale?: number } = {}): Transform {
  const { scale } = checkOptions<{ scale: number }>('toFloat() options', opts, { scale: { kind: 'number', default: 1 / 255 } });
  return { kind: 'toFloat', scale };
}

/**
 * Whether a transform draws random numbers (its output differs between epochs): random crops,
 * random resized crops, and flips with 0 < p < 1. A pipeline without any is deterministic, which
 * is what stored teacher outputs (sdd.distillers.OfflineTeacher) need.
 */
export function isRandom(t: Transform): boolean {
  switch (t.kind) {
    case 'randomCrop': case 'randomResizedCrop': return true;
    case 'randomHorizontalFlip': case 'randomVerticalFlip': return t.p > 0 && t.p < 1;
    default: return false;
  }
}

/** A transform in words, e.g. `randomCrop(32, padding [2,2,2,2])`, for messages and stored metadata. */
export function describe(t: Transform): string {
  const { kind, ...rest } = t as Transform & Record<string, unknown>;
  const args = Object.entries(rest).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ');
  return `${kind}(${args})`;
}

/** Flattens transforms and lists of them into one list (torchvision's Compose). */
export function compose(...ts: (Transform | readonly Transform[])[]): Transform[] {
  return ts.flatMap((t) => (Array.isArray(t) ? [...(t as readonly Transform[])] : [t as Transform]));
}

/** The CIFAR training recipe: randomCrop(32, padding 4) + horizontal flip + normalize(preset). */
export function cifarTrain(preset: 'cifar100' | 'cifar10' = 'cifar100'): Transform[] {
  return [randomCrop(32, { padding: 4 }), randomHorizontalFlip(), normalize(preset)];
}

/** The ImageNet training recipe: randomResizedCrop(224) + horizontal flip + normalize('imagenet'). */
export function imagenetTrain(size = 224): Transform[] {
  return [randomResizedCrop(size), randomHorizontalFlip(), normalize('imagenet')];
}

/** The ImageNet evaluation recipe: resize(256) + centerCrop(224) + normalize('imagenet'). */
export function imagenetEval(size = 224, resizeTo = 256): Transform[] {
  return [resize(resizeTo), centerCrop(size), normalize('imagenet')];
}

/** @internal The native form of a transform list (checks it: toFloat/normalize only at the end). */
export function toNativeOps(ts: readonly Transform[] | undefined): NativeOp[] {
  if (ts === undefined) return [];
  if (!Array.isArray(ts)) throw invalidParameterError('transforms', 'an array of transforms', ts);
  const ops: NativeOp[] = [];
  let scale: number | undefined;
  let norm: { mean: number[]; std: number[] } | undefined;
  ts.forEach((t: Transform, i: number) => {
    if (typeof t !== 'object' || t === null || typeof (t as { kind?: unknown }).kind !== 'string') {
      throw invalidParameterError(`transforms[${i}]`, 'a transform (from sdd.transforms)', t);
    }
    if (t.kind !== 'toFloat' && t.kind !== 'normalize' && (scale !== undefined || norm !== undefined)) {
      throw new TypeError(`transforms[${i}] (${t.kind}) comes after toFloat/normalize: those must come last`);
    }
    switch (t.kind) {
      case 'randomCrop': {
        const [l, tp, r, b] = t.padding;
        ops.push({ kind: 'randomCrop', h: t.size[0], w: t.size[1], padLeft: l, padTop: tp, padRight: r, padBottom: b, mode: t.paddingMode });
        break;
      }
      case 'centerCrop': ops.push({ kind: 'centerCrop', h: t.size[0], w: t.size[1] }); break;
      case 'crop': ops.push({ kind: 'crop', top: t.top, left: t.left, h: t.size[0], w: t.size[1] }); break;
      case 'pad': {
        const [l, tp, r, b] = t.padding;
        ops.push({ kind: 'pad', padLeft: l, padTop: tp, padRight: r, padBottom: b, mode: t.paddingMode });
        break;
      }
      case 'randomHorizontalFlip': ops.push({ kind: 'hflip', p: t.p }); break;
      case 'randomVerticalFlip': ops.push({ kind: 'vflip', p: t.p }); break;
      case 'resize':
        ops.push(typeof t.size === 'number' ? { kind: 'resize', shorter: t.size } : { kind: 'resize', h: t.size[0], w: t.size[1] });
        break;
      case 'randomResizedCrop':
        ops.push({ kind: 'randomResizedCrop', h: t.size[0], w: t.size[1], scaleMin: t.scale[0], scaleMax: t.scale[1], ratioMin: t.ratio[0], ratioMax: t.ratio[1] });
        break;
      case 'toFloat':
        if (scale !== undefined || norm !== undefined) throw new TypeError(`transforms[${i}]: toFloat must come once, before normalize`);
        scale = t.scale;
        break;
      case 'normalize':
        if (norm !== undefined) throw new TypeError(`transforms[${i}]: normalize may come only once`);
        norm = { mean: [...t.mean], std: [...t.std] };
        break;
      default:
        throw invalidParameterError(`transforms[${i}].kind`, 'a known transform kind', (t as { kind: string }).kind);
    }
  });
  if (scale !== undefined || norm !== undefined) {
    ops.push({ kind: 'normalize', scale: scale ?? 1 / 255, mean: norm?.mean ?? [], std: norm?.std ?? [] });
  }
  return ops;
}

export interface ApplyOptions {
  /** 'NCHW' (default for 4-d) or 'NHWC'; a 3-d tensor is N×H×W. */
  layout?: 'NCHW' | 'NHWC';
  seed?: number | bigint;
  epoch?: number;
  /** 'cpu' (default) or 'cuda[:N]': pinned memory and a non-blocking copy. */
  device?: string;
  threads?: number;
}

/**
 * Runs transforms on a uint8 image tensor (N×H×W, N×C×H×W or N×H×W×C) off the main thread and
 * resolves to a float32 N×C×H×W tensor. Image i draws from the stream of (seed, epoch, i).
 */
export async function apply(images: Tensor, transforms: readonly Transform[], opts: ApplyOptions = {}): Promise<Tensor> {
  if (!(images instanceof Tensor)) throw invalidParameterError('images', 'a uint8 Tensor', images);
  const o = checkOptions<ApplyOptions>('apply() options', opts, {
    layout: { kind: 'string', oneOf: ['NCHW', 'NHWC'] }, seed: 'any', epoch: { kind: 'integer', min: 0 }, device: 'any', threads: { kind: 'integer', min: 1 },
  });
  if (images.dtype !== 'uint8') throw invalidParameterError('images', 'a uint8 tensor', `a ${images.dtype} tensor` as unknown);
  const nd = images.ndim;
  if (nd !== 3 && nd !== 4) throw invalidParameterError('images', 'a tensor of 3 or 4 dimensions', `shape [${images.shape.join(', ')}]` as unknown);
  const layout = nd === 3 ? 'NHW' : (o.layout ?? 'NCHW');
  const src = images.isContiguous() ? images : images.contiguous();
  try {
    const n = images.shape[0]!;
    const ids = new Float64Array(n);
    for (let i = 0; i < n; i++) ids[i] = i;
    const [h] = await native.dataBatch({
      source: { kind: 'tensor', images: src.handle, layout },
      ops: toNativeOps(transforms),
      ids,
      seed: toSeed('options.seed', o.seed ?? 0),
      epoch: checkInteger('options.epoch', o.epoch ?? 0, 0),
      targets: null,
      device: checkDevice('options.device', o.device),
      threads: checkInteger('options.threads', o.threads ?? 1, 1),
    });
    return keep(fromHandle(h));
  } finally {
    if (src !== images) src.dispose();
  }
}
