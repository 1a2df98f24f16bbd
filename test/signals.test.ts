// Stops that must not lose work: SIGTERM (docker stop, systemd, timeout, schedulers) and SIGHUP stop a
// run the way Ctrl-C does (finish the step, checkpoint, exit 128 + the signal's number), through the
// CLI, the library API and the launcher, and --resume then ends bit-exactly where an uninterrupted run
// does; a second signal quits at once; no listeners are left behind; and the temporary files of
// checkpoint writes cut short by kill -9 are removed on the next start, only when their writer is gone.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { waitForExit, waitForOutput, type ChildExit } from './helpers/child.js';
import { writeCifarRun } from './helpers/cifar.js';
import { presetPath } from './helpers/fixtures.js';
import { freePort } from './helpers/net.js';

const root = path.resolve(__dirname, '..');
const cliJs = path.join(root, 'dist', 'cli', 'main.js');
const worker = path.join(root, 'test', 'fixtures', 'signals', 'trainer.mjs');

/** The environment without a rank (the test may itself run under a launcher). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'SDD_TORCH_LAUNCHER_PID']) if (!(k in extra)) delete env[k];
  return env;
}

function start(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  return spawn(process.execPath, args, { cwd: opts.cwd ?? root, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs to the end; fails with the output if it does not exit 0. */
async function runOk(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<ChildExit> {
  const r = await waitForExit(start(args, opts), { timeoutMs: 300_000 });
  expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

/** The fixture's JSON result lines (one per rank), by rank. */
function results(stdout: string): { rank: number; interrupted: boolean; signal: string | null; epochs: number; position: { epoch: number; batch: number }; losses: number[]; listeners: Record<string, number>; params: string }[] {
  return stdout.split('\n').map((l) => l.replace(/^\[rank \d+\] /, '')).filter((l) => l.startsWith('{"rank"')).map((l) => JSON.parse(l)).sort((a, b) => a.rank - b.rank);
}


/** The model and optimizer tensors of a trainer checkpoint (not its metadata: savedAt differs). */
function weights(file: string): Record<string, sdd.Tensor> {
  const { tensors } = sdd.readSafetensors(file);
  for (const k of Object.keys(tensors)) if (!k.startsWith('model.') && !k.startsWith('optim.')) { tensors[k]!.dispose(); delete tensors[k]; }
  return tensors;
}

function expectSameWeights(fileA: string, fileB: string): void {
  const a = weights(fileA), b = weights(fileB);
  try {
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(a).some((k) => k.startsWith('optim.'))).toBe(true);
    for (const k of Object.keys(a)) expect(a[k]!.equal(b[k]!), `${k} differs`).toBe(true);
  } finally {
    sdd.dispose(a);
    sdd.dispose(b);
  }
}

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix));

