// IDX files (MNIST, Fashion-MNIST, KMNIST…), gzipped or not, and the MNIST-layout data sets.
//
// The format (LeCun's MNIST page): a 4-byte magic 00 00 TT DD (TT the element type: 08 uint8,
// 09 int8, 0B int16, 0C int32, 0D float32, 0E float64; DD the number of dimensions), DD big-endian
// uint32 sizes, then the elements, big-endian, row-major. Nothing may follow them.
import path from 'node:path';
import { tensor } from '../core/creation.js';
import { keep } from '../core/scope.js';
import { checkOptions, DataError, invalidParameterError, TORCHVISION_SPLIT_HINTS } from '../core/errors.js';
import { gunzipFile, isFile, isGzip, readWhole } from './files.js';
import { TensorDataset } from './dataset.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** The elements in host byte order (a view of the file's bytes for uint8). */
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

const hex = (n: number, width = 8): string => `0x${n.toString(16).padStart(width, '0')}`;

/**
 * Parses IDX bytes (already gunzipped). Throws a DataError naming `file` for a bad magic, an
 * unknown type, a short header, truncated data or trailing bytes.
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `too short for an IDX file (${bytes.length} bytes; the header alone is at least 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const typeCode = bytes[2]!;
  const ndim = bytes[3]!;
  const type = TYPES[typeCode];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !type) {
    throw new DataError(file, `bad IDX magic ${hex(magic)}: expected 0x0000TTDD with TT one of 08, 09, 0b, 0c, 0d, 0e (e.g. 0x00000803 for images, 0x00000801 for labels)`);
  }
  if (ndim === 0) throw new DataError(file, `bad IDX magic ${hex(magic)}: zero dimensions`);
  const header = 4 + 4 * ndim;
  if (bytes.length < header) {
    throw new DataError(file, `truncated IDX header: ${ndim} dimensions need ${header} header bytes but the file has ${bytes.length}`);
  }
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    shape.push(n);
    count *= n;
  }
  const dataBytes = count * type.size;
  const have = bytes.length - header;
  const dims = `[${shape.join(', ')}]`;
  if (have < dataBytes) {
    throw new DataError(file, `truncated IDX data: the header gives ${type.dtype} ${dims} (${dataBytes} bytes) but only ${have} bytes follow it`);
  }
  if (have > dataBytes) {
    throw new DataError(file, `wrong IDX size: the header gives ${type.dtype} ${dims} (${dataBytes} bytes) but ${have - dataBytes} more bytes follow the data`);
  }
  const body = bytes.subarray(header);
  let data: IdxData;
  switch (type.dtype) {
    case 'uint8': data = body; break;
    case 'int8': data = new Int8Array(body.buffer, body.byteOffset, count); break;
    default: {
      const out = type.dtype === 'int16' ? new Int16Array(count) : type.dtype === 'int32' ? new Int32Array(count)
        : type.dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
      const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < count; i++) {
        switch (type.dtype) {
          case 'int16': out[i] = dv.getInt16(2 * i, false); break;
          case 'int32': out[i] = dv.getInt32(4 * i, false); break;
          case 'float32': out[i] = dv.getFloat32(4 * i, false); break;
          default: out[i] = dv.getFloat64(8 * i, false); break;
        }
      }
      data = out;
    }
  }
  return { dtype: type.dtype, shape, data };
}

/** Parses IDX bytes as found in a file, gunzipping them first when they start with the gzip signature. */
export async function idxFromBytes(bytes: Uint8Array, file: string): Promise<IdxArray> {
  return parseIdx(isGzip(bytes) ? await gunzipFile(bytes, file) : bytes, file);
}

/** Reads an IDX file, gunzipped or not. */
export async function readIdx(file: string): Promise<IdxArray> {
  return idxFromBytes(await readWhole(file, 'the IDX file'), file);
}

export type MnistVariant = 'mnist' | 'fashion-mnist' | 'kmnist';

export interface MnistOptions {
  /** 'train' (60000 images) or 'test' (10000); default 'train'. */
  split?: 'train' | 'test';
}

const CLASSES: Record<MnistVariant, readonly string[]> = {
  mnist: ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine'],
  'fashion-mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  kmnist: ['o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo'],
};

