// CIFAR-10 and CIFAR-100 as distributed (https://www.cs.toronto.edu/~kriz/cifar.html):
//
// - binary version: records of <label> <3072 pixel bytes> (CIFAR-10: cifar-10-batches-bin/
//   data_batch_1..5.bin, test_batch.bin) or <coarse label> <fine label> <3072 bytes> (CIFAR-100:
//   cifar-100-binary/train.bin, test.bin); pixels are the 1024 red, then green, then blue values of
//   a 32×32 image, row-major. A file whose length is not a multiple of the record size is corrupt.
// - python version: pickled dicts {b'data': uint8 N×3072 numpy array, b'labels' | b'fine_labels' +
//   b'coarse_labels': lists} (cifar-10-batches-py/data_batch_*, cifar-100-python/train|test), read
//   with the project's safe unpickler (checkpoint/pickle.ts) and data-only numpy handlers
//   (checkpoint/numpy.ts). The official files are Python 2 cPickle (protocol 2: keys and raw data
//   are byte strings); Python 3 pickles of the same dicts read too.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { tensor } from '../core/creation.js';
import { keep } from '../core/scope.js';
import { checkOptions, DataError, invalidParameterError, TORCHVISION_SPLIT_HINTS, type OptionSchema } from '../core/errors.js';
import { isDirectory, isFile, readWhole } from './files.js';
import { TensorDataset } from './dataset.js';
import { unpickle, dictGet } from '../checkpoint/pickle.js';
import { NUMPY_ARRAY_GLOBALS, NumpyArray } from '../checkpoint/numpy.js';

export const CIFAR_PIXELS = 3 * 32 * 32;

export const CIFAR10_CLASSES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface CifarOptions {
  /** 'train' (50000 images) or 'test' (10000); default 'train'. */
  split?: 'train' | 'test';
  /** Which files to read: 'binary', 'python', or 'auto' (default: binary if present, else python). */
  format?: 'auto' | 'binary' | 'python';
}

export interface Cifar100Options extends CifarOptions {
  /** CIFAR-100's 100 'fine' classes (default) or its 20 'coarse' superclasses. */
  labels?: 'fine' | 'coarse';
}

/** The decoded content of CIFAR files: images N×3×32×32 (CHW) and labels. */
export interface CifarArrays {
  images: Uint8Array;
  labels: Int32Array;
  /** CIFAR-100 only. */
  coarse?: Int32Array;
}

/**
 * Parses one binary-version file: CIFAR-10 records (1 label byte, labels 0-9) or CIFAR-100 records
 * (coarse 0-19, fine 0-99). Throws a DataError naming `file` when the length is not a positive
 * multiple of the record size or a label is out of range.
 */
export function parseCifarBinary(bytes: Uint8Array, file: string, variant: 10 | 100): CifarArrays {
  const labelBytes = variant === 10 ? 1 : 2;
  const record = labelBytes + CIFAR_PIXELS;
  if (bytes.length === 0) throw new DataError(file, 'is empty');
  if (bytes.length % record !== 0) {
    const n = Math.floor(bytes.length / record);
    throw new DataError(file, `is ${bytes.length} bytes, not a multiple of the CIFAR-${variant} record size ${record} ` +
      `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${CIFAR_PIXELS} pixels): ${n} whole records and ${bytes.length - n * record} bytes over — truncated or not a CIFAR-${variant} binary file`);
  }
  const n = bytes.length / record;
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  const coarse = variant === 100 ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const at = i * record;
    if (variant === 10) {
      const l = bytes[at]!;
      if (l > 9) throw new DataError(file, `record ${i} has label ${l}; CIFAR-10 labels are 0-9 (is this a CIFAR-100 file?)`);
      labels[i] = l;
    } else {
      const c = bytes[at]!;
      const f = bytes[at + 1]!;
      if (c > 19) throw new DataError(file, `record ${i} has coarse label ${c}; CIFAR-100 coarse labels are 0-19`);
      if (f > 99) throw new DataError(file, `record ${i} has fine label ${f}; CIFAR-100 fine labels are 0-99`);
      coarse![i] = c;
      labels[i] = f;
    }
    images.set(bytes.subarray(at + labelBytes, at + record), i * CIFAR_PIXELS);
  }
  return coarse ? { images, labels, coarse } : { images, labels };
}

// ------------------------------------------------------------------ python version

function intList(v: unknown, file: string, key: string, n: number, max: number): Int32Array {
  if (!Array.isArray(v)) throw new DataError(file, `b'${key}' is not a list`);
  if (v.length !== n) throw new DataError(file, `has ${v.length} ${key} but ${n} images`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) {
      throw new DataError(file, `${key}[${i}] is ${typeof x === 'number' ? x : typeof x}; expected an integer in 0-${max}`);
    }
    out[i] = x;
  }
  return out;
}

