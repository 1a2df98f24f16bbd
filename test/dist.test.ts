// sdd.dist on loopback (Gloo): collectives against hand-computed values with 2 and 3 processes, DDP
// against one process on the concatenated batch, failures that must end every rank within the
// timeout (killed rank, hung rank, launcher clean-up), bad input, two network namespaces as two
// machines, and `sdd-torch train --nproc-per-node 2`.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as sdd from '../lib/index.js';
import { waitForExit, waitForOutput } from './helpers/child.js';
import { writeCifar100, writeCifarRun } from './helpers/cifar.js';
import { presetPath } from './helpers/fixtures.js';
import { freePort } from './helpers/net.js';

const root = path.resolve(__dirname, '..');
const cliJs = path.join(root, 'dist', 'cli', 'main.js');
const fixtures = path.join(root, 'test', 'fixtures', 'dist');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number; pid: number }

/** Runs a command to completion (killed after limitMs), collecting its output. */
function run(cmd: string, args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; limitMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const env = { ...process.env, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(cmd, args, { env, cwd: opts.cwd ?? root });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.limitMs ?? 120_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, pid: child.pid ?? -1 }); });
  });
}


const NO_RANK = { RANK: undefined, WORLD_SIZE: undefined, LOCAL_RANK: undefined, MASTER_ADDR: undefined, MASTER_PORT: undefined };

/** `sdd-torch launch` with the worker; every output line of every rank, prefix removed, JSON parsed where it is JSON. */
async function launch(nproc: number, worker: string[], env: Record<string, string> = {}, limitMs = 120_000) {
  const port = await freePort();
  const r = await run(process.execPath, [cliJs, 'launch', '--nproc-per-node', String(nproc), '--master-port', String(port), '--threads-per-worker', '1', ...worker],
    { env: { ...NO_RANK, ...env }, limitMs });
  const lines = r.stdout.split('\n').map((l) => l.replace(/^\[rank \d+\] /, '')).filter(Boolean);
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { ...r, json };
}

