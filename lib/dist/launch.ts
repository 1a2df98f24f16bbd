// The launcher (`sdd-torch launch`, like torchrun): starts nprocPerNode workers on this node with
// the rendezvous environment set, forwards signals, and when one worker fails stops the others
// (SIGTERM, then SIGKILL after a grace period) so nothing hangs and nothing is left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import readline from 'node:readline';
import { checkInteger, checkKnownKeys, checkOptions, invalidParameterError } from '../core/errors.js';

export interface LaunchOptions {
  /** workers on this node */
  nprocPerNode: number;
  /** nodes in the job (default 1) */
  nnodes?: number;
  /** this node's index (default 0) */
  nodeRank?: number;
  /** rank 0's address (default 127.0.0.1) */
  masterAddr?: string;
  /** default 29500 */
  masterPort?: number;
  /** the worker command: executable and arguments (e.g. [process.execPath, 'train.mjs']) */
  command: string[];
  /** extra environment for every worker */
  env?: Record<string, string>;
  /** intra-op threads per worker (default: this machine's CPUs / nprocPerNode, at least 1) */
  threadsPerWorker?: number;
  /** after a failure, how long the others get to exit on SIGTERM before SIGKILL (default 5000 ms) */
  graceMs?: number;
  /** where the launcher reports (default: stderr) */
  log?: (line: string) => void;
  /** workers other than local rank 0 write through this, each line prefixed "[rank N] " (default: the launcher's stdout/stderr) */
  output?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

export interface LaunchResult {
  /**
   * 0 when every worker succeeded, else the first failure's exit code (128 + signal number for a
   * signal); after a forwarded signal that the workers obeyed, their code (SIGTERM: 143)
   */
  exitCode: number;
  /** per local rank: its pid, exit code and signal */
  workers: { rank: number; pid: number; code: number | null; signal: NodeJS.Signals | null }[];
  /** the first worker that failed, if any */
  failed?: { rank: number; code: number | null; signal: NodeJS.Signals | null };
}

const KEYS = ['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'command', 'env', 'threadsPerWorker', 'graceMs', 'log', 'output'] as const;

function pipeLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, prefix: string): void {
  readline.createInterface({ input: from, crlfDelay: Infinity }).on('line', (l) => to.write(`${prefix}${l}\n`));
}

/** The launch options, checked, with their defaults. */
interface Settings {
  nproc: number; nnodes: number; nodeRank: number; masterAddr: string; masterPort: number; command: string[];
  env: Record<string, string> | undefined; threads: number; graceMs: number; log: (line: string) => void;
  out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

function settings(options: LaunchOptions): Settings {
  const o = checkOptions('launch options', options);
  checkKnownKeys('launch options', o, KEYS);
  const nproc = checkInteger('launch: nprocPerNode', o.nprocPerNode, 1);
  const nnodes = checkInteger('launch: nnodes', o.nnodes ?? 1, 1);
  const nodeRank = checkInteger('launch: nodeRank', o.nodeRank ?? 0, 0, nnodes - 1);
  const masterPort = checkInteger('launch: masterPort', o.masterPort ?? 29500, 1, 65535);
  const masterAddr = (o.masterAddr as string | undefined) ?? '127.0.0.1';
  const command = o.command as string[];
  if (!Array.isArray(command) || command.length === 0 || command.some((c) => typeof c !== 'string')) {
    throw invalidParameterError('launch: command', 'a non-empty array of strings (the worker executable and its arguments)', command);
  }
  const threads = checkInteger('launch: threadsPerWorker', o.threadsPerWorker ?? Math.max(1, Math.floor(os.availableParallelism() / nproc)), 1);
  const graceMs = checkInteger('launch: graceMs', o.graceMs ?? 5000, 0);
  const log = (o.log as ((l: string) => void) | undefined) ?? ((l: string) => process.stderr.write(`${l}\n`));
  const out = (o.output as LaunchOptions['output']) ?? { stdout: process.stdout, stderr: process.stderr };
  return { nproc, nnodes, nodeRank, masterAddr, masterPort, command, env: o.env as Record<string, string> | undefined, threads, graceMs, log, out };
}

/** The rendezvous environment of one worker (torchrun's variables). */
function workerEnv(s: Settings, local: number, rank: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...s.env,
    RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(s.nproc * s.nnodes), LOCAL_WORLD_SIZE: String(s.nproc),
    GROUP_RANK: String(s.nodeRank), NODE_RANK: String(s.nodeRank), MASTER_ADDR: s.masterAddr, MASTER_PORT: String(s.masterPort),
    SDD_TORCH_LAUNCHER_PID: String(process.pid),
    SDD_TORCH_THREADS: process.env.SDD_TORCH_THREADS ?? String(s.threads),
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(s.threads),
  };
}

const ignore = () => {};

/** The workers of one launch: started together, watched, stopped together. */
class Workers {
  readonly #s: Settings;
  readonly #resolve: (r: LaunchResult) => void;
  readonly #children: ChildProcess[] = [];
  readonly #workers: LaunchResult['workers'] = [];
  #failed: LaunchResult['failed'];
  #running: number;
  #stopping = false;
  #killTimer: NodeJS.Timeout | undefined;
  // Ctrl-C / SIGTERM / SIGHUP to the launcher: forwarded to every worker, once per signal received
  // (they are not in the terminal's foreground process group, so they would not get Ctrl-C twice).
  // A Trainer worker finishes its step, rank 0 checkpoints, and each exits with 128 + the signal's
  // number: that is an orderly stop, not a failure that should stop the others (a second signal
  // from the launcher would make them quit at once). Forwarding again is the user's force-quit.
  readonly #forwarded = new Set<NodeJS.Signals>();
  readonly #handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => [sig, () => this.#forward(sig)] as const);
  // the launcher's own exit (an exception, process.exit) takes the workers with it
  readonly #onExit = () => this.#signalAll('SIGKILL');

