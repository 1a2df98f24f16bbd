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

/** Runs the workers of one node to completion. */
export function launch(options: LaunchOptions): Promise<LaunchResult> {
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
  const worldSize = nproc * nnodes;

  return new Promise((resolve) => {
    const children: ChildProcess[] = [];
    const workers: LaunchResult['workers'] = [];
    let failed: LaunchResult['failed'];
    let running = nproc;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;

    const signalAll = (sig: NodeJS.Signals) => {
      for (const c of children) {
        if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
        // each worker leads its own process group: its children get the signal too
        try { process.kill(-c.pid, sig); } catch { try { c.kill(sig); } catch { /* already gone */ } }
      }
    };
    const stopOthers = (why: string) => {
      if (stopping) return;
      stopping = true;
      const others = children.filter((c) => c.exitCode === null && c.signalCode === null).length;
      if (others > 0) log(`sdd-torch launch: ${why}; stopping the other ${others} worker(s)`);
      signalAll('SIGTERM');
      killTimer = setTimeout(() => signalAll('SIGKILL'), graceMs);
      killTimer.unref();
    };
    // Ctrl-C / SIGTERM / SIGHUP to the launcher: forwarded to every worker, once per signal received
    // (they are not in the terminal's foreground process group, so they would not get Ctrl-C twice).
    // A Trainer worker finishes its step, rank 0 checkpoints, and each exits with 128 + the signal's
    // number: that is an orderly stop, not a failure that should stop the others (a second signal
    // from the launcher would make them quit at once). Forwarding again is the user's force-quit.
    const forwarded = new Set<NodeJS.Signals>();
    const ignore = () => {};
    const forward = (sig: NodeJS.Signals) => () => {
      forwarded.add(sig);
      // SIGHUP: the terminal is gone; writing to it fails (EIO), which must not end the launcher (and its workers)
      if (sig === 'SIGHUP') for (const st of [process.stdout, process.stderr]) if (st.listenerCount('error') === 0) st.on('error', ignore);
      log(`sdd-torch launch: ${sig} received, forwarding to ${running} worker(s)`);
      signalAll(sig);
    };
    // after a forwarded signal, exit code 128 + its number (or death by it) is a worker's orderly
    // stop (rank 0 may still be writing its checkpoint): not a failure that should stop the others
    const orderly = (code: number | null, signal: NodeJS.Signals | null) =>
      (signal !== null && forwarded.has(signal)) || [...forwarded].some((s) => code === 128 + (os.constants.signals[s] ?? 0));
    const onInt = forward('SIGINT'), onTerm = forward('SIGTERM'), onHup = forward('SIGHUP');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    // the launcher's own exit (an exception, process.exit) takes the workers with it
    const onExit = () => signalAll('SIGKILL');
    process.on('exit', onExit);

    for (let local = 0; local < nproc; local++) {
      const rank = nodeRank * nproc + local;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...(o.env as Record<string, string> | undefined),
        RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(worldSize), LOCAL_WORLD_SIZE: String(nproc),
        GROUP_RANK: String(nodeRank), NODE_RANK: String(nodeRank), MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort),
        SDD_TORCH_LAUNCHER_PID: String(process.pid),
        SDD_TORCH_THREADS: process.env.SDD_TORCH_THREADS ?? String(threads),
        OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(threads),
      };
      const child = spawn(command[0]!, command.slice(1), {
        env, detached: true,
        stdio: local === 0 ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      });
      if (local !== 0) {
        pipeLines(child.stdout!, out.stdout, `[rank ${rank}] `);
        pipeLines(child.stderr!, out.stderr, `[rank ${rank}] `);
      }
      children.push(child);
      const record = { rank, pid: child.pid ?? -1, code: null as number | null, signal: null as NodeJS.Signals | null };
      workers.push(record);
      let closed = false;
      // 'exit' names the first failure (a rank's pipes may close later than its peers react to its death)
      child.on('exit', (code, signal) => {
        if (code !== 0 && !orderly(code, signal) && !failed && !stopping) {
          failed = { rank, code, signal };
          stopOthers(`rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
        }
      });
      const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
        if (closed) return;
        closed = true;
        record.code = code;
        record.signal = signal;
        running--;
        if (code !== 0 && !orderly(code, signal) && !failed && !stopping) {
          failed = { rank, code, signal };
          stopOthers(`rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
        }
        if (running === 0) {
          if (killTimer) clearTimeout(killTimer);
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          process.off('SIGHUP', onHup);
          process.off('exit', onExit);
          // a failure names its rank; workers stopped by a forwarded signal only set the exit code (e.g. 143)
          const firstBad = failed ?? workers.find((w) => w.code !== 0 && !orderly(w.code, w.signal));
          const first = firstBad ?? workers.find((w) => w.code !== 0);
          const exitCode = !first ? 0 : first.code ?? 128 + (os.constants.signals[first.signal!] ?? 0);
          resolve({ exitCode, workers, failed: firstBad ? { rank: firstBad.rank, code: firstBad.code, signal: firstBad.signal } : undefined });
        }
      };
      child.on('close', onClose);
      child.on('error', (e) => {
        log(`sdd-torch launch: could not start rank ${rank} (${command[0]}): ${e.message}`);
        if (child.pid === undefined) onClose(127, null);
      });
    }
  });
}
