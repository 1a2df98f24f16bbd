// Data parallelism: every rank holds a replica of the model, trains on its shard of each batch,
// and averages gradients across ranks, so all replicas take the same optimizer step (torch's
// DistributedDataParallel semantics). Gradients travel in buckets of ~bucketMb through c10d; a
// bucket's all-reduce starts during backward as soon as its gradients exist (native/dist.cc), and
// the wait for the rest runs off the JS main thread.
import { tensor } from '../core/creation.js';
import { dispose } from '../core/scope.js';
import type { Tensor } from '../core/tensor.js';
import { native } from '../core/native.js';
import './binding.js';
import { checkFinite, checkKnownKeys, checkOptions, invalidParameterError } from '../core/errors.js';
import { group as defaultGroup, type ProcessGroup } from './process-group.js';
import { Module } from '../nn/module.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/layers.js';

/** What DDP needs of a model: an nn.Module has it. */
export interface ReplicableModule {
  namedParameters(): [string, Tensor][];
  namedBuffers(): [string, Tensor][];
  parameters(): Tensor[];
}

export interface DdpOptions {
  /** default: the default process group */
  group?: ProcessGroup;
  /** gradient bucket size in MiB (default 25, torch's default) */
  bucketMb?: number;
  /** the rank whose weights every replica starts from (default 0) */
  src?: number;
}

/**
 * One gradient averaging: ms = the wait after backward (main thread free), buckets and bytes
 * exchanged, overlapped = buckets whose all-reduce had already started during backward.
 */
export interface SyncStats { ms: number; buckets: number; bytes: number; overlapped: number }

/** FNV-1a over a string, two 24-bit halves (exact in a float64 tensor). */
function fingerprint(s: string): [number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [h >>> 16, h & 0xffff];
}

function describe(m: ReplicableModule): { entries: [string, Tensor][]; text: string; values: number } {
  const entries = [...m.namedParameters(), ...m.namedBuffers().map(([k, v]) => [`buffer:${k}`, v] as [string, Tensor])];
  const text = entries.map(([k, v]) => `${k}:${v.dtype}[${v.shape.join(',')}]`).join(';');
  return { entries, text, values: entries.reduce((a, [, v]) => a + v.numel, 0) };
}

/**
 * Checks that every rank holds the same architecture (names, shapes, dtypes of parameters and
 * buffers) and copies rank `src`'s values into every replica. A mismatch throws on every rank
 * (no rank is left waiting) naming the rank that differs.
 */
export async function replicate(module: ReplicableModule, opts: { group?: ProcessGroup; src?: number; what?: string } = {}): Promise<void> {
  opts = checkOptions<typeof opts>('dist.replicate options', opts, { group: 'object', src: { kind: 'integer', min: 0 }, what: 'string' });
  const g = opts.group ?? defaultGroup();
  const src = opts.src ?? 0;
  const what = opts.what ?? 'model';
  if (!module || typeof module.namedParameters !== 'function' || typeof module.namedBuffers !== 'function') {
    throw invalidParameterError(`dist.replicate: ${what}`, 'an nn.Module (namedParameters and namedBuffers)', module);
  }
  const { entries, text, values } = describe(module);
  const [h1, h2] = fingerprint(text);
  const mine = tensor([entries.length, values, h1, h2], { dtype: 'float64' });
  const all = await g.allGather(mine);
  try {
    const rows = all.map((t) => Array.from(t.toTypedArray() as Float64Array));
    const ref = rows[src]!;
    const bad = rows.findIndex((r) => r.some((v, i) => v !== ref[i]));
    if (bad >= 0) {
      const r = rows[bad]!;
      throw new Error(`dist: rank ${bad}'s ${what} differs from rank ${src}'s: ${r[0]} tensors with ${r[1]} values vs ${ref[0]} tensors with ${ref[1]} values` +
        (r[0] === ref[0] && r[1] === ref[1] ? ' (same sizes: names, shapes or dtypes differ)' : '') +
        ' — every rank must build the same model (same name, options and number of classes)');
    }
  } finally {
    dispose([mine, ...all]);
  }
  // contiguous tensors only; parameters and buffers of nn modules are
  await g.broadcast(entries.map(([, v]) => v), src);
}

