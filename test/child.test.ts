// test/helpers/child.ts: waits on spawned processes end as soon as the answer is known, and a
// failed wait says what the child did and printed.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ChildWaitError, waitForExit, waitForOutput } from './helpers/child.js';

const node = (code: string) => spawn(process.execPath, ['-e', code]);

/** The rejection of `p`, and how long after the child's exit it came. */
async function rejection(p: Promise<unknown>, child: ReturnType<typeof spawn>): Promise<{ err: ChildWaitError; afterExitMs: number }> {
  let exitedAt = 0;
  child.once('exit', () => { exitedAt = Date.now(); });
  const err = await p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChildWaitError);
  return { err: err as ChildWaitError, afterExitMs: Date.now() - exitedAt };
}

describe('waitForOutput', () => {
  it('a child that exits at once without printing: rejects within a second, with its exit code', async () => {
    const t0 = Date.now();
    const child = node('process.exit(3)');
    const { err, afterExitMs } = await rejection(waitForOutput(child, 'epoch 1', { timeoutMs: 60_000 }), child);
    expect(afterExitMs).toBeLessThan(1000);
    expect(Date.now() - t0).toBeLessThan(10_000); // far from the 60 s timeout
    expect(err.code).toBe(3);
    expect(err.message).toContain('waiting for "epoch 1" on stdout/stderr: the child exited with code 3 before printing it');
    expect(err.message).toMatch(/--- stdout ---\n\(nothing\)\n--- stderr ---\n\(nothing\)/);
  });

  it('a child that prints something else and fails: the message carries its stdout and stderr', async () => {
    const child = node('console.log("loading config"); console.error("Error: no such file teacher.safetensors"); process.exit(1)');
    const { err, afterExitMs } = await rejection(waitForOutput(child, /run folder/, { timeoutMs: 60_000 }), child);
    expect(afterExitMs).toBeLessThan(1000);
    expect(err.message).toContain('exited with code 1 before printing it');
    expect(err.message).toContain('--- stdout ---\nloading config');
    expect(err.message).toContain('--- stderr ---\nError: no such file teacher.safetensors');
    expect(err.stdout).toBe('loading config\n');
    expect(err.message).toContain(process.execPath);
  });

  it('a child killed by a signal: the message names the signal', async () => {
    const child = node('process.kill(process.pid, "SIGTERM"); setTimeout(() => {}, 10_000)');
    const { err } = await rejection(waitForOutput(child, 'never', { timeoutMs: 60_000 }), child);
    expect(err.signal).toBe('SIGTERM');
    expect(err.message).toContain('was killed by signal SIGTERM before printing it');
  });

  it('a child that prints: resolves with the output, and keeps collecting for waitForExit', async () => {
    const child = node('process.stdout.write("run folder: x\\n"); setTimeout(() => { console.log("bye"); process.exit(0); }, 200)');
    const out = await waitForOutput(child, 'run folder', { timeoutMs: 30_000 });
    expect(out.stdout).toContain('run folder: x');
    const r = await waitForExit(child, { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('run folder: x\nbye\n');
  });

  it('output printed just before exiting still counts; regex, stream and predicate forms work', async () => {
    const child = node('console.error("epoch 1 done"); console.log("ok"); process.exit(0)');
    await expect(waitForOutput(child, /epoch \d+/g, { stream: 'stderr', timeoutMs: 30_000 })).resolves.toMatchObject({ stderr: 'epoch 1 done\n' });
    await expect(waitForOutput(child, (o) => o.stdout.includes('ok'), { timeoutMs: 30_000 })).resolves.toMatchObject({ stdout: 'ok\n' });
    await expect(waitForOutput(child, 'epoch 1', { stream: 'stdout', timeoutMs: 30_000 })).rejects.toThrow(/exited with code 0 before printing it/);
  });

  it('a child that stays silent: rejects after timeoutMs with its output and kills it', async () => {
    const child = node('console.log("started"); setInterval(() => {}, 1000)');
    const t0 = Date.now();
    const err = await waitForOutput(child, 'epoch 1', { timeoutMs: 1500 }).catch((e: ChildWaitError) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((err as Error).message).toContain('timed out after 1500 ms; the child was still running (now killed with SIGKILL)');
    expect((err as Error).message).toContain('--- stdout ---\nstarted');
    const r = await waitForExit(child, { timeoutMs: 10_000 });
    expect(r.signal).toBe('SIGKILL');
  });

  it('a command that cannot start: rejects at once naming the error', async () => {
    const child = spawn('/nonexistent/sdd-torch-test-command', []);
    await expect(waitForOutput(child, 'x', { timeoutMs: 30_000 })).rejects.toThrow(/the child process failed: spawn \/nonexistent\/sdd-torch-test-command ENOENT/);
  });
});

describe('waitForExit', () => {
  it('resolves for a child that has already exited, and times out (killing it) for one that does not', async () => {
    const done = node('process.exit(5)');
    await new Promise((r) => done.once('exit', r));
    await expect(waitForExit(done, { timeoutMs: 10_000 })).resolves.toMatchObject({ code: 5, signal: null });
    const hung = node('setInterval(() => {}, 1000)');
    await expect(waitForExit(hung, { timeoutMs: 500 })).rejects.toThrow(/waiting for the child to exit: timed out after 500 ms; the child was still running \(now killed with SIGKILL\)/);
    await expect(waitForExit(hung, { timeoutMs: 10_000 })).resolves.toMatchObject({ signal: 'SIGKILL' });
  });
});
