// Random access to checkpoint bytes, from memory or from an open file. Readers ask for ranges, so a
// multi-gigabyte checkpoint need not be read into one buffer (Node caps those at 2 GiB).
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `position` (the caller checks the range). May alias the source: treat as read-only. */
  read(position: number, length: number): Uint8Array;
}

export function bufferSource(input: Uint8Array): ByteSource {
  // A plain Uint8Array view: Buffer's slice() aliases instead of copying, a trap for callers.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return {
    size: bytes.length,
    read(position, length) {
      if (position < 0 || length < 0 || position + length > bytes.length) throw new RangeError('read out of range');
      return bytes.subarray(position, position + length);
    },
  };
}

/** Reads from an open file descriptor, which the caller closes. */
export function fileSource(fd: number, size: number): ByteSource {
  return {
    size,
    read(position, length) {
      if (position < 0 || length < 0 || position + length > size) throw new RangeError('read out of range');
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, position + done);
        if (n === 0) throw new RangeError('file shrank while reading');
        done += n;
      }
      return out;
    },
  };
}

/** Files up to this size are read into memory at once; larger ones are read range by range. */
const IN_MEMORY_LIMIT = 1 << 30;

/** Runs `fn` on the bytes of a path (or of a buffer); the file is closed afterwards. */
export function withSourceSync<T>(input: string | Uint8Array, fn: (source: ByteSource) => T): T {
  if (typeof input !== 'string') return fn(bufferSource(input));
  const fd = openSync(input, 'r');
  try {
    const size = fstatSync(fd).size;
    return fn(size <= IN_MEMORY_LIMIT ? bufferSource(readFileSync(fd)) : fileSource(fd, size));
  } finally {
    closeSync(fd);
  }
}

/** withSourceSync, reading small files without blocking the event loop. */
export async function withSource<T>(input: string | Uint8Array, fn: (source: ByteSource) => T): Promise<T> {
  if (typeof input !== 'string') return fn(bufferSource(input));
  const handle = await open(input, 'r');
  try {
    const { size } = await handle.stat();
    return fn(size <= IN_MEMORY_LIMIT ? bufferSource(await handle.readFile()) : fileSource(handle.fd, size));
  } finally {
    await handle.close();
  }
}
