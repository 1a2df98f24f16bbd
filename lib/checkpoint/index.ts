// sdd.checkpoint: load and save state dicts as safetensors or PyTorch .pth, without Python.
// load() tells the formats apart by content, never by file name; save() picks by extension.
import { checkDevice, type Device } from '../core/dtype.js';
import { CheckpointError, checkKnownKeys, checkOptions, invalidParameterError, quote } from '../core/errors.js';
import { isTensor, type Tensor } from '../core/tensor.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { isLegacyPth, readLegacyPth } from './legacy.js';
import { pthChunks, readPthArchive } from './pth.js';
import { findStateDict } from './torch-objects.js';
import { readSafetensorsSource, safetensorsChunks, type SafetensorsContents } from './safetensors.js';
import { withSource, withSourceSync, type ByteSource } from './source.js';

export { CheckpointError } from '../core/errors.js';
export type { SafetensorsContents } from './safetensors.js';
/** The pickle reader, for other readers of Python pickles (allow-listed globals only). */
export * as pickle from './pickle.js';

export type StateDict = Record<string, Tensor>;
export type CheckpointFormat = 'safetensors' | 'pth';

export interface LoadOptions {
  /**
   * Removed from the start of every key that has it. By default 'module.' (what DataParallel and
   * DistributedDataParallel add), and only when every key has it, so a submodule that happens to
   * be called `module` keeps its name. `false` keeps keys as they are.
   */
  stripPrefix?: string | false;
  /**
   * .pth only: the top-level key holding the state dict (e.g. 'model', 'state_dict'). By default
   * the file itself if it is a state dict, else the first of 'state_dict', 'model',
   * 'model_state_dict', 'net' that is one. safetensors files are flat and ignore it.
   */
  key?: string;
  /** Where the tensors go; default 'cpu'. */
  device?: Device;
  /** Names a buffer input in error messages (paths name themselves). */
  name?: string;
}

export interface SaveOptions {
  /** Default: 'pth' for .pth, .pt, .tar, .ckpt and .bin files, else 'safetensors'. */
  format?: CheckpointFormat;
  /** safetensors only: the header's __metadata__ (strings to strings). */
  metadata?: Record<string, string>;
  /** .pth only: save {key: state_dict} instead of the bare state dict (mdistiller uses 'model'). */
  key?: string;
}

const LOAD_KEYS = ['stripPrefix', 'key', 'device', 'name'] as const;
const SAVE_KEYS = ['format', 'metadata', 'key'] as const;
const PTH_EXTENSIONS = /\.(pth|pt|tar|ckpt|bin)$/i;

interface ResolvedLoad { stripPrefix: string | false; stripOnlyIfAll: boolean; key: string | undefined; device: Device; name: string | undefined }

function resolveLoad(input: unknown, opts: unknown): ResolvedLoad {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw invalidParameterError('file', 'a path or a Uint8Array', input);
  const o = checkOptions('options', opts) as LoadOptions;
  checkKnownKeys('load() options', o as Record<string, unknown>, LOAD_KEYS);
  const stripPrefix = o.stripPrefix ?? 'module.';
  if (stripPrefix !== false && typeof stripPrefix !== 'string') throw invalidParameterError('options.stripPrefix', 'a string or false', stripPrefix);
  if (o.key !== undefined && typeof o.key !== 'string') throw invalidParameterError('options.key', 'a string', o.key);
  if (o.name !== undefined && typeof o.name !== 'string') throw invalidParameterError('options.name', 'a string', o.name);
  return { stripPrefix, stripOnlyIfAll: o.stripPrefix === undefined, key: o.key, device: checkDevice('options.device', o.device), name: o.name };
}

function labelOf(input: string | Uint8Array, name: string | undefined): string {
  return name ?? (typeof input === 'string' ? input : '<buffer>');
}

const RESAVE = 'in Python: torch.save(torch.load(path), new_path) writes the zip format (PyTorch >= 1.6)';

