// CIFAR's python version: pickled dicts whose b'data' is a numpy uint8 N×3072 array, read with the
// project's safe unpickler (lib/checkpoint/pickle.ts) and numpy handlers that only build data:
// numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') then BUILD with the array's state
// (version, shape, dtype, is_fortran, raw bytes). The official files are Python 2 cPickle
// (protocol 2: keys and raw data are byte strings); Python 3 pickles of the same dicts read too.
import { unpickle, dictGet, isTuple, SETSTATE, type GlobalTable, type Stateful } from '../checkpoint/pickle.js';
import { NUMPY_SCALAR_GLOBALS, NumpyDtype } from '../checkpoint/numpy.js';
import { DataError, readWhole } from './files.js';
import type { CifarArrays } from './cifar.js';

const CIFAR_PIXELS = 3 * 32 * 32;

const utf8 = new TextEncoder();

/** A numpy array rebuilt from its pickle state (data only: shape, dtype, C-order bytes). */
export class NumpyArray implements Stateful {
  shape: number[] = [];
  dtype: NumpyDtype | undefined;
  fortran = false;
  data: Uint8Array = new Uint8Array(0);
  [SETSTATE](state: unknown): void {
    if (!isTuple(state) || state.length !== 5) throw new Error('numpy array state must be a 5-tuple (version, shape, dtype, is_fortran, data)');
    const [, shape, dtype, fortran, raw] = state;
    if (!isTuple(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) throw new Error('numpy array shape must be a tuple of sizes');
    if (!(dtype instanceof NumpyDtype)) throw new Error('numpy array dtype must be a numpy.dtype');
    this.shape = shape as number[];
    this.dtype = dtype;
    this.fortran = fortran === true || fortran === 1;
    if (raw instanceof Uint8Array) this.data = raw;
    else if (typeof raw === 'string') this.data = latin1Bytes(raw);
    else throw new Error('numpy arrays of Python objects are not supported');
  }
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) return utf8.encode(s); // not latin1: let the size check report it
    out[i] = c;
  }
  return out;
}

const reconstruct = {
  call(args: readonly unknown[]): NumpyArray {
    const cls = args[0] as { qualifiedName?: string } | undefined;
    if (!cls || !/\.ndarray$/.test(cls.qualifiedName ?? '')) throw new Error('_reconstruct builds numpy.ndarray only');
    return new NumpyArray();
  },
};

/** Python 3 pickles bytes at protocol 2 as _codecs.encode(text, 'latin1'): only that is allowed. */
const codecsEncode = {
  call(args: readonly unknown[]): Uint8Array {
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error("_codecs.encode is allowed only as encode(str, 'latin1')");
    return latin1Bytes(text);
  },
};

/** numpy arrays and dtypes (numpy 1.x and 2.x module paths): data-only handlers. */
export const NUMPY_ARRAY_GLOBALS: GlobalTable = {
  ...NUMPY_SCALAR_GLOBALS,
  '_codecs.encode': codecsEncode,
  'numpy.ndarray': {},
  'numpy.core.multiarray._reconstruct': reconstruct,
  'numpy._core.multiarray._reconstruct': reconstruct,
};

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