  constructor(s: Settings, resolve: (r: LaunchResult) => void) {
    this.#s = s;
    this.#resolve = resolve;
    this.#running = s.nproc;
    for (const [sig, h] of this.#handlers) process.on(sig, h);
    process.on('exit', this.#onExit);
    for (let local = 0; local < s.nproc; local++) this.#start(local);
  }

  #signalAll(sig: NodeJS.Signals): void {
    for (const c of this.#children) {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
      // each worker leads its own process group: its children get the signal too
      try { process.kill(-c.pid, sig); } catch { try { c.kill(sig); } catch { /* already gone */ } }
    }
  }

  #stopOthers(why: string): void {
    if (this.#stopping) return;
    this.#stopping = true;
    const others = this.#children.filter((c) => c.exitCode === null && c.signalCode === null).length;
    if (others > 0) this.#s.log(`sdd-torch launch: ${why}; stopping the other ${others} worker(s)`);
    this.#signalAll('SIGTERM');
    this.#killTimer = setTimeout(() => this.#signalAll('SIGKILL'), this.#s.graceMs);
    this.#killTimer.unref();
  }

  #forward(sig: NodeJS.Signals): void {
    this.#forwarded.add(sig);
    // SIGHUP: the terminal is gone; writing to it fails (EIO), which must not end the launcher (and its workers)
    if (sig === 'SIGHUP') for (const st of [process.stdout, process.stderr]) if (st.listenerCount('error') === 0) st.on('error', ignore);
    this.#s.log(`sdd-torch launch: ${sig} received, forwarding to ${this.#running} worker(s)`);
    this.#signalAll(sig);
  }

  /**
   * After a forwarded signal, exit code 128 + its number (or death by it) is a worker's orderly stop
   * (rank 0 may still be writing its checkpoint): not a failure that should stop the others.
   */
  #orderly(code: number | null, signal: NodeJS.Signals | null): boolean {
    return (signal !== null && this.#forwarded.has(signal)) || [...this.#forwarded].some((s) => code === 128 + (os.constants.signals[s] ?? 0));
  }

  /** The first failure stops the others. */
  #check(rank: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (code !== 0 && !this.#orderly(code, signal) && !this.#failed && !this.#stopping) {
      this.#failed = { rank, code, signal };
      this.#stopOthers(`rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
    }
  }

  #start(local: number): void {
    const s = this.#s;
    const rank = s.nodeRank * s.nproc + local;
    const child = spawn(s.command[0]!, s.command.slice(1), {
      env: workerEnv(s, local, rank), detached: true,
      stdio: local === 0 ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    if (local !== 0) {
      pipeLines(child.stdout!, s.out.stdout, `[rank ${rank}] `);
      pipeLines(child.stderr!, s.out.stderr, `[rank ${rank}] `);
    }
    this.#children.push(child);
    const record = { rank, pid: child.pid ?? -1, code: null as number | null, signal: null as NodeJS.Signals | null };
    this.#workers.push(record);
    let closed = false;
    // 'exit' names the first failure (a rank's pipes may close later than its peers react to its death)
    child.on('exit', (code, signal) => this.#check(rank, code, signal));
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      if (closed) return;
      closed = true;
      record.code = code;
      record.signal = signal;
      this.#running--;
      this.#check(rank, code, signal);
      if (this.#running === 0) this.#finish();
    };
    child.on('close', onClose);
    child.on('error', (e) => {
      s.log(`sdd-torch launch: could not start rank ${rank} (${s.command[0]}): ${e.message}`);
      if (child.pid === undefined) onClose(127, null);
    });
  }

  /** Every worker is gone: the listeners off, and the result. */
  #finish(): void {
    if (this.#killTimer) clearTimeout(this.#killTimer);
    for (const [sig, h] of this.#handlers) process.off(sig, h);
    process.off('exit', this.#onExit);
    const workers = this.#workers;
    // a failure names its rank; workers stopped by a forwarded signal only set the exit code (e.g. 143)
    const firstBad = this.#failed ?? workers.find((w) => w.code !== 0 && !this.#orderly(w.code, w.signal));
    const first = firstBad ?? workers.find((w) => w.code !== 0);
    const exitCode = !first ? 0 : first.code ?? 128 + (os.constants.signals[first.signal!] ?? 0);
    this.#resolve({ exitCode, workers, failed: firstBad ? { rank: firstBad.rank, code: firstBad.code, signal: firstBad.signal } : undefined });
  }
}

/** Runs the workers of one node to completion. */
export function launch(options: LaunchOptions): Promise<LaunchResult> {
  const s = settings(options);
  return new Promise((resolve) => { new Workers(s, resolve); });
}
