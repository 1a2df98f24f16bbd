// Atomic file replacement: write a temporary file in the target's directory, fsync it, rename it
// over the target, fsync the directory. Readers see the old file or the new one, never a torn one,
// whatever happens mid-write (crash, kill, full disk): the worst case is a stray temporary file,
// which removeStaleTempFiles() (called by the Trainer when it starts) cleans up once its writer is gone.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

function tempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** tempPath()'s names: `.<target name>.<writer pid>.<12 hex digits>.tmp`. */
export const TEMP_NAME = /^\.(.+)\.(\d+)\.([0-9a-f]{12})\.tmp$/;

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StaleTempFile { file: string; bytes: number; pid: number }

/**
 * Removes the temporary files that killed writers left in `dir` (a kill -9 mid-write leaves one
 * per write): only names of tempPath()'s pattern, and only when the pid in the name is not a live
 * process on this machine (a live pid is kept: it may still be writing, or be a reused pid; a later
 * call gets it). Targets (latest.safetensors, ...) and anything else are never touched. Returns what
 * was removed; files that vanish or cannot be removed meanwhile are skipped.
 */
export function removeStaleTempFiles(dir: string): StaleTempFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: StaleTempFile[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    const file = path.join(dir, name);
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      unlinkSync(file);
      removed.push({ file, bytes: st.size, pid });
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
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