export class DistributedDataParallel {
  readonly module: ReplicableModule;
  readonly group: ProcessGroup;
  readonly bucketBytes: number;
  /** gradient buckets (fixed at creation) */
  readonly buckets: number;
  /** totals since creation: steps synchronised, time waiting after backward, bytes, buckets overlapped with backward */
  readonly totals = { steps: 0, ms: 0, bytes: 0, overlapped: 0 };
  last: SyncStats | undefined;
  #id: number | undefined;

  private constructor(module: ReplicableModule, group: ProcessGroup, bucketBytes: number) {
    this.module = module;
    this.group = group;
    this.bucketBytes = bucketBytes;
    const r = native.distDdpCreate!(group.id, module.parameters().map((p) => p.handle), bucketBytes);
    this.#id = r.id;
    this.buckets = r.buckets;
  }

  /** Wraps `module` after replicate() (same architecture on every rank, rank src's weights everywhere). */
  static async create(module: ReplicableModule, options: DdpOptions = {}): Promise<DistributedDataParallel> {
    const o = checkOptions('DistributedDataParallel options', options);
    checkKnownKeys('DistributedDataParallel options', o, ['group', 'bucketMb', 'src']);
    const g = (o.group as ProcessGroup | undefined) ?? defaultGroup();
    const bucketMb = o.bucketMb === undefined ? 25 : checkFinite('DistributedDataParallel: bucketMb', o.bucketMb);
    if (!(bucketMb > 0)) throw invalidParameterError('DistributedDataParallel: bucketMb', 'a positive number of MiB', o.bucketMb, true);
    await replicate(module, { group: g, src: (o.src as number | undefined) ?? 0, what: 'model' });
    return new DistributedDataParallel(module, g, Math.max(1, Math.round(bucketMb * 1024 * 1024)));
  }

  #live(what: string): number {
    if (this.#id === undefined) throw new Error(`DistributedDataParallel.${what}: disposed`);
    return this.#id;
  }

  /** Call right before backward: buckets then start their all-reduce while backward runs (the distillers do). */
  beforeBackward(): void {
    native.distDdpPrepare!(this.#live('beforeBackward'));
  }

  /**
   * Averages the parameters' gradients across ranks: call after backward, before the optimizer
   * step. Without beforeBackward() it still works, exchanging everything after backward.
   */
  async averageGradients(): Promise<SyncStats> {
    const t0 = performance.now();
    const r = await native.distDdpFinish!(this.#live('averageGradients'));
    const stats = { ms: performance.now() - t0, buckets: r.buckets, bytes: r.bytes, overlapped: r.overlapped };
    this.last = stats;
    this.totals.steps += 1;
    this.totals.ms += stats.ms;
    this.totals.bytes += stats.bytes;
    this.totals.overlapped += stats.overlapped;
    return stats;
  }

  /** Removes the gradient hooks (the module keeps working as a plain module). */
  dispose(): void {
    if (this.#id === undefined) return;
    native.distDdpDispose!(this.#id);
    this.#id = undefined;
  }

  [Symbol.dispose](): void { this.dispose(); }
}

/** `await dist.ddp(model)`: shorthand for DistributedDataParallel.create. */
export function ddp(module: ReplicableModule, options?: DdpOptions): Promise<DistributedDataParallel> {
  return DistributedDataParallel.create(module, options);
}

/**
 * torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm layer of `module` normalises with
 * the statistics of the whole global batch (all ranks) in training, instead of its rank's shard;
 * the running statistics then agree on every rank. Costs one blocking all-reduce of 2C+1 numbers per
 * layer in forward and one in backward. Eval mode is unchanged. Returns the number of layers
 * converted; convertSyncBatchNorm(module, null) turns it off.
 */
export function convertSyncBatchNorm(module: Module, group: ProcessGroup | null = defaultGroup()): number {
  if (!(module instanceof Module)) throw invalidParameterError('convertSyncBatchNorm: module', 'an nn.Module', module);
  if (group !== null && group.destroyed) throw new Error('convertSyncBatchNorm: the process group was destroyed');
  let n = 0;
  for (const m of module.modules()) {
    if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) {
      m._setSyncGroup(group === null ? 0 : group.id);
      n++;
    }
  }
  return n;
}