/** Checks and extracts the arrays of one unpickled CIFAR dict. */
export function cifarFromPickle(value: unknown, file: string, variant: 10 | 100): CifarArrays {
  if (!(value instanceof Map)) throw new DataError(file, 'is not a pickled dict (not a CIFAR python-version file)');
  const data = dictGet(value, 'data');
  if (!(data instanceof NumpyArray)) throw new DataError(file, "has no b'data' numpy array");
  const dt = data.dtype;
  if (!dt) throw new DataError(file, "b'data' is a numpy array without its state (shape, dtype, bytes)");
  if (!(dt.kind === 'u' && dt.itemsize === 1)) throw new DataError(file, `b'data' has dtype ${dt.descr}; expected uint8`);
  if (data.shape.length !== 2 || data.shape[1] !== CIFAR_PIXELS) {
    throw new DataError(file, `b'data' has shape (${data.shape.join(', ')}); expected (N, ${CIFAR_PIXELS})`);
  }
  if (data.fortran) throw new DataError(file, "b'data' is in Fortran order; expected C order");
  const n = data.shape[0]!;
  if (data.data.length !== n * CIFAR_PIXELS) {
    throw new DataError(file, `b'data' holds ${data.data.length} bytes but its shape (${n}, ${CIFAR_PIXELS}) needs ${n * CIFAR_PIXELS}`);
  }
  if (variant === 10) {
    return { images: data.data, labels: intList(dictGet(value, 'labels'), file, 'labels', n, 9) };
  }
  return {
    images: data.data,
    labels: intList(dictGet(value, 'fine_labels'), file, 'fine_labels', n, 99),
    coarse: intList(dictGet(value, 'coarse_labels'), file, 'coarse_labels', n, 19),
  };
}

/** Reads one python-version CIFAR file (data_batch_*, test_batch, train or test). */
export async function readCifarPython(file: string, variant: 10 | 100): Promise<CifarArrays> {
  return parseCifarPython(await readWhole(file, `a CIFAR-${variant} python-version file`), file, variant);
}

/** Parses the bytes of a python-version CIFAR file; errors are DataErrors naming `file`. */
export function parseCifarPython(bytes: Uint8Array, file: string, variant: 10 | 100): CifarArrays {
  let value: unknown;
  try {
    value = unpickle(bytes, { name: file, globals: NUMPY_ARRAY_GLOBALS, purpose: 'CIFAR files need', python2Strings: 'bytes' });
  } catch (e) {
    const msg = (e as Error).message;
    const problem = msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg;
    throw new DataError(file, `not a readable CIFAR pickle: ${problem}`);
  }
  return cifarFromPickle(value, file, variant);
}

// ------------------------------------------------------------------ data sets

/** A CIFAR data set: images as a uint8 N×3×32×32 tensor, targets, class names, the files read. */
export class CifarDataset extends TensorDataset {
  readonly files: readonly string[];
  constructor(images: ReturnType<typeof tensor>, targets: Int32Array, classes: readonly string[], files: readonly string[]) {
    super(images, targets, { layout: 'NCHW', classes, owned: true });
    this.files = files;
  }
}

function concat(parts: CifarArrays[]): CifarArrays {
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  const coarse = parts[0]?.coarse ? new Int32Array(n) : undefined;
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * CIFAR_PIXELS);
    labels.set(p.labels, at);
    if (coarse && p.coarse) coarse.set(p.coarse, at);
    at += p.labels.length;
  }
  return coarse ? { images, labels, coarse } : { images, labels };
}

/** `root` itself if it holds `marker`, else root/<sub> if that does; undefined otherwise. */
async function locate(root: string, sub: string, marker: string): Promise<string | undefined> {
  if (await isFile(path.join(root, marker))) return root;
  if (path.basename(root) === sub && await isDirectory(root)) return root;
  const inner = path.join(root, sub);
  if (await isDirectory(inner)) return inner;
  return undefined;
}

