// The zip container of torch.save files: a strict reader (central directory, zip64, stored and
// deflated entries) and a writer that lays entries out like PyTorch's (stored, data 64-byte aligned).
// Inflating is zlib's (node:zlib), bounded by the declared size, so a zip bomb cannot blow up memory.
import { crc32, inflateRawSync } from 'node:zlib';
import { CheckpointError, quote } from '../core/errors.js';
import type { ByteSource } from './source.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Deflate cannot expand data by more than about 1032:1; a larger declared ratio is a lie. */
const MAX_DEFLATE_RATIO = 1032;

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  /** Where the entry's (compressed) bytes start. */
  readonly dataOffset: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
/** A little-endian uint64 as a number, or -1 beyond 2^53 (no real file is that large). */
function u64(b: Uint8Array, o: number): number {
  const v = u32(b, o) + u32(b, o + 4) * 2 ** 32;
  return Number.isSafeInteger(v) ? v : -1;
}

/** Reads the entries of a zip archive; `label` names the file in errors. */
export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  readonly #source: ByteSource;
  readonly #label: string;

  constructor(source: ByteSource, label: string) {
    this.#source = source;
    this.#label = label;
    this.#parse();
  }

  #fail(message: string): never {
    throw new CheckpointError(this.#label, message);
  }

  #parse(): void {
    const dir = this.#centralDirectory();
    const cd = this.#source.read(dir.offset, dir.size);
    const spans: [number, number, string][] = [];
    let p = 0;
    for (let i = 0; i < dir.count; i++) {
      const { end, ...entry } = this.#centralEntry(cd, p, i, dir.offset);
      spans.push([entry.localHeaderOffset, entry.dataOffset + entry.compressedSize, entry.name]);
      this.entries.set(entry.name, entry);
      p = end;

    }
    // Entries sharing bytes are the "overlapping zip bomb": one small deflate stream read many times.
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i]![0] < spans[i - 1]![1]) this.#fail(`corrupt zip archive (entries ${quote(spans[i - 1]![2])} and ${quote(spans[i]![2])} overlap)`);
    }
  }

  /** Where the central directory is and how many entries it lists, from the end record (zip64 too). */
  #centralDirectory(): { count: number; size: number; offset: number } {
    const src = this.#source;
    if (src.size < EOCD_SIZE) this.#fail('truncated zip archive (too short for an end of central directory record)');
    // The end record sits at the very end, followed only by a comment of up to 64 KiB.
    const tailLen = Math.min(src.size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = src.size - tailLen;
    const tail = src.read(tailStart, tailLen);
    let eocd = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      if (u32(tail, i) === SIG_EOCD && i + EOCD_SIZE + u16(tail, i + 20) <= tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.#fail('truncated zip archive (no end of central directory record)');
    const eocdPos = tailStart + eocd;
    if (u16(tail, eocd + 4) !== 0 || u16(tail, eocd + 6) !== 0) this.#fail('multi-disk zip archives are not supported');
    let count = u16(tail, eocd + 10);
    let size = u32(tail, eocd + 12);
    let offset = u32(tail, eocd + 16);
    let limit = eocdPos; // the central directory ends before this
    if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) ({ count, size, offset, limit } = this.#zip64EndRecord(eocdPos));
    if (count < 0 || size < 0 || offset < 0 || offset + size > limit) {
      this.#fail(`truncated zip archive (central directory at ${offset}+${size} runs past ${limit})`);
    }
    if (count * CENTRAL_SIZE > size) this.#fail(`corrupt zip archive (${count} entries cannot fit in a ${size}-byte central directory)`);
    return { count, size, offset };
  }

  /** The zip64 end record, found through its locator right before the end record at `eocdPos`. */
  #zip64EndRecord(eocdPos: number): { count: number; size: number; offset: number; limit: number } {
    if (eocdPos < 20) this.#fail('truncated zip archive (zip64 locator missing)');
    const loc = this.#source.read(eocdPos - 20, 20);
    if (u32(loc, 0) !== SIG_EOCD64_LOCATOR) this.#fail('corrupt zip archive (zip64 locator missing)');
    const recPos = u64(loc, 8);
    if (recPos < 0 || recPos + 56 > eocdPos - 20) this.#fail('corrupt zip archive (zip64 end record out of range)');
    const rec = this.#source.read(recPos, 56);
    if (u32(rec, 0) !== SIG_EOCD64) this.#fail('corrupt zip archive (bad zip64 end record)');
    return { count: u64(rec, 32), size: u64(rec, 40), offset: u64(rec, 48), limit: recPos };
  }

  /** Central directory entry `i` at byte `p` of `cd`, checked against the entries so far and its local header; `end`: the next entry's byte. */

  #centralEntry(cd: Uint8Array, p: number, i: number, cdOffset: number): ZipEntry & { end: number } {
    if (p + CENTRAL_SIZE > cd.length || u32(cd, p) !== SIG_CENTRAL) this.#fail(`corrupt zip archive (central directory entry ${i} is damaged)`);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc = u32(cd, p + 16);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    if (u16(cd, p + 34) !== 0) this.#fail('multi-disk zip archives are not supported');
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cd.length) this.#fail(`corrupt zip archive (central directory entry ${i} runs past its end)`);
    const name = utf8.decode(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen));
    const extra = cd.subarray(p + CENTRAL_SIZE + nameLen, p + CENTRAL_SIZE + nameLen + extraLen);
    const { size, compressedSize, localHeaderOffset } = this.#zip64Sizes(name, extra, { size: u32(cd, p + 24), compressedSize: u32(cd, p + 20), localHeaderOffset: u32(cd, p + 42) });
    if (size < 0 || compressedSize < 0 || localHeaderOffset < 0) this.#fail(`corrupt zip archive (size out of range for ${quote(name)})`);
    if (this.entries.has(name)) this.#fail(`corrupt zip archive (duplicate entry ${quote(name)})`);
    // The local header repeats name and extra field with possibly different lengths: read them.
    if (localHeaderOffset + LOCAL_SIZE > cdOffset) this.#fail(`corrupt zip archive (entry ${quote(name)} starts past the data area)`);
    const local = this.#source.read(localHeaderOffset, LOCAL_SIZE);
    if (u32(local, 0) !== SIG_LOCAL) this.#fail(`corrupt zip archive (bad local header for ${quote(name)})`);
    const dataOffset = localHeaderOffset + LOCAL_SIZE + u16(local, 26) + u16(local, 28);
    if (dataOffset + compressedSize > cdOffset) this.#fail(`truncated zip archive (entry ${quote(name)} runs past the data area)`);
    return { name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset, dataOffset, end };
  }

  /** zip64: the 0xffffffff fields are replaced, in order, by 8-byte values in extra field 0x0001. */
  #zip64Sizes(name: string, extra: Uint8Array, fields: { size: number; compressedSize: number; localHeaderOffset: number }): typeof fields {
    const FULL = 0xffffffff;
    if (fields.size !== FULL && fields.compressedSize !== FULL && fields.localHeaderOffset !== FULL) return fields;
    for (let q = 0; q + 4 <= extra.length;) {
      const id = u16(extra, q);
      const len = u16(extra, q + 2);
      if (q + 4 + len > extra.length) break;
      if (id === 0x0001) {
        let r = q + 4;
        const next = (): number => {
          if (r + 8 > q + 4 + len) this.#fail(`corrupt zip archive (short zip64 field for ${quote(name)})`);
          const v = u64(extra, r);
          r += 8;
          return v;
        };
        const out = { ...fields };
        if (out.size === FULL) out.size = next();
        if (out.compressedSize === FULL) out.compressedSize = next();
        if (out.localHeaderOffset === FULL) out.localHeaderOffset = next();
        return out;
      }
      q += 4 + len;
    }
    return this.#fail(`corrupt zip archive (zip64 sizes missing for ${quote(name)})`);
  }

  /** The uncompressed bytes of an entry, checked against its size and CRC-32. */
  read(entry: ZipEntry): Uint8Array {
    const where = `${this.#label}: ${entry.name}`;
    if (entry.flags & 0x1) throw new CheckpointError(where, 'encrypted zip entries are not supported');
    const raw = this.#source.read(entry.dataOffset, entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) throw new CheckpointError(where, `stored entry has compressed size ${entry.compressedSize} but size ${entry.size}`);
      data = raw;
    } else if (entry.method === 8) {
      if (entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
        throw new CheckpointError(where, `declared size ${entry.size} is impossible for ${entry.compressedSize} deflated bytes (zip bomb?)`);
      }
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
      } catch (e) {
        throw new CheckpointError(where, `corrupt deflate data (${(e as Error).message})`, { cause: e });
      }
      if (data.length !== entry.size) throw new CheckpointError(where, `inflated to ${data.length} bytes but the archive declares ${entry.size}`);
    } else {
      throw new CheckpointError(where, `compression method ${entry.method} is not supported (only stored and deflate)`);
    }
    if (crc32(data) !== entry.crc32) throw new CheckpointError(where, 'CRC-32 mismatch (the file is corrupt)');
    return data;
  }
}

