// torch.save's legacy stream format (PyTorch < 1.6, or _use_new_zipfile_serialization=False), in
// which classic CIFAR teacher checkpoints were shared: five pickles back to back (magic number,
// protocol version, sys info, the object, the storage keys), then each storage as an int64 element
// count and its raw bytes, in the order of the keys. Same pickle allow-list as the zip format.
import { ITEMSIZE } from './bytes.js';
import { CheckpointError, PickleError, quote } from '../core/errors.js';
import { dictGet, isTuple, pyTypeName, unpickleAt, type UnpickleOptions } from './pickle.js';
import type { ByteSource } from './source.js';
import { StorageRef, TORCH_GLOBALS, TORCH_GLOBALS_SUMMARY, intArg, storageDtype } from './torch-objects.js';
import type { DType } from '../core/dtype.js';

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
/** The pickles precede the storages; they are parsed from a window that grows until they fit. */
const FIRST_WINDOW = 1 << 20;
const MAX_PICKLES_BYTES = 1 << 30;

/** True when `head` starts like a legacy file: PROTO 2, LONG1 of the magic number. */
export function isLegacyPth(head: Uint8Array): boolean {
  const prefix = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  return prefix.every((b, i) => head[i] === b);
}

interface Declared { dtype: DType; numel: number; root: StorageRef }

export function readLegacyPth(source: ByteSource, label: string): { root: unknown } {
  for (let window = Math.min(source.size, FIRST_WINDOW); ; window = Math.min(source.size, window * 16, MAX_PICKLES_BYTES)) {
    try {
      return parse(source, source.read(0, window), label);
    } catch (e) {
      const short = e instanceof PickleError && e.message.includes('truncated pickle');
      if (!short || window >= Math.min(source.size, MAX_PICKLES_BYTES)) throw e;
    }
  }
}

function parse(source: ByteSource, head: Uint8Array, label: string): { root: unknown } {
  const options = (name: string): UnpickleOptions => ({ name: `${label}: ${name}`, globals: TORCH_GLOBALS, purpose: 'a state dict needs', allowedSummary: TORCH_GLOBALS_SUMMARY });
  let pos = 0;
  const next = (name: string, opts: UnpickleOptions = options(name)): unknown => {
    const r = unpickleAt(head, pos, opts);
    pos = r.end;
    return r.value;
  };
  if (next('magic number') !== MAGIC) throw new CheckpointError(label, 'bad magic number in a legacy torch.save file');
  const version = next('protocol version');
  if (version !== PROTOCOL_VERSION) throw new CheckpointError(label, `legacy protocol version ${String(version)} is not supported (expected ${PROTOCOL_VERSION})`);
  const sysInfo = next('sys info');
  if (!(sysInfo instanceof Map) || dictGet(sysInfo, 'little_endian') !== true) {
    throw new CheckpointError(label, 'only little-endian legacy checkpoints are supported');
  }

  // Storages are declared by the object pickle; their bytes are located once all are known.
  const roots = new Map<string, Declared>();
  const views = new Map<string, StorageRef>();
  const located = new Map<string, [number, number]>(); // key -> [offset, bytes]
  const bytesOf = (key: string): Uint8Array => {
    const [offset, nbytes] = located.get(key)!;
    return source.read(offset, nbytes);
  };
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!isTuple(pid) || pid.length < 1) throw new Error(`unsupported persistent id (a ${pyTypeName(pid)})`);
    if (pid[0] === 'module') throw new Error('the file holds a whole pickled nn.Module, not a state dict: save model.state_dict() instead');
    if (pid[0] !== 'storage' || pid.length !== 6) throw new Error("unsupported persistent id (expected ('storage', type, key, location, numel, view))");
    const [, type, key, , numel, view] = pid;
    const dtype = storageDtype(type);
    if (dtype === undefined) throw new Error(`unsupported storage type ${pyTypeName(type)}`);
    if (typeof key !== 'string') throw new Error(`storage key must be a str, not a ${pyTypeName(key)}`);
    const n = intArg(numel, 'storage size');
    let root = roots.get(key);
    if (root === undefined) {
      root = { dtype, numel: n, root: new StorageRef(key, dtype, n, () => bytesOf(key)) };
      roots.set(key, root);
    } else if (root.dtype !== dtype || root.numel !== n) {
      throw new Error(`storage ${quote(key)} is declared twice, differently`);
    }
    if (view === null) return root.root;
    // (view_key, offset, size): a slice of the root storage, in elements
    if (!isTuple(view) || view.length !== 3 || typeof view[0] !== 'string') throw new Error('bad storage view');
    const [viewKey, offset, size] = [view[0], intArg(view[1], 'view offset'), intArg(view[2], 'view size')];
    if (offset + size > n) throw new Error(`storage view ${quote(viewKey)} [${offset}, ${offset + size}) lies outside its storage of ${n} elements`);
    let ref = views.get(viewKey);
    if (ref === undefined) {
      const item = ITEMSIZE[dtype];
      const parent = root.root;
      ref = new StorageRef(viewKey, dtype, size, () => parent.bytes().subarray(offset * item, (offset + size) * item));
      views.set(viewKey, ref);
    }
    return ref;
  };
  const root = next('data', { ...options('data'), persistentLoad });
  const keys = next('storage keys');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new CheckpointError(label, 'the storage key list is malformed');

  // Then, per key: int64 element count (which must match the declaration) and the bytes.
  let at = pos;
  for (const key of keys as string[]) {
    const d = roots.get(key);
    if (d === undefined) throw new CheckpointError(label, `storage ${quote(key)} has data but no tensor uses it`);
    if (located.has(key)) throw new CheckpointError(label, `storage ${quote(key)} appears twice in the key list`);
    if (at + 8 > source.size) throw new CheckpointError(label, `truncated legacy file (storage ${quote(key)} is missing)`);
    const raw = source.read(at, 8);
    const count = new DataView(raw.buffer, raw.byteOffset, 8).getBigInt64(0, true);
    if (count !== BigInt(d.numel)) throw new CheckpointError(label, `storage ${quote(key)} holds ${count} elements but is declared with ${d.numel}`);
    const nbytes = d.numel * ITEMSIZE[d.dtype];
    if (at + 8 + nbytes > source.size) throw new CheckpointError(label, `truncated legacy file (storage ${quote(key)} needs ${nbytes} bytes)`);
    located.set(key, [at + 8, nbytes]);
    at += 8 + nbytes;
  }
  for (const key of roots.keys()) {
    if (!located.has(key)) throw new CheckpointError(label, `storage ${quote(key)} is used but has no data in the file`);
  }
  return { root };
}