async function readNames(file: string): Promise<string[] | undefined> {
  try {
    const lines = (await readFile(file, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
    return lines.length > 0 ? lines : undefined;
  } catch {
    return undefined;
  }
}

const CIFAR_SCHEMA: OptionSchema = {
  split: { kind: 'string', oneOf: ['train', 'test'], default: 'train' },
  format: { kind: 'string', oneOf: ['auto', 'binary', 'python'], default: 'auto' },
};
const CIFAR100_SCHEMA: OptionSchema = { ...CIFAR_SCHEMA, labels: { kind: 'string', oneOf: ['fine', 'coarse'], default: 'fine' } };

function checkSplit(where: string, opts: unknown, schema: OptionSchema): Required<Cifar100Options> {
  return checkOptions<Required<Cifar100Options>>(`data.${where} options`, opts, schema, { hints: TORCHVISION_SPLIT_HINTS });
}

async function readBinaryFiles(files: string[], variant: 10 | 100): Promise<CifarArrays> {
  const parts = await Promise.all(files.map(async (f) => parseCifarBinary(await readWhole(f, `a CIFAR-${variant} binary file`), f, variant)));
  return concat(parts);
}

function build(arrays: CifarArrays, targets: Int32Array, classes: readonly string[], files: string[]): CifarDataset {
  const n = targets.length;
  const images = keep(tensor(arrays.images, { shape: [n, 3, 32, 32], dtype: 'uint8' }));
  return new CifarDataset(images, targets, classes, files);
}

/**
 * CIFAR-10 from `root`: the directory holding cifar-10-batches-bin/ or cifar-10-batches-py/ (as
 * extracted from the official tarballs; torchvision's root), or one of those directories itself.
 * Every file is read and checked before this resolves.
 */
export async function cifar10(root: string, opts: CifarOptions = {}): Promise<CifarDataset> {
  if (typeof root !== 'string' || root === '') throw invalidParameterError('root', 'a directory path', root);
  const { split, format } = checkSplit('cifar10', opts, CIFAR_SCHEMA);
  const bin = format === 'python' ? undefined : await locate(root, 'cifar-10-batches-bin', 'data_batch_1.bin');
  if (bin) {
    const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => path.join(bin, `data_batch_${i}.bin`)) : [path.join(bin, 'test_batch.bin')];
    const arrays = await readBinaryFiles(files, 10);
    const classes = (await readNames(path.join(bin, 'batches.meta.txt'))) ?? CIFAR10_CLASSES;
    return build(arrays, arrays.labels, classes, files);
  }
  const py = format === 'binary' ? undefined : await locate(root, 'cifar-10-batches-py', 'data_batch_1');
  if (py) {
    const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => path.join(py, `data_batch_${i}`)) : [path.join(py, 'test_batch')];
    const arrays = concat(await Promise.all(files.map((f) => readCifarPython(f, 10))));
    return build(arrays, arrays.labels, CIFAR10_CLASSES, files);
  }
  const looked = format === 'binary' ? 'cifar-10-batches-bin' : format === 'python' ? 'cifar-10-batches-py' : 'cifar-10-batches-bin or cifar-10-batches-py';
  throw new DataError(root, `no CIFAR-10 files found (looked for ${looked} in it, or for data_batch_1${format === 'python' ? '' : '.bin'} directly in it)`);
}

/**
 * CIFAR-100 from `root`: the directory holding cifar-100-binary/ or cifar-100-python/, or one of
 * those itself. Targets are the fine labels (0-99) unless `labels: 'coarse'` (0-19).
 */
export async function cifar100(root: string, opts: Cifar100Options = {}): Promise<CifarDataset> {
  if (typeof root !== 'string' || root === '') throw invalidParameterError('root', 'a directory path', root);
  const { split, format, labels: which } = checkSplit('cifar100', opts, CIFAR100_SCHEMA);
  const bin = format === 'python' ? undefined : await locate(root, 'cifar-100-binary', 'train.bin');
  let arrays: CifarArrays;
  let files: string[];
  let classes: readonly string[] | undefined;
  if (bin) {
    files = [path.join(bin, split === 'train' ? 'train.bin' : 'test.bin')];
    arrays = await readBinaryFiles(files, 100);
    classes = await readNames(path.join(bin, which === 'fine' ? 'fine_label_names.txt' : 'coarse_label_names.txt'));
  } else {
    const py = format === 'binary' ? undefined : await locate(root, 'cifar-100-python', 'train');
    if (!py) {
      const looked = format === 'binary' ? 'cifar-100-binary' : format === 'python' ? 'cifar-100-python' : 'cifar-100-binary or cifar-100-python';
      throw new DataError(root, `no CIFAR-100 files found (looked for ${looked} in it, or for train${format === 'python' ? '' : '.bin'} directly in it)`);
    }
    files = [path.join(py, split)];
    arrays = await readCifarPython(files[0]!, 100);
  }
  const targets = which === 'fine' ? arrays.labels : arrays.coarse!;
  const names = classes ?? Array.from({ length: which === 'fine' ? 100 : 20 }, (_, i) => String(i));
  return build(arrays, targets, names, files);
}
