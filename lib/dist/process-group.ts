// Process groups on c10d: rendezvous through a TCPStore (the torchrun environment or explicit
// options), collectives that return promises (the wait runs off the JS main thread), and a default
// group like torch.distributed's.
import dgram from 'node:dgram';
import net from 'node:net';
import { native } from '../core/native.js';
import './binding.js';
import { fromHandle, isTensor, type Tensor } from '../core/tensor.js';
import { checkInteger, checkKnownKeys, checkOptions, invalidParameterError } from '../core/errors.js';
import { cuda } from '../core/runtime.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';

export interface InitOptions {
  /** 'gloo' (CPU tensors), 'nccl' (CUDA tensors) or 'auto' (nccl when CUDA and NCCL are there, else gloo; default) */
  backend?: Backend | 'auto';
  /** default: $RANK */
  rank?: number;
  /** default: $WORLD_SIZE */
  worldSize?: number;
  /** rank 0's address, where the rendezvous store listens (default: $MASTER_ADDR, else 127.0.0.1) */
  masterAddr?: string;
  /** default: $MASTER_PORT, else 29500 */
  masterPort?: number;
  /** bound on every wait: rendezvous and each collective (default: $SDD_DIST_TIMEOUT_MS, else 300 000 ms) */
  timeoutMs?: number;
  /** the address this rank's Gloo transport binds (default: $SDD_DIST_BIND_ADDR, else the local address that routes to masterAddr) */
  bindAddr?: string;
}

const INIT_KEYS = ['backend', 'rank', 'worldSize', 'masterAddr', 'masterPort', 'timeoutMs', 'bindAddr'] as const;
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'avg', 'product', 'min', 'max'];

