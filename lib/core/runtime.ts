// Process-wide settings (threads, seeds) and what `doctor` reports.
import { readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import { binary, native, packageRoot } from './native.js';
import { checkInteger } from './errors.js';
import { fromHandle, type Tensor } from './tensor.js';

/** Intra-op threads libtorch uses (like torch.set_num_threads). */
export function setNumThreads(n: number): void {
  native.setNumThreads(checkInteger('threads', n, 1));
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Seeds the CPU and every CUDA generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  native.manualSeed(checkInteger('seed', seed, 0, Number.MAX_SAFE_INTEGER));
}

/** The CPU generator's state (a uint8 tensor), e.g. to checkpoint it. */
export function getRngState(): Tensor {
  return fromHandle(native.getRngState());
}

/** Restores a state from getRngState(): later random draws repeat exactly. */
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}

export const cuda = {
  /** True when this libtorch was built with CUDA and a GPU is visible. */
  isAvailable(): boolean { return native.cudaIsAvailable(); },
  deviceCount(): number { return native.cudaDeviceCount(); },
  /** Waits for queued CUDA work (for timing). No-op without CUDA. */
  synchronize(): void { native.cudaSynchronize(); },
};

/** The BLAS libraries mapped into this process (after the first matmul they are certainly loaded). */
function loadedBlas(): string[] {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set<string>();
    for (const line of maps.split('\n')) {
      const file = line.split(/\s+/)[5];
      if (file && /(blas|mkl|blis|lapack)[^/]*\.so/i.test(file)) {
        let real = file;
        try { real = realpathSync(file); } catch { /* keep the mapped name */ }
        libs.add(real === file ? file : `${file} -> ${real}`);
      }
    }
    return [...libs];
  } catch {
    return [];
  }
}

export interface DoctorReport {
  node: string;
  napi: string;
  platform: string;
  libtorch: { version: string; cmakeDir: string; libDir: string; foundVia: string; builtWithCuda: boolean };
  blas: { buildConfig: string; loaded: string[] };
  cuda: { available: boolean; deviceCount: number };
  /** sdd.dist backends in this build */
  dist: { gloo: boolean; nccl: boolean };
  threads: { intraOp: number; cpus: number; parallelBackend: string };
  binary: { file: string; kind: string };
}

/** Everything `npx sdd-torch doctor` prints, as data. */
export function doctor(): DoctorReport {
  const info = native.buildInfo();
  let foundVia = 'unknown (prebuilt binary)';
  try {
    const j = JSON.parse(readFileSync(`${packageRoot}/build/libtorch.json`, 'utf8'));
    foundVia = String(j.source);
  } catch { /* a prebuild: no local build record */ }
  const b = binary();
  // Run one small matmul so the BLAS library is mapped before we look.
  native.dispose(native.binary(16, native.full([8, 8], 1, 0, 'cpu', false), native.full([8, 8], 1, 0, 'cpu', false)));
  const blasInfo = /BLAS_INFO=([^,\s]+)/.exec(info.config)?.[1];
  const lapackInfo = /LAPACK_INFO=([^,\s]+)/.exec(info.config)?.[1];
  const backend = /ATen parallel backend: (.*)/.exec(info.parallelInfo)?.[1] ?? 'unknown';
  return {
    node: process.version,
    napi: process.versions.napi ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
    libtorch: { version: info.torchVersion, cmakeDir: info.torchCmakeDir, libDir: info.torchLibDir, foundVia, builtWithCuda: info.builtWithCuda },
    blas: { buildConfig: blasInfo ? `BLAS_INFO=${blasInfo}${lapackInfo ? `, LAPACK_INFO=${lapackInfo}` : ''}` : 'not reported', loaded: loadedBlas() },
    cuda: { available: native.cudaIsAvailable(), deviceCount: native.cudaDeviceCount() },
    dist: (native as unknown as { distBackends(): { gloo: boolean; nccl: boolean } }).distBackends(),
    threads: { intraOp: native.getNumThreads(), cpus: os.availableParallelism(), parallelBackend: backend },
    binary: { file: b.file, kind: b.kind },
  };
}