const TV_FOLDER: Record<MnistVariant, string> = { mnist: 'MNIST', 'fashion-mnist': 'FashionMNIST', kmnist: 'KMNIST' };

/** Finds `stem` (e.g. train-images-idx3-ubyte) as distributed or as torchvision lays it out. */
async function findIdx(root: string, stem: string, variant: MnistVariant): Promise<string> {
  const dirs = [root, path.join(root, 'raw'), path.join(root, TV_FOLDER[variant], 'raw')];
  // Some mirrors (and unzip tools) turn the first '-' before idx into a '.'.
  const names = [stem, stem.replace(/-(idx\d)/, '.$1')];
  const tried: string[] = [];
  for (const dir of dirs) {
    for (const name of names) {
      for (const ext of ['', '.gz']) {
        const p = path.join(dir, name + ext);
        tried.push(p);
        if (await isFile(p)) return p;
      }
    }
  }
  throw new DataError(path.join(root, `${stem}[.gz]`), `not found (looked in ${dirs.join(', ')})`);
}

/** An MNIST-layout data set: N 28×28 grey images (a uint8 N×H×W tensor) and their labels. */
export class MnistDataset extends TensorDataset {
  readonly imagesFile: string;
  readonly labelsFile: string;
  constructor(parts: { images: ReturnType<typeof tensor>; targets: Int32Array; classes: readonly string[]; imagesFile: string; labelsFile: string }) {
    super(parts.images, parts.targets, { classes: parts.classes, owned: true });
    this.imagesFile = parts.imagesFile;
    this.labelsFile = parts.labelsFile;
  }
}

/**
 * Opens MNIST-layout IDX files in `root` (or root/raw, or torchvision's root/<Name>/raw), gzipped or
 * not, and checks them: magic, dimensions, sizes, matching counts and labels in 0-9.
 */
export async function openMnist(root: string, variant: MnistVariant, opts: MnistOptions = {}): Promise<MnistDataset> {
  if (typeof root !== 'string' || root === '') throw invalidParameterError('root', 'a directory path', root);
  const { split } = checkOptions<Required<MnistOptions>>(`data.${{ mnist: 'mnist', 'fashion-mnist': 'fashionMnist', kmnist: 'kmnist' }[variant]} options`, opts,
    { split: { kind: 'string', oneOf: ['train', 'test'], default: 'train' } }, { hints: TORCHVISION_SPLIT_HINTS });
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = await findIdx(root, `${prefix}-images-idx3-ubyte`, variant);
  const labelsFile = await findIdx(root, `${prefix}-labels-idx1-ubyte`, variant);
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new DataError(imagesFile, `expected uint8 images of 3 dimensions (N×H×W) but the header gives ${images.dtype} [${images.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new DataError(labelsFile, `expected uint8 labels of 1 dimension but the header gives ${labels.dtype} [${labels.shape.join(', ')}]`);
  }
  const [n, h, w] = images.shape as [number, number, number];
  if (labels.shape[0] !== n) throw new DataError(labelsFile, `has ${labels.shape[0]} labels but ${imagesFile} has ${n} images`);
  if (n === 0 || h === 0 || w === 0) throw new DataError(imagesFile, `holds no image data ([${images.shape.join(', ')}])`);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i]!;
    if (v > 9) throw new DataError(labelsFile, `label ${i} is ${v}; labels are 0-9`);
    targets[i] = v;
  }
  const t = keep(tensor(images.data as Uint8Array, { shape: [n, h, w], dtype: 'uint8' }));
  return new MnistDataset({ images: t, targets, classes: CLASSES[variant], imagesFile, labelsFile });
}

/** MNIST handwritten digits. */
export function mnist(root: string, opts?: MnistOptions): Promise<MnistDataset> {
  return openMnist(root, 'mnist', opts);
}

/** Fashion-MNIST (Debian: dataset-fashion-mnist, in /usr/share/datasets/fashion-mnist). */
export function fashionMnist(root = '/usr/share/datasets/fashion-mnist', opts?: MnistOptions): Promise<MnistDataset> {
  return openMnist(root, 'fashion-mnist', opts);
}

/** Kuzushiji-MNIST (same layout). */
export function kmnist(root: string, opts?: MnistOptions): Promise<MnistDataset> {
  return openMnist(root, 'kmnist', opts);
}
