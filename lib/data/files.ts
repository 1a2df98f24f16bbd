// Reading data set files: every failure is a DataError (core/errors.ts) that names the file and what
// was wrong with it.
import { readFile, stat } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { constants as bufferConstants } from 'node:buffer';
import { DataError } from '../core/errors.js';

const gunzipAsync = promisify(gunzip);

/** Reads a whole file; a missing or unreadable one becomes a DataError naming `what` it was. */
export async function readWhole(file: string, what: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DataError(file, `${what} not found`);
    if (err.code === 'EISDIR') throw new DataError(file, `expected ${what} but found a directory`);
    throw new DataError(file, `cannot read ${what}: ${err.message}`);
  }
}

/** 1f 8b: the gzip signature. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip data (on the libuv pool); a corrupt or truncated stream is a DataError. */
export async function gunzipFile(bytes: Uint8Array, file: string, maxOutput = 2 ** 32): Promise<Uint8Array> {
  try {
    const out = await gunzipAsync(bytes, { maxOutputLength: Math.min(maxOutput, bufferConstants.MAX_LENGTH) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message) ? 'truncated gzip data' : `corrupt gzip data (${err.message})`;
    throw new DataError(file, why);
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