/** What this build of the addon can run. */
export function availableBackends(): { gloo: boolean; nccl: boolean } {
  return native.distBackends();
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`dist.initProcessGroup: $${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** The local address the kernel would use to reach `host` (no packet is sent: UDP connect only picks a route). */
async function localAddressFor(host: string, port: number): Promise<string> {
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return host === '::1' ? '::1' : '127.0.0.1';
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    sock.on('error', () => { sock.close(); resolve('127.0.0.1'); });
    sock.connect(port, host, () => {
      const a = sock.address().address;
      sock.close();
      resolve(a);
    });
  });
}

export class ProcessGroup {
  readonly id: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  readonly timeoutMs: number;
  /** the local address this rank's transport bound (its peers connect to it) */
  readonly bindAddr: string;
  #destroyed = false;

  /** @internal use dist.initProcessGroup() */
  constructor(id: number, rank: number, worldSize: number, backend: Backend, timeoutMs: number, bindAddr: string) {
    this.id = id; this.rank = rank; this.worldSize = worldSize; this.backend = backend; this.timeoutMs = timeoutMs; this.bindAddr = bindAddr;
  }

  get destroyed(): boolean { return this.#destroyed; }

  #check(what: string): void {
    if (this.#destroyed) throw new Error(`dist.${what}: the process group was destroyed (destroyProcessGroup)`);
  }

  #tensor(what: string, t: unknown): Tensor {
    if (!isTensor(t)) throw invalidParameterError(`${what}: tensor`, 'a Tensor', t);
    if (t.isDisposed) throw new Error(`dist.${what}: the tensor was disposed`);
    return t;
  }

  /** Reduces `t` in place across ranks (every rank ends with the result). */
  async allReduce(t: Tensor, op: ReduceOp = 'sum'): Promise<Tensor> {
    this.#check('allReduce');
    this.#tensor('allReduce', t);
    if (!REDUCE_OPS.includes(op)) throw invalidParameterError('allReduce: op', `one of ${REDUCE_OPS.join(', ')}`, op);
    await native.distAllReduce!(this.id, t.handle, op);
    return t;
  }

  /** Copies `src`'s tensors into every rank's (in place); several tensors go in one call, in order. */
  async broadcast(tensors: Tensor | Tensor[], src = 0): Promise<void> {
    this.#check('broadcast');
    const list = Array.isArray(tensors) ? tensors : [tensors];
    list.forEach((t, i) => this.#tensor(`broadcast[${i}]`, t));
    checkInteger('broadcast: src', src, 0, this.worldSize - 1);
    await native.distBroadcast!(this.id, list.map((t) => t.handle), src);
  }

  /** Every rank's `t`, in rank order (same shape and dtype on every rank). */
  async allGather(t: Tensor): Promise<Tensor[]> {
    this.#check('allGather');
    this.#tensor('allGather', t);
    return (await native.distAllGather!(this.id, t.handle)).map(fromHandle);
  }

  /** output = the reduction over ranks of inputs[rank] (inputs: one tensor per rank, each shaped like output). */
  async reduceScatter(output: Tensor, inputs: Tensor[], op: Exclude<ReduceOp, 'avg'> = 'sum'): Promise<Tensor> {
    this.#check('reduceScatter');
    this.#tensor('reduceScatter output', output);
    if (!Array.isArray(inputs) || inputs.length !== this.worldSize) throw invalidParameterError('reduceScatter: inputs', `an array of ${this.worldSize} tensors (one per rank)`, inputs);
    inputs.forEach((t, i) => this.#tensor(`reduceScatter inputs[${i}]`, t));
    if (!REDUCE_OPS.includes(op) || (op as string) === 'avg') throw invalidParameterError('reduceScatter: op', "'sum', 'product', 'min' or 'max'", op);
    await native.distReduceScatter!(this.id, output.handle, inputs.map((t) => t.handle), op);
    return output;
  }

  /** Resolves when every rank has reached it. */
  async barrier(): Promise<void> {
    this.#check('barrier');
    await native.distBarrier!(this.id);
  }

  /** Ends this group: its threads and connections close; later calls throw. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    native.distDestroy!(this.id);
    if (defaultGroup === this) defaultGroup = undefined;
  }
}

let defaultGroup: ProcessGroup | undefined;

/**
 * Joins the ranks: every process calls it (same masterAddr/masterPort/worldSize, its own rank) and it
 * resolves when all have arrived, or rejects with what went wrong after at most timeoutMs.
 * The first group becomes the default one (rank(), worldSize(), allReduce(), ... use it).
 */
export async function initProcessGroup(options: InitOptions = {}): Promise<ProcessGroup> {
  const o = checkOptions('dist.initProcessGroup options', options);
  checkKnownKeys('dist.initProcessGroup options', o, INIT_KEYS);
  const available = availableBackends();
  if (!available.gloo || !native.distInit) {
    throw new Error('dist.initProcessGroup: this build of sdd-torch has no c10d/Gloo (its libtorch headers lacked them). ' +
      'On Debian/Ubuntu: apt-get install libgloo-dev, then rebuild (npm rebuild sdd-torch)');
  }
  const requested = (o.backend ?? 'auto') as string;
  if (!['gloo', 'nccl', 'auto'].includes(requested)) throw invalidParameterError('dist.initProcessGroup: backend', "'gloo', 'nccl' or 'auto'", o.backend);
  const backend: Backend = requested === 'auto' ? (available.nccl && cuda.isAvailable() ? 'nccl' : 'gloo') : requested as Backend;
  if (backend === 'nccl' && !available.nccl) throw new Error("dist.initProcessGroup: backend 'nccl' is not in this build (CPU libtorch or no nccl.h at build time): use 'gloo'");

  const from = (key: string, env: string) => o[key] !== undefined ? o[key] : envInt(env);
  const rank = from('rank', 'RANK');
  const worldSize = from('worldSize', 'WORLD_SIZE');
  if (rank === undefined || worldSize === undefined) {
    throw new Error(`dist.initProcessGroup: ${rank === undefined ? 'the rank' : 'the world size'} is unknown: ` +
      'start the processes with `npx sdd-torch launch --nproc-per-node N <script>` (it sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or pass { rank, worldSize }');
  }
  const ws = checkInteger('dist.initProcessGroup: worldSize', worldSize, 1);
  const r = checkInteger('dist.initProcessGroup: rank', rank, 0);
  if (r >= ws) throw new Error(`dist.initProcessGroup: rank ${r} is out of range for world size ${ws} (ranks are 0..${ws - 1})`);
  const masterAddr = (o.masterAddr as string | undefined) ?? process.env.MASTER_ADDR ?? '127.0.0.1';
  if (typeof masterAddr !== 'string' || masterAddr === '') throw invalidParameterError('dist.initProcessGroup: masterAddr', 'a host name or address', masterAddr);
  const masterPort = checkInteger('dist.initProcessGroup: masterPort', from('masterPort', 'MASTER_PORT') ?? 29500, 1, 65535);
  const timeoutMs = checkInteger('dist.initProcessGroup: timeoutMs', from('timeoutMs', 'SDD_DIST_TIMEOUT_MS') ?? 300_000, 1);
  const bindAddr = (o.bindAddr as string | undefined) ?? process.env.SDD_DIST_BIND_ADDR ?? await localAddressFor(masterAddr, masterPort);

  const id = await native.distInit({ backend, masterAddr, masterPort, rank: r, worldSize: ws, timeoutMs, bindAddr });
  const group = new ProcessGroup(id, r, ws, backend, timeoutMs, bindAddr);
  defaultGroup ??= group;
  watchLauncher();
  return group;
}

/** A process started by `sdd-torch launch` leaves when the launcher is gone (no orphans). */
function watchLauncher(): void {
  const launcher = Number(process.env.SDD_TORCH_LAUNCHER_PID);
  if (!Number.isInteger(launcher) || launcher <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== launcher) {
      process.stderr.write(`sdd-torch: the launcher (pid ${launcher}) is gone; rank ${defaultGroup?.rank ?? '?'} exits\n`);
      process.exit(1);
    }
  }, 1000);
  timer.unref();
}

/** True after initProcessGroup() (and before destroyProcessGroup()). */
export function isInitialized(): boolean {
  return defaultGroup !== undefined;
}

/** The default group; throws a clear error when there is none. */
export function group(): ProcessGroup {
  if (!defaultGroup) throw new Error('sdd.dist: no process group: call await sdd.dist.initProcessGroup() first');
  return defaultGroup;
}

/** This process's rank in the default group (0 when there is none: a single process is rank 0). */
export function rank(): number { return defaultGroup?.rank ?? 0; }
/** Processes in the default group (1 when there is none). */
export function worldSize(): number { return defaultGroup?.worldSize ?? 1; }
export const allReduce = (t: Tensor, op: ReduceOp = 'sum') => group().allReduce(t, op);
export const broadcast = (t: Tensor | Tensor[], src = 0) => group().broadcast(t, src);
export const allGather = (t: Tensor) => group().allGather(t);
export const reduceScatter = (output: Tensor, inputs: Tensor[], op: Exclude<ReduceOp, 'avg'> = 'sum') => group().reduceScatter(output, inputs, op);
export const barrier = () => group().barrier();

/** Destroys the default group (or the one given). */
export function destroyProcessGroup(g: ProcessGroup | undefined = defaultGroup): void {
  g?.destroy();
}