// ------------------------------------------------------------------ writing
export interface ZipWriteEntry {
  name: string;
  /** Produced when the entry is written, so large payloads are made one at a time. */
  data: Uint8Array | (() => Uint8Array);
}

const ZIP32_LIMIT = 0xffffffff;

/**
 * The bytes of a stored (uncompressed) zip archive, as chunks in order. Like PyTorch's writer,
 * each entry's data starts at a multiple of `align` bytes (padding goes into an extra field "FB"),
 * DOS times are zero (reproducible files) and CRCs sit in the local headers.
 */
export function* zipChunks(entries: Iterable<ZipWriteEntry>, align = 64): Generator<Uint8Array> {
  const encoder = new TextEncoder();
  const central: Uint8Array[] = [];
  let pos = 0;
  let count = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const data = typeof entry.data === 'function' ? entry.data() : entry.data;
    const crc = crc32(data);
    const start = pos + LOCAL_SIZE + name.length + 4;
    const padding = (align - (start % align)) % align;
    const extraLen = 4 + padding;
    if (pos > ZIP32_LIMIT || pos + LOCAL_SIZE + name.length + extraLen + data.length > ZIP32_LIMIT || count >= 0xffff) {
      throw new RangeError('the archive would exceed 4 GiB or 65535 entries (zip64 is not written); save as .safetensors instead');
    }
    const local = new Uint8Array(LOCAL_SIZE + name.length + extraLen);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, 20, true); // version needed: 2.0
    lv.setUint16(6, 0x0800, true); // names are UTF-8
    lv.setUint16(8, 0, true); // stored
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extraLen, true);
    local.set(name, LOCAL_SIZE);
    const x = LOCAL_SIZE + name.length;
    local[x] = 0x46; // 'F'
    local[x + 1] = 0x42; // 'B'
    lv.setUint16(x + 2, padding, true);
    local.fill(0x5a, x + 4); // 'Z', as PyTorch pads

    const cen = new Uint8Array(CENTRAL_SIZE + name.length);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, 20, true); // made by
    cv.setUint16(6, 20, true); // needed
    cv.setUint16(8, 0x0800, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, pos, true);
    cen.set(name, CENTRAL_SIZE);
    central.push(cen);

    yield local;
    yield data;
    pos += local.length + data.length;
    count++;
  }
  const cdOffset = pos;
  let cdSize = 0;
  for (const c of central) {
    yield c;
    cdSize += c.length;
  }
  if (cdOffset + cdSize > ZIP32_LIMIT) throw new RangeError('the archive would exceed 4 GiB (zip64 is not written); save as .safetensors instead');
  const eocd = new Uint8Array(EOCD_SIZE);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, count, true);
  ev.setUint16(10, count, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, cdOffset, true);
  yield eocd;
}
