// The safetensors format (github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}},
// then the tensor bytes. Reading checks everything the reference implementation checks (header
// size, offsets contiguous and covering the data exactly, size == numel * itemsize); writing lays
// out tensors in the reference's order and pads the header with spaces to a multiple of 8.
import type { Device, DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { ITEMSIZE, numelOf, tensorFromBytes, tensorToBytes } from './bytes.js';
import { CheckpointError, quote } from '../core/errors.js';
import type { ByteSource } from './source.js';

/** safetensors dtype names we read and write, and the tensor dtype each maps to. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16',
  I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const TO_SAFETENSORS = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

/** The reference writer's order: dtypes by descending rank (widest alignment first), then names. */
const REFERENCE_RANK: Readonly<Record<string, number>> = {
  BOOL: 0, U8: 4, I8: 5, I16: 9, F16: 11, BF16: 12, I32: 13, F32: 15, F64: 16, I64: 17,
};

/** The reference implementation's limit on the header (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** In file order (by data offset). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and validates the header; throws a CheckpointError naming `label` on any violation. */
export function parseSafetensorsHeader(source: ByteSource, label: string): SafetensorsHeader {
  const fail = (m: string): never => {
    throw new CheckpointError(label, m);
  };
  if (source.size < 8) fail(`truncated safetensors file (${source.size} bytes; the header length alone takes 8)`);
  const lenBytes = source.read(0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`safetensors header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > source.size) fail(`truncated safetensors file (header of ${headerLen} bytes but only ${source.size - 8} follow)`);
  let text: string;
  try {
    text = utf8.decode(source.read(8, headerLen));
  } catch {
    return fail('safetensors header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('safetensors header does not start with "{"');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return fail('safetensors header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = source.size - dataStart;
  let metadata: Record<string, string> | undefined;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(info)) fail('__metadata__ must be an object of strings');
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__[${quote(k)}] must be a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const what = `tensor ${quote(name)}`;
    if (!isPlainObject(info)) fail(`${what}: expected an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') return fail(`${what}: dtype must be a string`);
    const dt = Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPES, dtype) ? SAFETENSORS_DTYPES[dtype] : undefined;
    if (dt === undefined) return fail(`${what}: dtype ${quote(dtype)} is not supported (supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return fail(`${what}: shape must be an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      return fail(`${what}: data_offsets must be two non-negative integers`);
    }
    const [b, e] = offsets as [number, number];
    if (e < b) fail(`${what}: data_offsets [${b}, ${e}] end before they begin`);
    const numel = numelOf(shape as number[]);
    const nbytes = numel * ITEMSIZE[dt];
    if (numel < 0 || !Number.isSafeInteger(nbytes)) fail(`${what}: shape [${(shape as number[]).join(', ')}] is too large`);
    if (e - b !== nbytes) fail(`${what}: data_offsets [${b}, ${e}] hold ${e - b} bytes but ${dtype} [${(shape as number[]).join(', ')}] needs ${nbytes}`);
    entries.push({ name, dtype: dt, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  // Offsets must tile the data area exactly: no gaps, no overlaps, nothing left over.
  entries.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = dataStart;
  for (const t of entries) {
    if (t.begin !== at) {
      fail(t.begin < at
        ? `tensor ${quote(t.name)} overlaps the previous tensor (data_offsets start at ${t.begin - dataStart}, expected ${at - dataStart})`
        : `gap in the data before tensor ${quote(t.name)} (data_offsets start at ${t.begin - dataStart}, expected ${at - dataStart})`);
    }
    at = t.end;
  }
  if (at - dataStart !== dataLen) {
    fail(at - dataStart > dataLen
      ? `truncated safetensors file (tensors need ${at - dataStart} data bytes, ${dataLen} present)`
      : `safetensors data has ${dataLen - (at - dataStart)} trailing bytes not covered by any tensor`);
  }
  return { entries, metadata };
}

export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string> | undefined;
}

/** Reads every tensor (in file order). Tensors made before a failure are disposed. */
export function readSafetensorsSource(source: ByteSource, label: string, device: Device = 'cpu'): SafetensorsContents {
  const { entries, metadata } = parseSafetensorsHeader(source, label);
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const e of entries) {
      const t = tensorFromBytes(source.read(e.begin, e.end - e.begin), e.shape, e.dtype, device);
      made.push(t);
      Object.defineProperty(tensors, e.name, { value: t, enumerable: true, writable: true, configurable: true });
    }
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

/** The bytes of a safetensors file as chunks; tensor data is copied out one tensor at a time. */
export function* safetensorsChunks(entries: readonly (readonly [string, Tensor])[], metadata?: Readonly<Record<string, string>>): Generator<Uint8Array> {
  const sorted = entries.map(([name, t]) => {
    const dtype = t.dtype;
    const shape = t.shape;
    return { name, t, st: TO_SAFETENSORS[dtype], shape, nbytes: numelOf(shape) * ITEMSIZE[dtype] };
  });
  sorted.sort((a, b) => REFERENCE_RANK[b.st]! - REFERENCE_RANK[a.st]! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  const define = (k: string, v: unknown): void => {
    Object.defineProperty(header, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  if (metadata !== undefined) define('__metadata__', { ...metadata });
  let offset = 0;
  for (const e of sorted) {
    define(e.name, { dtype: e.st, shape: e.shape, data_offsets: [offset, offset + e.nbytes] });
    offset += e.nbytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  yield head;
  for (const e of sorted) {
    const bytes = tensorToBytes(e.t);
    if (bytes.length !== e.nbytes) throw new Error(`tensor ${quote(e.name)} changed size while saving`);
    yield bytes;
  }
}
