// Atomic file replacement: write a temporary file in the target's directory, fsync it, rename it
// over the target, fsync the directory. Readers see the old file or the new one, never a torn one,
// whatever happens mid-write (crash, kill, full disk): the worst case is a stray temporary file.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

function tempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Makes the rename itself durable; some platforms and file systems cannot fsync a directory. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `chunks` to `file` atomically (see the file comment). */
export function writeFileAtomicSync(file: string, chunks: Iterable<Uint8Array>): void {
  const tmp = tempPath(file);
  const fd = openSync(tmp, 'wx', 0o666);
  let closed = false;
  try {
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, file);
  } catch (e) {
    if (!closed) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  syncDirectory(path.dirname(file));
}

/** Async version of writeFileAtomicSync: the writes do not block the event loop. */
export async function writeFileAtomic(file: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const tmp = tempPath(file);
  const handle = await open(tmp, 'wx', 0o666);
  let closed = false;
  try {
    for await (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(tmp, file);
  } catch (e) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  syncDirectory(path.dirname(file));
}
