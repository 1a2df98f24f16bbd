// What torch.save pickles contain, as JS: storages and tensor views (read lazily), the
// OrderedDict of a state dict, and the allow-list of globals such pickles may use (all data-only,
// implemented here: nothing from the file runs). Shared by the zip (pth.ts) and legacy readers.
import type { Device, DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { ITEMSIZE, gatherStrided, numelOf, tensorFromBytes } from './bytes.js';
import { CheckpointError, quote } from '../core/errors.js';
import { NUMPY_SCALAR_GLOBALS } from './numpy.js';
import { PYTHON_DATA_GLOBALS, PyGlobal, SETSTATE, isTuple, pyTypeName, type GlobalTable, type Stateful } from './pickle.js';

export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
export const STORAGE_OF = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

/** Largest tensor (64 MiB) materialised from a view that reads its storage more than once (stride 0). */
const MAX_EXPANDED_BYTES = 1 << 26;

/** A storage record of the archive, read (and CRC-checked) on first use and then shared by its views. */
export class StorageRef {
  #bytes: Uint8Array | undefined;
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number, private readonly load: () => Uint8Array) {}
  bytes(): Uint8Array {
    this.#bytes ??= this.load();
    return this.#bytes;
  }
}

/** A tensor as the pickle describes it; made into a Tensor only if the caller wants it. */
export class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: readonly number[], readonly stride: readonly number[]) {}
  get dtype(): DType {
    return this.storage.dtype;
  }
  /** Bytes of the materialised (contiguous) tensor. */
  get nbytes(): number {
    return numelOf(this.size) * ITEMSIZE[this.storage.dtype];
  }
  /** Copies the viewed elements into a new (contiguous) tensor. */
  materialize(device: Device = 'cpu'): Tensor {
    const s = this.storage;
    const bytes = gatherStrided(s.bytes(), ITEMSIZE[s.dtype], this.offset, this.size, this.stride);
    return tensorFromBytes(bytes, [...this.size], s.dtype, device);
  }
}

/** collections.OrderedDict: a Map that also keeps instance attributes (state dicts carry `_metadata`). */
export class OrderedDict extends Map<unknown, unknown> implements Stateful {
  readonly attributes = new Map<string, unknown>();
  [SETSTATE](state: unknown): void {
    setAttributes(this.attributes, state);
  }
}

/** An instance of an allowed plain-data class (argparse.Namespace): its class name and attributes. */
export class PyObject implements Stateful {
  readonly attributes = new Map<string, unknown>();
  constructor(readonly className: string) {}
  [SETSTATE](state: unknown): void {
    setAttributes(this.attributes, state);
  }
}

/** Python's default __setstate__: a dict of attributes, or (dict, slots dict). */
function setAttributes(into: Map<string, unknown>, state: unknown): void {
  const parts = isTuple(state) && state.length === 2 ? state : [state];
  for (const part of parts) {
    if (part === null) continue;
    if (!(part instanceof Map)) throw new Error(`state must be a dict, not a ${pyTypeName(part)}`);
    for (const [k, v] of part) {
      if (typeof k !== 'string') throw new Error('attribute names must be strings');
      into.set(k, v);
    }
  }
}

export function intArg(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${what} must be a non-negative int, not ${pyTypeName(v)} ${typeof v === 'number' ? v : ''}`.trimEnd());
  return v;
}

function intTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${what} must be a tuple, not a ${pyTypeName(v)}`);
  return v.map((d, i) => intArg(d, `${what}[${i}]`));
}

/** _rebuild_tensor(_v2)'s checks: the view must lie inside its storage. */
function rebuildTensor(args: readonly unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error(`the storage must come from the archive, not a ${pyTypeName(storage)}`);
  const o = intArg(offset, 'storage_offset');
  const sz = intTuple(size, 'size');
  const st = intTuple(stride, 'stride');
  if (sz.length !== st.length) throw new Error(`size has ${sz.length} dimensions but stride has ${st.length}`);
  const numel = numelOf(sz);
  if (numel < 0) throw new Error(`size (${sz.join(', ')}) is too large`);
  if (numel > 0) {
    let last = o;
    for (let d = 0; d < sz.length; d++) last += (sz[d]! - 1) * st[d]!;
    if (!Number.isSafeInteger(last) || last >= storage.numel) {
      throw new Error(`a view of size (${sz.join(', ')}), stride (${st.join(', ')}) at offset ${o} reads past its storage of ${storage.numel} elements`);
    }
    if (numel > storage.numel && numel * ITEMSIZE[storage.dtype] > MAX_EXPANDED_BYTES) {
      throw new Error(`a view of ${numel} elements over a storage of ${storage.numel} is too large to materialise`);
    }
  }
  return new TensorRef(storage, o, sz, st);
}

function storageGlobals(module: string): Record<string, { call?: undefined }> {
  return Object.fromEntries(Object.keys(STORAGE_DTYPES).map((n) => [`${module}.${n}`, {}]));
}