/** Which format the bytes are in, by their first bytes: torch zip, torch legacy stream, safetensors. */
function sniff(source: ByteSource, label: string): 'zip' | 'legacy' | 'safetensors' {
  if (source.size === 0) throw new CheckpointError(label, 'empty file');
  const head = source.read(0, Math.min(source.size, 16));
  if (head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return 'zip';
  if (source.size > 8 && head[8] === 0x7b) return 'safetensors'; // '{' right after the 8-byte length
  if (isLegacyPth(head)) return 'legacy';
  if (head[0] === 0x80) throw new CheckpointError(label, `a bare pickle, not a torch.save file; ${RESAVE}`);
  if (source.size > 262 && new TextDecoder().decode(source.read(257, 5)) === 'ustar') {
    throw new CheckpointError(label, `legacy tar-based torch.save format is not supported; ${RESAVE}`);
  }
  throw new CheckpointError(label, 'unrecognised format: neither safetensors nor a PyTorch checkpoint');
}

/** The format of a checkpoint file or buffer, by content ('pth' covers both torch.save formats). */
export function checkpointFormat(file: string | Uint8Array): CheckpointFormat {
  if (typeof file !== 'string' && !(file instanceof Uint8Array)) throw invalidParameterError('file', 'a path or a Uint8Array', file);
  return withSourceSync(file, (src) => (sniff(src, labelOf(file, undefined)) === 'safetensors' ? 'safetensors' : 'pth'));
}

function stripKeys(sd: StateDict, o: ResolvedLoad, label: string): StateDict {
  const prefix = o.stripPrefix;
  if (prefix === false || prefix === '') return sd;
  const keys = Object.keys(sd);
  if (o.stripOnlyIfAll ? !keys.every((k) => k.startsWith(prefix)) : !keys.some((k) => k.startsWith(prefix))) return sd;
  const out: StateDict = {};
  for (const [k, t] of Object.entries(sd)) {
    const name = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (Object.prototype.hasOwnProperty.call(out, name)) {
      for (const v of Object.values(sd)) v.dispose();
      throw new CheckpointError(label, `removing the prefix ${quote(prefix)} makes two keys ${quote(name)}; pass { stripPrefix: false }`);
    }
    Object.defineProperty(out, name, { value: t, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readPthSource(source: ByteSource, label: string, o: ResolvedLoad, legacy: boolean): StateDict {
  const { root } = legacy ? readLegacyPth(source, label) : readPthArchive(source, label);
  const refs = findStateDict(root, label, o.key);
  // Views share storage in PyTorch but are copied here: bound the total, or many views of one
  // big storage could ask for terabytes. Real state dicts stay near the file size.
  const budget = 8 * source.size + (64 << 20);
  let total = 0;
  for (const ref of refs.values()) total += ref.nbytes;
  if (total > budget) throw new CheckpointError(label, `the state dict would take ${total} bytes from a ${source.size}-byte file (views reading the same storage many times)`);
  const out: StateDict = {};
  const made: Tensor[] = [];
  try {
    for (const [k, ref] of refs) {
      const t = ref.materialize(o.device);
      made.push(t);
      Object.defineProperty(out, k, { value: t, enumerable: true, writable: true, configurable: true });
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return out;
}

function loadSource(source: ByteSource, label: string, o: ResolvedLoad): StateDict {
  const kind = sniff(source, label);
  const sd = kind === 'safetensors' ? readSafetensorsSource(source, label, o.device).tensors : readPthSource(source, label, o, kind === 'legacy');
  return stripKeys(sd, o, label);
}

/**
 * Loads a state dict (name -> tensor) from a .safetensors or torch.save file, or from its bytes.
 * No Python and no code from the file runs: .pth pickles may only use the globals a state dict
 * needs. Throws a CheckpointError naming the file and the problem.
 */
export async function load(file: string | Uint8Array, opts: LoadOptions = {}): Promise<StateDict> {
  const o = resolveLoad(file, opts);
  const label = labelOf(file, o.name);
  return withSource(file, (src) => loadSource(src, label, o));
}

/** load(), synchronously. */
export function loadSync(file: string | Uint8Array, opts: LoadOptions = {}): StateDict {
  const o = resolveLoad(file, opts);
  const label = labelOf(file, o.name);
  return withSourceSync(file, (src) => loadSource(src, label, o));
}

/** A safetensors file's tensors and its __metadata__. */
export function readSafetensors(file: string | Uint8Array, opts: { device?: Device; name?: string } = {}): SafetensorsContents {
  const o = resolveLoad(file, opts);
  const label = labelOf(file, o.name);
  return withSourceSync(file, (src) => {
    if (sniff(src, label) !== 'safetensors') throw new CheckpointError(label, 'not a safetensors file');
    return readSafetensorsSource(src, label, o.device);
  });
}

/** A .pth (torch.save zip) file's state dict, with load()'s options. */
export function readPth(file: string | Uint8Array, opts: LoadOptions = {}): StateDict {
  const o = resolveLoad(file, opts);
  const label = labelOf(file, o.name);
  return withSourceSync(file, (src) => {
    const kind = sniff(src, label);
    if (kind === 'safetensors') throw new CheckpointError(label, 'not a PyTorch checkpoint (it is safetensors)');
    return stripKeys(readPthSource(src, label, o, kind === 'legacy'), o, label);
  });
}

// ------------------------------------------------------------------ saving
function stateDictEntries(sd: unknown): [string, Tensor][] {
  const entries = sd instanceof Map ? [...sd.entries()] : sd !== null && typeof sd === 'object' && !Array.isArray(sd) ? Object.entries(sd) : undefined;
  if (entries === undefined) throw invalidParameterError('stateDict', 'an object or Map of name -> Tensor', sd);
  for (const [k, t] of entries) {
    if (typeof k !== 'string') throw invalidParameterError('stateDict keys', 'strings', k);
    if (!isTensor(t)) throw invalidParameterError(`stateDict[${quote(k)}]`, 'a Tensor', t);
    if (t.isDisposed) throw invalidParameterError(`stateDict[${quote(k)}]`, 'a live Tensor', 'a disposed Tensor');
  }
  return entries as [string, Tensor][];
}

function saveChunks(sd: unknown, file: unknown, opts: unknown): { path: string; chunks: Iterable<Uint8Array> } {
  if (typeof file !== 'string' || file === '') throw invalidParameterError('file', 'a path', file);
  const o = checkOptions('options', opts) as SaveOptions;
  checkKnownKeys('save() options', o as Record<string, unknown>, SAVE_KEYS);
  const format = o.format ?? (PTH_EXTENSIONS.test(file) ? 'pth' : 'safetensors');
  if (format !== 'pth' && format !== 'safetensors') throw invalidParameterError('options.format', "'safetensors' or 'pth'", format);
  const entries = stateDictEntries(sd);
  if (format === 'safetensors') {
    if (o.key !== undefined) throw invalidParameterError('options.key', 'nothing for safetensors (the format is flat)', o.key);
    if (o.metadata !== undefined) {
      const m = o.metadata as unknown;
      if (m === null || typeof m !== 'object' || Array.isArray(m) || !Object.values(m).every((v) => typeof v === 'string')) {
        throw invalidParameterError('options.metadata', 'an object of strings', m);
      }
    }
    if (entries.some(([k]) => k === '__metadata__')) throw invalidParameterError('stateDict key', 'any name but __metadata__ (reserved by safetensors)', '__metadata__');
    return { path: file, chunks: { [Symbol.iterator]: () => safetensorsChunks(entries, o.metadata) } };
  }
  if (o.metadata !== undefined) throw invalidParameterError('options.metadata', 'nothing for .pth files (only safetensors has metadata)', o.metadata);
  if (o.key !== undefined && typeof o.key !== 'string') throw invalidParameterError('options.key', 'a string', o.key);
  return { path: file, chunks: { [Symbol.iterator]: () => pthChunks(entries, o.key) } };
}

/**
 * Saves a state dict atomically (a crash leaves the old file or the new one, never a torn one):
 * safetensors, or a .pth that Python's torch.load reads. The format follows the extension
 * unless `format` says otherwise.
 */
export async function save(stateDict: StateDict | Map<string, Tensor>, file: string, opts: SaveOptions = {}): Promise<void> {
  const { path, chunks } = saveChunks(stateDict, file, opts);
  await writeFileAtomic(path, chunks);
}

/** save(), synchronously. */
export function saveSync(stateDict: StateDict | Map<string, Tensor>, file: string, opts: SaveOptions = {}): void {
  const { path, chunks } = saveChunks(stateDict, file, opts);
  writeFileAtomicSync(path, chunks);
}

/** save() in safetensors whatever the extension. */
export function writeSafetensors(stateDict: StateDict | Map<string, Tensor>, file: string, opts: { metadata?: Record<string, string> } = {}): Promise<void> {
  return save(stateDict, file, { ...checkOptions('options', opts), format: 'safetensors' });
}

/** save() as a torch.save-compatible .pth whatever the extension. */
export function writePth(stateDict: StateDict | Map<string, Tensor>, file: string, opts: { key?: string } = {}): Promise<void> {
  return save(stateDict, file, { ...checkOptions('options', opts), format: 'pth' });
}