/** Starts one process per rank directly (no launcher), each with its own environment. */
function startRanks(worldSize: number, script: string, args: string[], env: (rank: number) => Record<string, string>, port: number): Promise<Run[]> {
  return Promise.all(Array.from({ length: worldSize }, (_, rank) => run(process.execPath, [script, ...args], {
    env: { ...NO_RANK, RANK: String(rank), WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), ...env(rank) },
    limitMs: 60_000,
  })));
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('dist: the build and the samplers', () => {
  it('has Gloo (Debian: libgloo-dev, installed by npm install as root)', () => {
    expect(sdd.dist.availableBackends().gloo).toBe(true);
  });

  it('ShardSampler gives every test index to exactly one rank, no padding', () => {
    for (const [n, W] of [[10, 3], [2, 3], [0, 2], [9, 3]] as const) {
      const all = Array.from({ length: W }, (_, rank) => Array.from(new sdd.data.ShardSampler(n, { rank, worldSize: W }).indices(0))).flat();
      expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(() => new sdd.data.ShardSampler(4, { rank: 3, worldSize: 3 })).toThrow('options.rank');
  });
});

describe.each([2, 3])('dist: collectives with %i processes', (W) => {
  it('allReduce (sum, max on int64, min, product, avg), broadcast, allGather, reduceScatter, barrier match values worked out by hand', async () => {
    const r = await launch(W, [path.join(fixtures, 'collectives-worker.mjs')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json).toHaveLength(W);
    for (const o of r.json.sort((a, b) => a.rank - b.rank)) {
      const k = o.rank;
      expect(o.worldSize).toBe(W);
      expect(o.backend).toBe('gloo');
      expect(o.sum).toEqual([W * (W + 1) / 2, 10 * W * (W + 1) / 2]);
      expect(o.max).toEqual([W, -1]);
      expect(o.min).toEqual([1]);
      expect(o.product).toEqual([Array.from({ length: W }, (_, i) => i + 2).reduce((a, b) => a * b, 1)]);
      expect(o.avg).toEqual([(W - 1) / 2, W - 1]);
      expect(o.broadcast).toEqual([[W - 1, W - 1, W - 1], Array(4).fill(10 * (W - 1))]);
      expect(o.allGather).toEqual(Array.from({ length: W }, (_, i) => [i, i * i]));
      expect(o.reduceScatter).toEqual([W * (W - 1) / 2 + W * k, W]);
      expect(o.errors.nonContiguous).toContain('allReduce: collectives need a contiguous tensor (call .contiguous())');
      expect(o.errors.disposed).toBe('dist.allReduce: the tensor was disposed');
      expect(o.errors.op).toContain('one of sum, avg, product, min, max');
      expect(o.errors.src).toContain(`an integer in [0, ${W - 1}]`);
    }
    expect(r.stderr.match(/after destroy: dist.barrier: the process group was destroyed/g)).toHaveLength(W);
  }, 60_000);
});

describe('dist: DistributedDataParallel', () => {
  let single: Record<string, number[]>;
  beforeAll(async () => {
    const r = await run(process.execPath, [path.join(fixtures, 'ddp-worker.mjs'), '5', '12'], { env: NO_RANK });
    expect(r.code, r.stderr).toBe(0);
    single = JSON.parse(r.stdout.trim()).params;
  }, 60_000);

  it.each([2, 3])('%i ranks on shards give the parameters of one process on the whole batch (|Δ| ≤ 1e-6), identical on every rank', async (W) => {
    const r = await launch(W, [path.join(fixtures, 'ddp-worker.mjs'), '5', '12']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json).toHaveLength(W);
    const ranks = r.json.sort((a, b) => a.rank - b.rank);
    for (const o of ranks) {
      expect(o.params).toEqual(ranks[0].params); // replicas stay bit-identical
      expect(o.sync.steps).toBe(5);
      expect(o.buckets).toBeGreaterThan(1); // the tiny bucket size splits the gradients
      expect(o.sync.overlapped).toBe(5 * o.buckets); // every bucket's all-reduce started during backward
    }
    let maxDiff = 0;
    for (const [k, v] of Object.entries(single)) {
      const d = ranks[0].params[k] as number[];
      expect(d, k).toHaveLength(v.length);
      for (let i = 0; i < v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(d[i]! - v[i]!));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    // the student started from different weights per rank (seed 2 + rank): the broadcast made them one
  }, 60_000);

  it('with BatchNorm converted to SyncBatchNorm, 3 ranks match one process on the whole batch (parameters and running statistics, |Δ| ≤ 1e-6)', async () => {
    const one = await run(process.execPath, [path.join(fixtures, 'ddp-worker.mjs'), '5', '12', 'syncbn'], { env: NO_RANK });
    expect(one.code, one.stderr).toBe(0);
    const ref = JSON.parse(one.stdout.trim()).params as Record<string, number[]>;
    expect(Object.keys(ref)).toEqual(expect.arrayContaining(['bn.weight', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']));
    const r = await launch(3, [path.join(fixtures, 'ddp-worker.mjs'), '5', '12', 'syncbn']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const o of r.json) {
      for (const [k, v] of Object.entries(ref)) {
        const d = o.params[k] as number[];
        const maxDiff = Math.max(...v.map((x, i) => Math.abs(x - d[i]!)));
        expect(maxDiff, `rank ${o.rank} ${k}`).toBeLessThanOrEqual(1e-6);
      }
    }
    // per-rank BatchNorm (no conversion) would see only 4 images per step: its running mean differs
    const perRank = await launch(3, [path.join(fixtures, 'ddp-worker.mjs'), '5', '12', 'bn-local']);
    expect(perRank.code, perRank.stderr).toBe(0);
    const rm = perRank.json[0].params['bn.running_mean'] as number[];
    expect(Math.max(...ref['bn.running_mean']!.map((x, i) => Math.abs(x - rm[i]!)))).toBeGreaterThan(1e-4);
  }, 90_000);

  it('a hand-written loop (backward, await averageGradients(), step) matches one process too', async () => {
    const one = await run(process.execPath, [path.join(fixtures, 'ddp-worker.mjs'), '4', '12', 'manual'], { env: NO_RANK });
    expect(one.code, one.stderr).toBe(0);
    const ref = JSON.parse(one.stdout.trim()).params as Record<string, number[]>;
    const r = await launch(2, [path.join(fixtures, 'ddp-worker.mjs'), '4', '12', 'manual']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const o of r.json) {
      expect(o.sync.overlapped).toBe(0); // no beforeBackward(): everything exchanged after backward
      for (const [k, v] of Object.entries(ref)) expect(Math.max(...v.map((x, i) => Math.abs(x - (o.params[k] as number[])[i]!))), k).toBeLessThanOrEqual(1e-6);
    }
  }, 60_000);

  it('a rank with a different model is named, and every rank exits non-zero', async () => {
    const r = await launch(2, [path.join(fixtures, 'ddp-worker.mjs'), '2', '12', 'mismatch']);
    expect(r.code).not.toBe(0);
    // every rank sees the same gathered description (the launcher may stop rank 1 before it prints)
    expect(r.stderr).toMatch(/rank 0: dist: rank 1's model differs from rank 0's: 4 tensors with 170 values vs 4 tensors with 137 values — every rank must build the same model/);
  }, 60_000);
});

describe('dist: failures end every rank within the timeout', () => {
  it('a killed rank: the others fail their next collective and exit non-zero', async () => {
    const port = await freePort();
    const runs = await startRanks(3, path.join(fixtures, 'fail-worker.mjs'), [], () => ({ TEST_FAIL_RANK: '2', TEST_FAIL_HOW: 'kill', TEST_TIMEOUT_MS: '8000' }), port);
    expect(runs[2]!.signal).toBe('SIGKILL');
    for (const r of runs.slice(0, 2)) {
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout).toMatch(/failed after \d+ ms: allReduce failed: /);
      expect(r.ms).toBeLessThan(8000 + 10_000);
    }
  }, 60_000);

  it('a hung rank: the others time out after timeoutMs with a message that says so', async () => {
    const port = await freePort();
    const env = (rank: number) => ({ ...NO_RANK, RANK: String(rank), WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
      TEST_FAIL_RANK: '1', TEST_FAIL_HOW: 'hang', TEST_TIMEOUT_MS: '3000' });
    const hung = spawn(process.execPath, [path.join(fixtures, 'fail-worker.mjs')], { env: Object.fromEntries(Object.entries({ ...process.env, ...env(1) }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv, stdio: 'ignore' });
    try {
      const others = await Promise.all([0, 2].map((rank) => run(process.execPath, [path.join(fixtures, 'fail-worker.mjs')], { env: env(rank), limitMs: 60_000 })));
      for (const r of others) {
        expect(r.code, r.stdout + r.stderr).toBe(2);
        expect(r.stdout).toMatch(/allReduce failed: .*(imed out|Connection closed)/);
        expect(r.ms).toBeLessThan(3000 + 15_000);
      }
      expect(others.some((r) => /imed out/.test(r.stdout) && r.stdout.includes('a rank did not reach this collective'))).toBe(true);
    } finally {
      hung.kill('SIGKILL');
    }
  }, 60_000);

  it('the launcher stops the other workers when one fails (SIGTERM, then SIGKILL) and leaves no process behind', async () => {
    // rank 1 exits with code 7 before joining; ranks 0 and 2 would wait 60 s for it: only the launcher can end them sooner
    const r = await launch(3, [path.join(fixtures, 'fail-worker.mjs')], { TEST_EXIT_BEFORE_INIT: '1', TEST_TIMEOUT_MS: '60000' }, 60_000);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('sdd-torch launch: rank 1 exited with code 7; stopping the other');
    expect(r.stderr).toContain('sdd-torch launch: failed: rank 1 exited with code 7');
    expect(r.ms).toBeLessThan(30_000);
    const pids = [...r.stdout.matchAll(/rank \d ready pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(alive(pid), `worker ${pid} still running`).toBe(false);
  }, 60_000);

  it('a worker whose launcher is gone exits by itself (no orphans)', async () => {
    const port = await freePort();
    // a launcher stand-in: a shell that starts a worker in the background and is then killed
    const sh = spawn('sh', ['-c', `SDD_TORCH_LAUNCHER_PID=$$ RANK=0 WORLD_SIZE=1 MASTER_PORT=${port} TEST_HANG_RANK=0 TEST_FAIL_AFTER=0 "${process.execPath}" "${path.join(fixtures, 'fail-worker.mjs')}" & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(/^(\d+)$/m.exec((await waitForOutput(sh, /^\d+$/m, { timeoutMs: 10_000 })).stdout)![1]);
    await new Promise((res) => setTimeout(res, 3000));
    expect(alive(pid)).toBe(true);
    sh.kill('SIGKILL');
    const t0 = Date.now();
    while (alive(pid) && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 200));
    const gone = !alive(pid);
    if (!gone) process.kill(pid, 'SIGKILL');
    expect(gone, 'the worker outlived its launcher by 10 s').toBe(true);
  }, 30_000);
});

describe('dist: bad input gets a clear error within the timeout', () => {
  it('a rank that never arrives', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(sdd.dist.initProcessGroup({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 1500 }))
      .rejects.toThrow(/rank 0 of 2.*(rank 0 waited for 1 other rank\(s\); a rank that never arrives|not every rank arrived within 1500 ms: a rank that never started or crashed)/s);
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 20_000);

  it('a port in use', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expect(sdd.dist.initProcessGroup({ rank: 0, worldSize: 1, masterPort: port, timeoutMs: 3000 }))
        .rejects.toThrow(/the port is taken by another program or an earlier run: choose another MASTER_PORT/);
    } finally {
      server.close();
    }
  }, 20_000);

  it('a rank out of range, a missing environment, bad options', async () => {
    await expect(sdd.dist.initProcessGroup({ rank: 2, worldSize: 2 })).rejects.toThrow('rank 2 is out of range for world size 2 (ranks are 0..1)');
    const saved = { RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE };
    delete process.env.RANK; delete process.env.WORLD_SIZE;
    try {
      await expect(sdd.dist.initProcessGroup()).rejects.toThrow(/the rank is unknown: start the processes with `npx sdd-torch launch --nproc-per-node N <script>`/);
    } finally {
      Object.assign(process.env, Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined)));
    }
    await expect(sdd.dist.initProcessGroup({ rank: 0, worldSize: 1, backend: 'mpi' as never })).rejects.toThrow("'gloo', 'nccl' or 'auto'");
    await expect(sdd.dist.initProcessGroup({ rank: 0, worldSize: 1, masterPort: 70000 })).rejects.toThrow(/masterPort/);
    await expect(sdd.dist.initProcessGroup({ rank: 0, worldSize: 1, retries: 3 } as never)).rejects.toThrow(/retries/);
    expect(() => sdd.dist.group()).toThrow('call await sdd.dist.initProcessGroup() first');
  });

  it('ranks that disagree on WORLD_SIZE', async () => {
    const port = await freePort();
    const runs = await startRanks(2, path.join(fixtures, 'fail-worker.mjs'), [], (rank) => ({ WORLD_SIZE: rank === 0 ? '2' : '3', TEST_TIMEOUT_MS: '3000' }), port);
    expect(runs[1]!.code).not.toBe(0);
    expect(runs[1]!.stderr).toContain('WORLD_SIZE differs between ranks: rank 0 has 2, rank 1 has 3');
    expect(runs[0]!.code).not.toBe(0);
    expect(runs[0]!.ms).toBeLessThan(20_000);
  }, 60_000);

  it('the launcher names a missing script and bad counts', async () => {
    let r = await run(process.execPath, [cliJs, 'launch', '--nproc-per-node', '2', 'no-such-script.mjs'], { env: NO_RANK });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('launch: no-such-script.mjs does not exist');
    r = await run(process.execPath, [cliJs, 'launch', '--nproc-per-node', '0', path.join(fixtures, 'fail-worker.mjs')], { env: NO_RANK });
    expect(r.stderr).toContain('--nproc-per-node must be an integer >= 1 (got "0")');
    r = await run(process.execPath, [cliJs, 'launch', '--nproc-per-node', '2', '--nnodes', '2', '--node-rank', '2', path.join(fixtures, 'fail-worker.mjs')], { env: NO_RANK });
    expect(r.stderr).toContain('--node-rank 2 is out of range for --nnodes 2 (0..1)');
    r = await run(process.execPath, [cliJs, 'train', '--nproc-per-node', 'two'], { env: NO_RANK });
    expect(r.stderr).toContain('--nproc-per-node must be a positive integer (got "two")');
  }, 60_000);

  it('a one-process group works in this process and is destroyed cleanly', async () => {
    const g = await sdd.dist.initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 5000 });
    try {
      expect(sdd.dist.isInitialized()).toBe(true);
      expect([sdd.dist.rank(), sdd.dist.worldSize()]).toEqual([0, 1]);
      const t = sdd.tensor([1, 2, 3], { dtype: 'float32' });
      await sdd.dist.allReduce(t, 'avg');
      expect(Array.from(t.toTypedArray())).toEqual([1, 2, 3]);
      t.dispose();
    } finally {
      sdd.dist.destroyProcessGroup();
    }
    expect(sdd.dist.isInitialized()).toBe(false);
    await expect(g.barrier()).rejects.toThrow('the process group was destroyed');
  }, 20_000);
});

// Two "machines": two network namespaces joined by a veth pair, one rank in each, each on its own
// address. The namespaces' only other interface is their own loopback, so rank-to-rank traffic can
// only cross the veth pair; its byte counters show it did.
describe('dist: two network namespaces as two machines', () => {
  const tag = `sdd${process.pid % 100000}`;
  const A = `${tag}a`, B = `${tag}b`;
  let canNetns = false;
  let why = '';
  beforeAll(() => {
    const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
    const r = ip('netns', 'add', A);
    if (r.status !== 0) { why = (r.stderr || r.error?.message || 'ip netns add failed').trim(); return; }
    const steps = [
      ['netns', 'add', B],
      ['link', 'add', `${tag}va`, 'type', 'veth', 'peer', 'name', `${tag}vb`],
      ['link', 'set', `${tag}va`, 'netns', A], ['link', 'set', `${tag}vb`, 'netns', B],
      ['-n', A, 'addr', 'add', '10.231.7.1/24', 'dev', `${tag}va`], ['-n', B, 'addr', 'add', '10.231.7.2/24', 'dev', `${tag}vb`],
      ['-n', A, 'link', 'set', `${tag}va`, 'up'], ['-n', B, 'link', 'set', `${tag}vb`, 'up'],
      ['-n', A, 'link', 'set', 'lo', 'up'], ['-n', B, 'link', 'set', 'lo', 'up'],
    ];
    for (const s of steps) {
      const x = ip(...s);
      if (x.status !== 0) { why = `ip ${s.join(' ')}: ${x.stderr.trim()}`; return; }
    }
    canNetns = true;
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', A]);
    spawnSync('ip', ['netns', 'del', B]);
  });

  it('rank 0 at 10.231.7.1 and rank 1 at 10.231.7.2 run the collectives over the veth pair', async (ctx) => {
    if (!canNetns) {
      console.warn(`skipped: cannot make network namespaces here (${why}); run the tests as root with iproute2 installed`);
      ctx.skip();
    }
    const bytes = () => Number(spawnSync('ip', ['netns', 'exec', A, 'cat', `/sys/class/net/${tag}va/statistics/tx_bytes`], { encoding: 'utf8' }).stdout.trim());
    const before = bytes();
    const port = String(await freePort());
    const worker = path.join(fixtures, 'collectives-worker.mjs');
    const rankIn = (ns: string, rank: number) => run('ip', ['netns', 'exec', ns, process.execPath, worker], {
      env: { ...NO_RANK, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '10.231.7.1', MASTER_PORT: port, TEST_TIMEOUT_MS: '20000' }, limitMs: 60_000 });
    const [r0, r1] = await Promise.all([rankIn(A, 0), rankIn(B, 1)]);
    expect(r0.code, r0.stdout + r0.stderr).toBe(0);
    expect(r1.code, r1.stdout + r1.stderr).toBe(0);
    const o0 = JSON.parse(r0.stdout.trim().split('\n')[0]!), o1 = JSON.parse(r1.stdout.trim().split('\n')[0]!);
    expect([o0.bindAddr, o1.bindAddr]).toEqual(['10.231.7.1', '10.231.7.2']);
    expect(o0.sum).toEqual([3, 30]);
    expect(o1.allGather).toEqual([[0, 0], [1, 1]]);
    expect(bytes() - before).toBeGreaterThan(1000);
  }, 90_000);
});

describe('sdd-torch train --nproc-per-node 2', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sdd-ddp-cli-'));
    await writeCifarRun(dir);
    // a longer epoch for the Ctrl-C test (128 steps of 4), so the interrupt lands inside it
    mkdirSync(path.join(dir, 'data-long', 'cifar-100-binary'), { recursive: true });
    writeCifar100(path.join(dir, 'data-long', 'cifar-100-binary', 'train.bin'), 512, 3);
    writeCifar100(path.join(dir, 'data-long', 'cifar-100-binary', 'test.bin'), 32, 2);
  });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('runs a short SD-KD distillation on 2 ranks (SyncBatchNorm student): rank 0 alone writes, metrics cover both shards', async () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    const r = await run(process.execPath, [cliJs, 'train', '--config', config, '--nproc-per-node', '2', '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=16',
      '--set', 'DATASET.TEST.BATCH_SIZE=16', '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--out', 'run', '--limit-batches', '2', '--no-progress', '--sync-bn'],
    { cwd: dir, env: { ...NO_RANK, MASTER_PORT: String(await freePort()) }, limitMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('| 2 ranks (gloo), 8 images per rank per step');
    expect(r.stdout).toMatch(/epoch 1\/1 .* test top1/);
    expect(r.stdout).toMatch(/data parallel: 2 gradient exchanges/);
    expect(r.stdout).not.toContain('[rank 1] epoch'); // only rank 0 reports
    const metrics = readFileSync(path.join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics).toHaveLength(1); // one writer
    expect(metrics[0].test.count).toBe(32); // the test set split over both ranks, counted once
    expect(existsSync(path.join(dir, 'run', 'latest.safetensors'))).toBe(true);
    // resume on 2 ranks: every rank reads rank 0's checkpoint and continues with epoch 2
    const resumed = await run(process.execPath, [cliJs, 'train', '--config', config, '--nproc-per-node', '2', '--set', 'SOLVER.EPOCHS=2', '--set', 'SOLVER.BATCH_SIZE=16',
      '--set', 'DATASET.TEST.BATCH_SIZE=16', '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--out', 'run', '--limit-batches', '2', '--no-progress', '--resume'],
    { cwd: dir, env: { ...NO_RANK, MASTER_PORT: String(await freePort()) }, limitMs: 300_000 });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).not.toMatch(/epoch 1\/2/);
    expect(resumed.stdout).toMatch(/epoch 2\/2 .* test top1/);
    expect(readFileSync(path.join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch)).toEqual([1, 2]);
  }, 300_000);

  it('stored teacher outputs on 2 ranks: rank 0 computes the file once, both ranks train from it', async () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    const r = await run(process.execPath, [cliJs, 'train', '--config', config, '--nproc-per-node', '2', '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=16',
      '--set', 'DATASET.TEST.BATCH_SIZE=16', '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data', '--out', 'run-offline', '--limit-batches', '2', '--no-progress',
      '--no-augment', '--teacher-outputs', 'outputs-2ranks.safetensors'],
    { cwd: dir, env: { ...NO_RANK, MASTER_PORT: String(await freePort()) }, limitMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/data parallel: 2 gradient exchanges/);
    const stored = sdd.distillers.OfflineTeacher.load(path.join(dir, 'outputs-2ranks.safetensors'));
    expect(stored.length).toBe(64); // every sample of the training set, not one rank's shard
    stored.dispose();
    expect(readdirSync(dir).filter((f) => f.startsWith('.outputs-2ranks') || f.endsWith('.tmp'))).toEqual([]);
  }, 300_000);

  it('Ctrl-C to the launcher stops both ranks after the same step; rank 0 checkpoints; --resume finishes', async () => {
    const config = presetPath('cifar100/sdd_kd/res32x4_res8x4.yaml');
    const args = [cliJs, 'train', '--config', config, '--nproc-per-node', '2', '--set', 'SOLVER.EPOCHS=1', '--set', 'SOLVER.BATCH_SIZE=4',
      '--set', 'DATASET.TEST.BATCH_SIZE=16', '--teacher-checkpoint', 'teacher.safetensors', '--data', 'data-long', '--out', 'run-int', '--no-progress'];
    const env = { ...process.env, MASTER_PORT: String(await freePort()) } as NodeJS.ProcessEnv;
    for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR']) delete env[k];
    const child = spawn(process.execPath, args, { cwd: dir, env });
    // fails at once (with the launcher's output) if it exits before starting the run
    await waitForOutput(child, 'run folder', { stream: 'stdout', timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGINT');
    const { code, stdout, stderr } = await waitForExit(child, { timeoutMs: 120_000 });
    expect(code, stdout + stderr).toBe(130);
    expect(stderr).toContain('sdd-torch launch: SIGINT received, forwarding to 2 worker(s)');
    expect(stdout.match(/stopped \((SIGINT|stop on another rank)\) at epoch 1, batch \d+/g)).toHaveLength(1); // rank 0 reports
    expect(stderr).not.toContain('stopping the other');
    expect(existsSync(path.join(dir, 'run-int', 'latest.safetensors'))).toBe(true);
    const r = await run(process.execPath, [...args, '--resume'], { cwd: dir, env: { ...NO_RANK, MASTER_PORT: String(await freePort()) }, limitMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/epoch 1\/1 .* test top1/);
  }, 300_000);
});
