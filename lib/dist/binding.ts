// The distributed part of the native addon (native/dist.cc), typed by augmenting NativeBinding.
import type { Handle } from '../core/native.js';

export interface NativeInitOptions {
  backend: 'gloo' | 'nccl';
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  /** the local address Gloo binds and advertises to its peers */
  bindAddr: string;
}

declare module '../core/native.js' {
  interface NativeBinding {
    distBackends(): { gloo: boolean; nccl: boolean };
    distInit?(o: NativeInitOptions): Promise<number>;
    distDestroy?(id: number): void;
    distAllReduce?(id: number, t: Handle, op: string): Promise<void>;
    distBroadcast?(id: number, ts: Handle[], src: number): Promise<void>;
    distAllGather?(id: number, t: Handle): Promise<Handle[]>;
    distReduceScatter?(id: number, out: Handle, inputs: Handle[], op: string): Promise<void>;
    distBarrier?(id: number): Promise<void>;
    distDdpCreate?(group: number, params: Handle[], bucketBytes: number): { id: number; buckets: number };
    distDdpPrepare?(id: number): void;
    distDdpFinish?(id: number): Promise<{ buckets: number; bytes: number; overlapped: number }>;
    distDdpDispose?(id: number): void;
  }
}
