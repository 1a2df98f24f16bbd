// `sdd-torch doctor` and sdd.doctor(): what this installation found (Node, libtorch and where it came
// from, BLAS built and loaded, CUDA, the distributed backends, threads, the loaded binary).
import { readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import { binary, native, packageRoot } from '../core/native.js';
import { BINARY } from '../core/codes.js';
import { dtypeCode } from '../core/dtype.js';

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
  const one = native.full([8, 8], 1, dtypeCode('dtype', 'float32'), 'cpu', false);
  native.dispose(native.binary(BINARY.matmul, one, one));
  native.dispose(one);
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

/** Prints a report as `sdd-torch doctor` does: one line per finding (or the JSON), then warnings. */
export function printDoctor(report: DoctorReport, version: string, json = false): void {
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const rows: [string, string][] = [
    ['sdd-torch', version],
    ['node', `${report.node} (N-API ${report.napi}, ${report.platform})`],
    ['libtorch', report.libtorch.version],
    ['libtorch from', `${report.libtorch.foundVia}: ${report.libtorch.cmakeDir}`],
    ['libtorch libs', report.libtorch.libDir],
    ['BLAS (build)', report.blas.buildConfig],
    ['BLAS (loaded)', report.blas.loaded.join('; ') || 'none mapped'],
    ['CUDA', report.libtorch.builtWithCuda
      ? `built with CUDA; available: ${report.cuda.available ? 'yes' : 'no'}; devices: ${report.cuda.deviceCount}`
      : 'CPU-only libtorch (no CUDA)'],
    ['distributed', `gloo: ${report.dist.gloo ? 'yes' : 'no (apt-get install libgloo-dev, then npm rebuild)'}; nccl: ${report.dist.nccl ? 'yes' : 'no'}`],
    ['threads', `${report.threads.intraOp} intra-op (${report.threads.cpus} CPUs; ${report.threads.parallelBackend})`],
    ['binary', `${report.binary.file} (${report.binary.kind})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  if (report.blas.loaded.some((l) => /libblas\.so[^ ]*$/.test(l) && !/openblas|mkl|blis/i.test(l))) {
    console.log('\nwarning: the reference BLAS is in use (about 20x slower matmuls): apt-get install libopenblas0');
  }
}