describe('sdd-torch train: SIGTERM and SIGHUP stop like Ctrl-C', () => {
  let dir = '';
  let args: (out: string) => string[];
  beforeAll(async () => {
    dir = tmp('sdd-signals-cli-');
    await writeCifarRun(dir);
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    // 3 epochs of 8 steps: a signal after epoch 1 lands well inside the run
    args = (out) => [cliJs, 'train', '--config', config, '--set', 'SOLVER.EPOCHS=3', '--set', 'SOLVER.BATCH_SIZE=8', '--set', 'DATASET.TEST.BATCH_SIZE=16',
      '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--out', out, '--threads', '1', '--no-progress'];
    // the uninterrupted run the others must end up equal to
    await runOk(args('run-straight'), { cwd: dir });
  }, 300_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it.each([['SIGTERM', 143], ['SIGHUP', 129]] as const)('%s after epoch 1: finishes the step, checkpoints, exits %i; --resume ends bit-exactly like an uninterrupted run', async (sig, exitCode) => {
    const out = `run-${sig}`;
    const child = start(args(out), { cwd: dir });
    // fails at once (with the child's output) if it exits before finishing epoch 1
    await waitForOutput(child, /epoch 1\/3 /, { stream: 'stdout', timeoutMs: 240_000 });
    child.kill(sig);
    const { code, signal, stdout, stderr } = await waitForExit(child, { timeoutMs: 120_000 });
    expect({ code, signal }, stdout + stderr).toEqual({ code: exitCode, signal: null });
    expect(stderr).toContain(`${sig}: finishing the current step and writing a checkpoint`);
    expect(stdout).toMatch(new RegExp(`stopped \\(${sig}\\) at epoch 2, batch \\d+; checkpoint`));
    expect(stdout).toContain('(interrupted: resume with --resume)');
    expect(stdout).not.toMatch(/epoch 2\/3 /);
    expect(existsSync(path.join(dir, out, 'latest.safetensors'))).toBe(true);
    const resumed = await runOk([...args(out), '--resume'], { cwd: dir });
    expect(resumed.stdout).not.toMatch(/epoch 1\/3 /);
    expect(resumed.stdout).toMatch(/epoch 3\/3 .* test top1/);
    expectSameWeights(path.join(dir, 'run-straight', 'latest.safetensors'), path.join(dir, out, 'latest.safetensors'));
  }, 600_000);
});

describe('the Trainer (library API) in a child process', () => {
  let straight: ReturnType<typeof results>[number];
  beforeAll(async () => {
    const r = await runOk([worker, '-', 'fit'], { env: { EPOCHS: '2' } }); // '-': no run folder
    straight = results(r.stdout)[0]!;
    expect(straight.losses).toHaveLength(12);
  }, 120_000);

  it('SIGTERM: fit() returns { interrupted, signal: "SIGTERM" } after a checkpoint, removes its listeners; resume() continues bit-exactly', async () => {
    const dir = tmp('sdd-signals-api-');
    try {
      const child = start([worker, dir, 'fit'], { env: { EPOCHS: '2', DELAY_MS: '300' } });
      await waitForOutput(child, 'step 1.2', { stream: 'stdout', timeoutMs: 60_000 });
      child.kill('SIGTERM');
      const r = await waitForExit(child, { timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(143);
      const [first] = results(r.stdout);
      expect(first).toMatchObject({ interrupted: true, signal: 'SIGTERM', epochs: 0, listeners: { SIGINT: 0, SIGTERM: 0, SIGHUP: 0 } });
      expect(first!.position.epoch).toBe(1);
      expect(first!.position.batch).toBe(first!.losses.length);
      expect(first!.losses.length).toBeLessThan(6);
      expect(existsSync(path.join(dir, 'latest.safetensors'))).toBe(true);
      const resumed = results((await runOk([worker, dir, 'resume'], { env: { EPOCHS: '2' } })).stdout)[0]!;
      expect(resumed.interrupted).toBe(false);
      expect([...first!.losses, ...resumed.losses]).toEqual(straight.losses);
      expect(resumed.params).toBe(straight.params);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('a second signal while stopping quits at once with its own code', async () => {
    const dir = tmp('sdd-signals-twice-');
    try {
      // 3 s before each batch: the first signal is still waiting for its step when the second comes
      const child = start([worker, dir, 'fit'], { env: { EPOCHS: '2', DELAY_MS: '3000' } });
      await waitForOutput(child, 'step 1.0', { stream: 'stdout', timeoutMs: 60_000 });
      child.kill('SIGTERM');
      await waitForOutput(child, 'SIGTERM: finishing the current step', { stream: 'stderr', timeoutMs: 30_000 });
      child.kill('SIGHUP');
      const r = await waitForExit(child, { timeoutMs: 30_000 });
      expect(r.code, r.stdout + r.stderr).toBe(129);
      expect(results(r.stdout)).toHaveLength(0); // fit() never returned
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('stale temporary files of killed checkpoint writes are removed on start; live writers\' files, checkpoints and other files are kept', async () => {
    const dir = tmp('sdd-signals-stale-');
    try {
      await runOk([worker, dir, 'fit'], { env: { EPOCHS: '1' } });
      copyFileSync(path.join(dir, 'latest.safetensors'), path.join(dir, 'best.safetensors'));
      // a pid that was alive a moment ago and is no more (the writer killed mid-write)
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      expect(() => process.kill(dead, 0)).toThrow();
      const live = process.pid; // this test's process: alive while the child runs
      const stale = [`.latest.safetensors.${dead}.0123456789ab.tmp`, `.best.safetensors.${dead}.ba9876543210.tmp`];
      const kept = [
        `.latest.safetensors.${live}.abcdefabcdef.tmp`, // a live writer: may still be writing
        'notes.tmp', '.latest.safetensors.tmp', `latest.safetensors.${dead}.0123456789ab.tmp`, `.latest.safetensors.${dead}.xyz.tmp`, // not the writer's pattern
      ];
      for (const f of [...stale, ...kept]) writeFileSync(path.join(dir, f), Buffer.alloc(512 * 1024, 7));
      const r = await runOk([worker, dir, 'resume'], { env: { EPOCHS: '2' } });
      const left = readdirSync(dir);
      for (const f of stale) expect(left, f).not.toContain(f);
      for (const f of [...kept, 'latest.safetensors', 'best.safetensors', 'metrics.jsonl']) expect(left, f).toContain(f);
      for (const f of stale) expect(r.stdout).toContain(`sdd-torch: removed ${f} (0.5 MiB), the temporary file of a checkpoint write by process ${dead}, which is gone`);
      expect(r.stdout).not.toContain(`removed .latest.safetensors.${live}.`);
      expect(results(r.stdout)[0]).toMatchObject({ interrupted: false, epochs: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the launcher forwards SIGTERM', () => {
  it('to 2 Trainer workers: both stop after the same step, rank 0 checkpoints, the launcher exits 143; resume on 2 ranks ends like an uninterrupted run', async () => {
    const dir = tmp('sdd-signals-launch-');
    const launchArgs = async (out: string, mode: string) => [cliJs, 'launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--threads-per-worker', '1', worker, out, mode];
    try {
      const straight = results((await runOk(await launchArgs(path.join(dir, 'straight'), 'fit'), { env: { EPOCHS: '2' } })).stdout);
      expect(straight).toHaveLength(2);
      const out = path.join(dir, 'run');
      const child = start(await launchArgs(out, 'fit'), { env: { EPOCHS: '2', DELAY_MS: '300' } });
      await waitForOutput(child, 'step 1.1', { stream: 'stdout', timeoutMs: 120_000 });
      child.kill('SIGTERM');
      const r = await waitForExit(child, { timeoutMs: 120_000 });
      expect(r.code, r.stdout + r.stderr).toBe(143);
      expect(r.stderr).toContain('sdd-torch launch: SIGTERM received, forwarding to 2 worker(s)');
      expect(r.stderr).not.toContain('stopping the other'); // an orderly stop, not a failure
      expect(r.stderr).not.toContain('failed:');
      const ranks = results(r.stdout);
      expect(ranks).toHaveLength(2);
      for (const x of ranks) expect(x).toMatchObject({ interrupted: true, signal: 'SIGTERM', listeners: { SIGINT: 0, SIGTERM: 0, SIGHUP: 0 } });
      expect(ranks[1]!.position).toEqual(ranks[0]!.position);
      expect(ranks[0]!.position.epoch).toBe(1);
      expect(r.stdout.match(/stopped \((SIGTERM|stop on another rank)\) at epoch 1, batch \d+/g)).toHaveLength(1); // rank 0 reports
      expect(existsSync(path.join(out, 'latest.safetensors'))).toBe(true);
      const resumed = results((await runOk(await launchArgs(out, 'resume'), { env: { EPOCHS: '2' } })).stdout);
      for (const rank of [0, 1]) expect([...ranks[rank]!.losses, ...resumed[rank]!.losses], `rank ${rank}`).toEqual(straight[rank]!.losses);
      // rank 0's state is the checkpoint's (rank 1 resumes from it too: its own BatchNorm statistics are not saved)
      expect(resumed[0]!.params).toBe(straight[0]!.params);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
