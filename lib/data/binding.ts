// The data part of the native addon (native/data.cc), typed by augmenting NativeBinding.
import type { Handle } from '../core/native.js';

/** How transforms pad image borders (torchvision's padding_mode; 'zeros' is its 'constant' with fill 0). */
export type PaddingMode = 'zeros' | 'reflect' | 'edge' | 'symmetric';

/** One transform step as native/data.cc reads it (transforms.ts builds these). */
export interface NativeOp {
  kind: 'crop' | 'randomCrop' | 'centerCrop' | 'pad' | 'hflip' | 'vflip' | 'resize' | 'randomResizedCrop' | 'normalize';
  h?: number; w?: number; shorter?: number; top?: number; left?: number;
  padLeft?: number; padTop?: number; padRight?: number; padBottom?: number;
  mode?: PaddingMode;
  p?: number; scaleMin?: number; scaleMax?: number; ratioMin?: number; ratioMax?: number;
  scale?: number; mean?: number[]; std?: number[];
}

export type NativeBatchSource =
  | { kind: 'tensor'; images: Handle; layout: 'NHW' | 'NCHW' | 'NHWC' }
  | { kind: 'buffer'; data: Uint8Array; offsets: Float64Array; dims: Int32Array; layout: 'CHW' | 'HWC' }
  | { kind: 'files'; paths: string[] };

export interface NativeBatchRequest {
  source: NativeBatchSource;
  ops: NativeOp[];
  /** One per sample: its data set index (the rows of a tensor source; the key of its random stream). */
  ids: Float64Array;
  seed: bigint;
  epoch: number;
  targets: Int32Array | null;
  device: string;
  threads: number;
}

declare module '../core/native.js' {
  interface NativeBinding {
    dataBatch(req: NativeBatchRequest): Promise<[Handle, Handle | null]>;
    dataProbeImages(paths: string[], decode: boolean): Promise<Array<[number, number, number, string] | string>>;
    dataDecodeImage(src: string | Uint8Array): Promise<[Uint8Array, number, number]>;
    dataImageSupport(): { jpeg: string; png: string };
    dataSampleKey(seed: bigint, epoch: number, id: number): bigint;
  }
}