/** The globals a state dict (and the usual training checkpoint around it) needs; all are data-only. */
export const TORCH_GLOBALS: GlobalTable = {
  'collections.OrderedDict': {
    call(args) {
      const d = new OrderedDict();
      if (args.length > 0 && args[0] !== null) {
        if (!Array.isArray(args[0])) throw new Error('expects a list of (key, value) pairs');
        for (const pair of args[0]) {
          if (!Array.isArray(pair) || pair.length !== 2) throw new Error('expects (key, value) pairs');
          d.set(pair[0], pair[1]);
        }
      }
      return d;
    },
  },
  'torch._utils._rebuild_tensor': { call: rebuildTensor },
  'torch._utils._rebuild_tensor_v2': { call: rebuildTensor },
  'torch._utils._rebuild_parameter': {
    call(args) {
      if (!(args[0] instanceof TensorRef)) throw new Error(`data must be a tensor, not a ${pyTypeName(args[0])}`);
      return args[0];
    },
  },
  'torch._utils._rebuild_parameter_with_state': {
    call(args) {
      if (!(args[0] instanceof TensorRef)) throw new Error(`data must be a tensor, not a ${pyTypeName(args[0])}`);
      return args[0];
    },
  },
  'torch.Size': {
    call(args) {
      return Object.freeze(intTuple(args[0] ?? [], 'torch.Size'));
    },
  },
  ...storageGlobals('torch'),
  ...storageGlobals('torch.cuda'), // PyTorch < 1.12 names CUDA storages so
  // Plain attribute bags, built without running their code (seen in training checkpoints).
  'argparse.Namespace': {
    call: () => new PyObject('argparse.Namespace'),
    newobj: () => new PyObject('argparse.Namespace'),
  },
  ...NUMPY_SCALAR_GLOBALS,
  ...PYTHON_DATA_GLOBALS,
};

/** TORCH_GLOBALS for error messages, storages folded into one pattern. */
export const TORCH_GLOBALS_SUMMARY = [
  ...Object.keys(TORCH_GLOBALS).filter((k) => !k.endsWith('Storage')),
  'torch.*Storage and torch.cuda.*Storage (Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool)',
].join(', ');

export function storageDtype(g: unknown): DType | undefined {
  // by qualified name: GLOBAL 'torch' 'cuda.FloatStorage' means torch.cuda.FloatStorage too
  const m = g instanceof PyGlobal ? /^torch\.(?:cuda\.)?(\w+Storage)$/.exec(g.qualifiedName) : null;
  return m && Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, m[1]!) ? STORAGE_DTYPES[m[1]!] : undefined;
}

/** Top-level keys that hold the state dict in common training checkpoints, in the order tried. */
export const STATE_DICT_KEYS = ['state_dict', 'model', 'model_state_dict', 'net'] as const;

function isStateDict(v: unknown): v is Map<string, TensorRef> {
  if (!(v instanceof Map)) return false;
  for (const [k, t] of v) if (typeof k !== 'string' || !(t instanceof TensorRef)) return false;
  return true;
}

function describeKeys(m: Map<unknown, unknown>): string {
  const keys = [...m.keys()].slice(0, 8).map((k) => (typeof k === 'string' ? quote(k, 40) : pyTypeName(k)));
  return `${keys.join(', ')}${m.size > 8 ? ', …' : ''}`;
}

/**
 * Finds the state dict in what torch.save was given: `root[key]` if `key` is set; else the root
 * itself when every value is a tensor; else the first of STATE_DICT_KEYS that holds one.
 */
export function findStateDict(root: unknown, label: string, key?: string): Map<string, TensorRef> {
  if (key !== undefined) {
    if (!(root instanceof Map)) throw new CheckpointError(label, `cannot take key ${quote(key)}: the checkpoint holds a ${pyTypeName(root)}, not a dict`);
    if (!root.has(key)) throw new CheckpointError(label, `no key ${quote(key)} at the top level (keys: ${describeKeys(root)})`);
    const v = root.get(key);
    if (!isStateDict(v)) throw new CheckpointError(label, `${quote(key)} is not a state dict (${notStateDictReason(v)})`);
    return v;
  }
  if (isStateDict(root)) return root;
  if (root instanceof Map) {
    for (const k of STATE_DICT_KEYS) if (isStateDict(root.get(k))) return root.get(k) as Map<string, TensorRef>;
    throw new CheckpointError(label, `found no state dict: the top level is a dict with keys ${describeKeys(root)} (${notStateDictReason(root)}); pass { key } to pick one`);
  }
  if (root instanceof TensorRef) throw new CheckpointError(label, 'the checkpoint holds a single tensor, not a state dict');
  throw new CheckpointError(label, `found no state dict: the checkpoint holds a ${pyTypeName(root)}`);
}

function notStateDictReason(v: unknown): string {
  if (!(v instanceof Map)) return `a ${pyTypeName(v)}`;
  for (const [k, t] of v) {
    if (typeof k !== 'string') return `it has a ${pyTypeName(k)} key`;
    if (!(t instanceof TensorRef)) return `entry ${quote(k, 40)} is a ${pyTypeName(t)}, not a tensor`;
  }
  return 'empty';
}
