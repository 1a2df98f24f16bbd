// PyTorch's torch.save format (zip: <dir>/data.pkl, <dir>/data/<key>, <dir>/version), read without
// Python: data.pkl goes through our pickle VM with only the globals a state dict needs (see
// torch-objects.ts), and storages are read lazily from the zip. Writing produces what torch.save
// writes for a state dict (protocol 2, _rebuild_tensor_v2, 64-byte aligned stored records).
import type { DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { ITEMSIZE, numelOf, tensorToBytes } from './bytes.js';
import { CheckpointError, quote } from '../core/errors.js';
import { PickleWriter } from './pickle-writer.js';
import { isTuple, pyTypeName, unpickle } from './pickle.js';
import type { ByteSource } from './source.js';
import { STORAGE_OF, StorageRef, TORCH_GLOBALS, TORCH_GLOBALS_SUMMARY, intArg, storageDtype } from './torch-objects.js';
import { ZipReader, zipChunks, type ZipWriteEntry } from './zip.js';

export interface PthArchive {
  /** What torch.save was given, with tensors as TensorRef. */
  root: unknown;
  /** The folder inside the zip ('archive' for torch.save to a file object). */
  prefix: string;
}

/** Reads the archive and unpickles data.pkl; storages are read only when a TensorRef is materialised. */
export function readPthArchive(source: ByteSource, label: string): PthArchive {
  const zip = new ZipReader(source, label);
  const pkl = [...zip.entries.keys()].filter((n) => /^([^/]*\/)?data\.pkl$/.test(n));
  if (pkl.length === 0) {
    throw new CheckpointError(label, `not a torch.save archive (no data.pkl among ${zip.entries.size} zip entries)`);
  }
  if (pkl.length > 1) throw new CheckpointError(label, `ambiguous archive: ${pkl.length} data.pkl entries (${pkl.slice(0, 3).map((n) => quote(n)).join(', ')})`);
  const pklName = pkl[0]!;
  const dir = pklName.slice(0, pklName.length - 'data.pkl'.length); // '' or 'archive/'
  if (zip.entries.has(`${dir}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${dir}code/`))) {
    throw new CheckpointError(label, 'this is a TorchScript archive (torch.jit.save), not a state dict: in Python, load it with torch.jit.load and torch.save(model.state_dict(), path)');
  }
  const byteorder = zip.entries.get(`${dir}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(zip.read(byteorder)).trim();
    if (order !== 'little') throw new CheckpointError(label, `byteorder ${quote(order)} is not supported (only little-endian checkpoints)`);
  }
  const version = zip.entries.get(`${dir}version`);
  if (version) {
    const v = new TextDecoder().decode(zip.read(version)).trim();
    if (!/^\d{1,4}$/.test(v)) throw new CheckpointError(label, `version record ${quote(v)} is not a number`);
  }
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new Error(`unsupported persistent id (expected ('storage', type, key, location, numel), got a ${pyTypeName(pid)})`);
    }
    const [, type, key, , numel] = pid;
    const dtype = storageDtype(type);
    if (dtype === undefined) throw new Error(`unsupported storage type ${pyTypeName(type)}`);
    if (typeof key !== 'string') throw new Error(`storage key must be a str, not a ${pyTypeName(key)}`);
    const n = intArg(numel, 'storage size');
    const id = `${key}:${dtype}`;
    const cached = storages.get(id);
    if (cached) {
      if (cached.numel !== n) throw new Error(`storage ${quote(key)} is declared with ${cached.numel} and ${n} elements`);
      return cached;
    }
    const name = `${dir}data/${key}`;
    const entry = zip.entries.get(name);
    if (!entry) throw new Error(`storage ${quote(key)} is missing from the archive (no entry ${quote(name)})`);
    const nbytes = n * ITEMSIZE[dtype];
    if (entry.size !== nbytes) {
      throw new Error(`storage ${quote(key)} declares ${n} ${dtype} elements (${nbytes} bytes) but its record holds ${entry.size} bytes`);
    }
    const ref = new StorageRef(key, dtype, n, () => zip.read(entry));
    storages.set(id, ref);
    return ref;
  };
  const root = unpickle(zip.read(zip.entries.get(pklName)!), {
    name: `${label}: ${pklName}`,
    globals: TORCH_GLOBALS,
    purpose: 'a state dict needs',
    allowedSummary: TORCH_GLOBALS_SUMMARY,
    persistentLoad,
  });
  return { root, prefix: dir.replace(/\/$/, '') };
}

// ------------------------------------------------------------------ writing
function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= Math.max(shape[d]!, 1); // PyTorch's rule for zero-size dimensions
  }
  return stride;
}

/** data.pkl for a state dict, as torch.save writes it (optionally wrapped as {key: state_dict}). */
export function pickleStateDict(entries: readonly (readonly [string, { dtype: DType; shape: number[] }])[], key?: string): Uint8Array {
  const w = new PickleWriter().proto(2);
  if (key !== undefined) w.emptyDict().string(key);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  if (entries.length > 0) {
    w.mark();
    entries.forEach(([name, t], i) => {
      const numel = numelOf(t.shape);
      w.string(name).global('torch._utils', '_rebuild_tensor_v2').mark();
      w.mark().string('storage', true).global('torch', STORAGE_OF[t.dtype]).string(String(i)).string('cpu', true).int(numel).tuple().binpersid();
      w.int(0).intTuple(t.shape).intTuple(contiguousStrides(t.shape)).bool(false);
      w.global('collections', 'OrderedDict').emptyTuple().reduce();
      w.tuple().reduce();
    });
    w.setitems();
  }
  if (key !== undefined) w.setitem();
  return w.stop().bytes();
}

/** The bytes of a .pth file that torch.load reads, as chunks; tensors are copied out one at a time. */
export function pthChunks(entries: readonly (readonly [string, Tensor])[], key?: string): Generator<Uint8Array> {
  const described = entries.map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape }] as const);
  const dir = 'archive';
  const files: ZipWriteEntry[] = [
    { name: `${dir}/data.pkl`, data: pickleStateDict(described, key) },
    { name: `${dir}/byteorder`, data: new TextEncoder().encode('little') },
    ...entries.map(([, t], i) => ({ name: `${dir}/data/${i}`, data: () => tensorToBytes(t) })),
    { name: `${dir}/version`, data: new TextEncoder().encode('3\n') },
  ];
  return zipChunks(files, 64);
}
