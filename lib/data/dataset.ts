// What a data set is: a length and get(i). Users implement Dataset for their own data; the built-in
// ones (IDX, CIFAR, in-memory tensors, image folders) also describe themselves to the loader as a
// native source, so the loader can hand the native code indices instead of pixels.
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { invalidParameterError, checkInteger, checkOptions } from '../core/errors.js';
import './binding.js';

/** How an image's bytes are laid out: channels last (HWC, shape [H, W, C] or [H, W]) or first (CHW). */
export type Layout = 'HWC' | 'CHW';

/** One sample: uint8 pixels and an integer class. */
export interface Sample {
  /** Pixels, row-major in `layout`. */
  image: Uint8Array;
  /** [H, W, C] or [H, W] for 'HWC' (the default); [C, H, W] for 'CHW'. */
  shape: readonly number[];
  layout?: Layout;
  /** The class index (an integer >= 0). */
  target: number;
}

/** A data set: `length` samples, read by index. get() may be async (read a file, decode…). */
export interface Dataset {
  readonly length: number;
  get(index: number): Sample | Promise<Sample>;
  /** Class names, when known (index = target). */
  readonly classes?: readonly string[];
}

/** @internal How a built-in data set hands its samples to native code without copying them in JS. */
export const NATIVE_SOURCE: unique symbol = Symbol.for('sdd-torch.data.nativeSource');

/** @internal */
export type NativeSource =
  | { kind: 'tensor'; images: Tensor; layout: 'NHW' | 'NCHW' | 'NHWC'; targets: Int32Array }
  | { kind: 'files'; paths: readonly string[]; targets: Int32Array };

/** @internal */
export interface NativeBacked {
  [NATIVE_SOURCE](): NativeSource;
}

export function isNativeBacked(d: unknown): d is NativeBacked {
  return typeof d === 'object' && d !== null && typeof (d as Partial<NativeBacked>)[NATIVE_SOURCE] === 'function';
}

/** Checks a data set: an object with a non-negative integer length and a get(i) method. */
export function checkDataset(name: string, d: unknown): Dataset {
  if (typeof d !== 'object' || d === null || typeof (d as Dataset).get !== 'function') {
    throw invalidParameterError(name, 'a data set (an object with length and get(index))', d);
  }
  checkInteger(`${name}.length`, (d as Dataset).length, 0);
  return d as Dataset;
}

/** Copies targets of any integer form into an Int32Array, checking they are class indices. */
export function toTargets(name: string, targets: Tensor | ArrayLike<number | bigint>, n: number): Int32Array {
  let src: ArrayLike<number | bigint>;
  if (targets instanceof Tensor) {
    if (!['int64', 'int32', 'uint8', 'int16', 'int8'].includes(targets.dtype)) {
      throw invalidParameterError(name, 'an integer tensor', `a ${targets.dtype} tensor` as unknown);
    }
    src = targets.toTypedArray() as ArrayLike<number | bigint>;
  } else {
    src = targets;
  }
  if (src.length !== n) throw invalidParameterError(name, `${n} targets (one per image)`, `${src.length} targets` as unknown, true);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(src[i]);
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) throw invalidParameterError(`${name}[${i}]`, 'a class index (an integer >= 0)', src[i], true);
    out[i] = v;
  }
  return out;
}

/**
 * Images held in one uint8 tensor (N×H×W, N×C×H×W or N×H×W×C) with their targets: the in-memory
 * data set, and the base of the IDX and CIFAR data sets. dispose() frees the tensor if it owns it.
 */
export class TensorDataset implements Dataset, NativeBacked {
  /** The images: uint8, contiguous, on the CPU. */
  readonly images: Tensor;
  /** The class of each image. */
  readonly targets: Int32Array;
  readonly layout: 'NHW' | 'NCHW' | 'NHWC';
  readonly classes?: readonly string[];
  readonly #owned: boolean;

