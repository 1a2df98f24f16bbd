// numpy objects inside pickles, as data-only handlers for the unpickler's allow-list: dtypes and
// scalars (checkpoints often hold `best_acc` as numpy.float64: NUMPY_SCALAR_GLOBALS), and arrays
// (CIFAR's python-version files: NUMPY_ARRAY_GLOBALS), rebuilt as
// numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') then BUILD with the array's state
// (version, shape, dtype, is_fortran, raw bytes).
import { SETSTATE, isTuple, type GlobalTable, type Stateful } from './pickle.js';

const latin1 = new TextDecoder('latin1');
const utf8 = new TextEncoder();

/** A numpy dtype as pickled: `numpy.dtype(descr, align, copy)` then BUILD with its state tuple. */
export class NumpyDtype implements Stateful {
  /** '<' little, '>' big, '|' not applicable, '=' native. */
  byteOrder = '=';
  /** Kind letter: 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'c' complex, 'O' object, 'S'/'U' strings, 'V' void. */
  readonly kind: string;
  readonly itemsize: number;
  constructor(readonly descr: string) {
    const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
    if (!m) throw new Error(`unsupported dtype descriptor ${JSON.stringify(descr.slice(0, 40))}`);
    if (m[1]) this.byteOrder = m[1];
    this.kind = m[2]!;
    this.itemsize = m[3] ? Number(m[3]) : this.kind === 'b' ? 1 : 0;
  }
  [SETSTATE](state: unknown): void {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags); only byteorder matters here
    if (!isTuple(state) || state.length < 2) throw new Error('dtype state must be a tuple');
    const order = state[1] instanceof Uint8Array ? latin1.decode(state[1]) : state[1];
    if (typeof order !== 'string' || !/^[<>|=]$/.test(order)) throw new Error('bad dtype byte order');
    this.byteOrder = order;
  }
  /** True when values are stored little-endian (native order is little-endian on every supported host). */
  get littleEndian(): boolean {
    return this.byteOrder !== '>';
  }
}

function text(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return latin1.decode(v);
  throw new Error(`${what} must be a string`);
}

/** Decodes one numpy scalar value of `dtype` from its raw bytes. */
export function decodeScalar(dtype: NumpyDtype, raw: Uint8Array): number | bigint | boolean {
  if (raw.length !== dtype.itemsize) throw new Error(`scalar of ${dtype.descr} needs ${dtype.itemsize} bytes, got ${raw.length}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dtype.littleEndian;
  const key = `${dtype.kind}${dtype.itemsize}`;
  switch (key) {
    case 'f8': return dv.getFloat64(0, le);
    case 'f4': return dv.getFloat32(0, le);
    case 'f2': {
      const h = dv.getUint16(0, le);
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const s = h & 0x8000 ? -1 : 1;
      return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
    }
    case 'i8': { const v = dv.getBigInt64(0, le); return Number.isSafeInteger(Number(v)) ? Number(v) : v; }
    case 'u8': { const v = dv.getBigUint64(0, le); return Number.isSafeInteger(Number(v)) ? Number(v) : v; }
    case 'i4': return dv.getInt32(0, le);
    case 'u4': return dv.getUint32(0, le);
    case 'i2': return dv.getInt16(0, le);
    case 'u2': return dv.getUint16(0, le);
    case 'i1': return dv.getInt8(0);
    case 'u1': return dv.getUint8(0);
    case 'b1': return dv.getUint8(0) !== 0;
    default: throw new Error(`numpy scalars of dtype ${dtype.descr} are not supported`);
  }
}

const scalar = {
  call(args: readonly unknown[]) {
    const [dtype, raw] = args;
    if (!(dtype instanceof NumpyDtype)) throw new Error('the first argument must be a numpy.dtype');
    if (!(raw instanceof Uint8Array)) throw new Error('the second argument must be bytes');
    return decodeScalar(dtype, raw);
  },
};

/** numpy.dtype and numpy scalars (numpy 1.x and 2.x module paths). */
export const NUMPY_SCALAR_GLOBALS: GlobalTable = {
  'numpy.dtype': { call: (args) => new NumpyDtype(text(args[0], 'dtype descriptor')) },
  'numpy.core.multiarray.scalar': scalar,
  'numpy._core.multiarray.scalar': scalar,
};

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
