// A minimal safetensors reader for the model tests (F32 and I64 only, as the fixtures need): 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
// little-endian data. Independent of lib/checkpoint on purpose: the model tests do not depend on it.
import { readFileSync } from 'node:fs';
import * as sdd from '../../lib/index.js';

export function readSafetensorsMin(file: string): Record<string, sdd.Tensor> {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const out: Record<string, sdd.Tensor> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = e.data_offsets;
    const bytes = buf.subarray(base + begin, base + end);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    let data: Float32Array | BigInt64Array;
    if (e.dtype === 'F32') data = new Float32Array(copy.buffer);
    else if (e.dtype === 'I64') data = new BigInt64Array(copy.buffer);
    else throw new Error(`safetensors-min: dtype ${e.dtype} of ${name} is not supported`);
    out[name] = sdd.tensor(data, { shape: e.shape });
  }
  return out;
}