  /**
   * @param images uint8 CPU tensor; layout 'NCHW' (the default for 4-d) or 'NHWC'; 3-d is N×H×W.
   *   A non-contiguous tensor is copied (and the copy owned); otherwise the caller keeps ownership.
   * @param targets one class index per image (a tensor, typed array or array).
   */
  constructor(images: Tensor, targets: Tensor | ArrayLike<number | bigint>, opts: { layout?: 'NCHW' | 'NHWC'; classes?: readonly string[]; owned?: boolean } = {}) {
    opts = checkOptions<typeof opts>('TensorDataset options', opts, {
      layout: { kind: 'string', oneOf: ['NCHW', 'NHWC'] },
      classes: { kind: 'array', expected: 'an array of class names', check: (name, v) => {
        (v as unknown[]).forEach((c, i) => { if (typeof c !== 'string') throw invalidParameterError(`${name}[${i}]`, 'a class name (a string)', c); });
        return v;
      } },
      owned: 'boolean',
    });
    if (!(images instanceof Tensor)) throw invalidParameterError('images', 'a uint8 Tensor', images);
    if (images.dtype !== 'uint8') throw invalidParameterError('images', 'a uint8 tensor (pixels 0-255)', `a ${images.dtype} tensor` as unknown);
    if (images.device !== 'cpu') throw invalidParameterError('images', 'a CPU tensor', `a tensor on ${images.device}` as unknown);
    const nd = images.ndim;
    if (nd !== 3 && nd !== 4) throw invalidParameterError('images', 'a tensor of 3 (N×H×W) or 4 (N×C×H×W / N×H×W×C) dimensions', `a tensor of shape [${images.shape.join(', ')}]` as unknown);
    const layout = opts.layout ?? 'NCHW';
    if (layout !== 'NCHW' && layout !== 'NHWC') throw invalidParameterError('options.layout', "'NCHW' or 'NHWC'", layout);
    this.layout = nd === 3 ? 'NHW' : layout;
    if (images.isContiguous()) {
      this.images = images;
      this.#owned = opts.owned === true;
    } else {
      this.images = keep(images.contiguous());
      this.#owned = true;
    }
    this.targets = toTargets('targets', targets, images.shape[0]!);
    if (opts.classes) this.classes = opts.classes;
  }

  get length(): number {
    return this.targets.length;
  }

  /** One image (a copy) and its target. */
  get(index: number): Sample {
    checkInteger('index', index, 0, this.length - 1);
    const row = this.images.select(0, index);
    try {
      const image = row.toTypedArray() as Uint8Array;
      const s = row.shape;
      const layout: Layout = this.layout === 'NHWC' ? 'HWC' : this.layout === 'NHW' ? 'HWC' : 'CHW';
      return { image, shape: s, layout, target: this.targets[index]! };
    } finally {
      row.dispose();
    }
  }

  /** The image shape as [C, H, W]. */
  get imageShape(): [number, number, number] {
    const s = this.images.shape;
    if (this.layout === 'NHW') return [1, s[1]!, s[2]!];
    if (this.layout === 'NHWC') return [s[3]!, s[1]!, s[2]!];
    return [s[1]!, s[2]!, s[3]!];
  }

  /** Frees the images tensor when this data set made it (the readers' data sets do). */
  dispose(): void {
    if (this.#owned) this.images.dispose();
  }

  [NATIVE_SOURCE](): NativeSource {
    if (this.images.isDisposed) throw new Error('this data set was disposed');
    return { kind: 'tensor', images: this.images, layout: this.layout, targets: this.targets };
  }
}

/** Status of the image decoders ("ok", or why one is unavailable). */
export function imageSupport(): { jpeg: string; png: string } {
  return native.dataImageSupport();
}

/** Decodes a JPEG or PNG (a path or its bytes) off the main thread: RGB pixels, HWC. */
export async function decodeImage(src: string | Uint8Array): Promise<{ image: Uint8Array; shape: [number, number, number] }> {
  if (typeof src !== 'string' && !(src instanceof Uint8Array)) throw invalidParameterError('src', 'a path or a Uint8Array', src);
  const [image, h, w] = await native.dataDecodeImage(src);
  return { image, shape: [h, w, 3] };
}
