// `sdd-torch launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] <worker...>`
// and `sdd-torch train --nproc-per-node N ...`: start the workers of this node through dist.launch.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../../dist/launch.js';

export interface LaunchArgs {
  nprocPerNode: string;
  nnodes?: string;
  nodeRank?: string;
  masterAddr?: string;
  masterPort?: string;
  threadsPerWorker?: string;
}

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
const SUBCOMMANDS = new Set(['train', 'eval']);

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

/** The worker command line: an sdd-torch subcommand, a JS file run by this Node, or any executable. */
export function workerCommand(args: string[]): string[] {
  if (args.length === 0) throw new Error('launch: give the worker to run: a script (e.g. train.mjs) or an sdd-torch command (e.g. train --config ...)');
  const [first, ...rest] = args as [string, ...string[]];
  if (SUBCOMMANDS.has(first)) return [process.execPath, CLI, first, ...rest];
  if (/\.(m|c)?js$/.test(first)) {
    if (!existsSync(first)) throw new Error(`launch: ${first} does not exist`);
    return [process.execPath, first, ...rest];
  }
  return args;
}

export async function runLaunch(o: LaunchArgs, args: string[]): Promise<void> {
  const nproc = int('nproc-per-node', o.nprocPerNode, 1, 1);
  const nnodes = int('nnodes', o.nnodes, 1, 1);
  const nodeRank = int('node-rank', o.nodeRank, 0, 0);
  if (nodeRank >= nnodes) throw new Error(`--node-rank ${nodeRank} is out of range for --nnodes ${nnodes} (0..${nnodes - 1})`);
  const masterPort = int('master-port', o.masterPort, 29500, 1);
  if (masterPort > 65535) throw new Error(`--master-port must be at most 65535 (got ${masterPort})`);
  const command = workerCommand(args);
  const r = await launch({
    nprocPerNode: nproc, nnodes, nodeRank, masterAddr: o.masterAddr ?? '127.0.0.1', masterPort, command,
    threadsPerWorker: o.threadsPerWorker === undefined ? undefined : int('threads-per-worker', o.threadsPerWorker, 1, 1),
  });
  if (r.failed) {
    const f = r.failed;
    console.error(`sdd-torch launch: failed: rank ${f.rank} ${f.signal ? `was killed by ${f.signal}` : `exited with code ${f.code}`} (workers: ${r.workers.map((w) => `rank ${w.rank} ${w.signal ?? w.code}`).join(', ')})`);
  }
  process.exitCode = r.exitCode;
}

/** argv of `sdd-torch train ...` without --nproc-per-node (the workers run plain `train`). */
export function withoutNproc(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--nproc-per-node') { i++; continue; }
    if (a.startsWith('--nproc-per-node=')) continue;
    out.push(a);
  }
  return out;
}
