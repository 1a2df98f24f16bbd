// The only file that touches the compiled addon: finds it, loads it and types its surface.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Plain JS shared with the install and prebuild scripts (it ships in the package beside dist/: ../../scripts from dist/core).
import { describeNeeds, installHint, listPrebuilds, missingLibraries, orderPrebuilds, platformDir, type PrebuildMeta } from '../../scripts/prebuilds.mjs';

/**
 * An opaque native tensor handle. At run time it is a number (slot and generation in the addon's
 * handle table, see native/common.h), typed opaquely so that no handle can pass for a scalar.
 */
export type Handle = { readonly __brand: 'sdd-torch.Handle' };

/** Whether a value passed to or returned by the addon is a tensor handle (handles are numbers). */
export function isHandle(v: unknown): v is Handle {
  return typeof v === 'number';
}
type H = Handle;
type Scalar = number | boolean | bigint;

export interface NativeBinding {
  /** Op, dtype and mode codes by family and name (read them through lib/core/codes.ts). */
  readonly codes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  // handles
  dispose(h: H): void;
  /** the GC safety net: release the tensor once V8 has collected `owner` (the Tensor holding h) */
  guard(h: H, owner: object): void;
  isDisposed(h: H): boolean;
  memory(): { liveTensors: number; bytes: number };
  // creation (dtype codes: native.codes.dtype, see dtype.ts)
  fromTypedArray(data: ArrayBufferView, shape: number[], dtype: number, device: string, requiresGrad: boolean): H;
  scalar(value: Scalar, dtype: number, device: string, requiresGrad: boolean): H;
  full(shape: number[], value: Scalar, dtype: number, device: string, requiresGrad: boolean): H;
  empty(shape: number[], dtype: number, device: string, requiresGrad: boolean): H;
  arange(start: number, end: number, step: number, dtype: number, device: string): H;
  linspace(start: number, end: number, steps: number, dtype: number, device: string): H;
  eye(n: number, m: number, dtype: number, device: string): H;
  rand(shape: number[], dtype: number, device: string, requiresGrad: boolean): H;
  randn(shape: number[], dtype: number, device: string, requiresGrad: boolean): H;
  randint(low: number, high: number, shape: number[], dtype: number, device: string): H;
  randperm(n: number, dtype: number, device: string): H;
  // read-back
  shape(h: H): number[];
  dtype(h: H): number;
  device(h: H): string;
  numel(h: H): number;
  dim(h: H): number;
  item(h: H): number | boolean;
  toTypedArray(h: H): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Int16Array;
  toFloat64Array(h: H): Float64Array;
  viewTypedArray(h: H): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Int16Array;
  info(h: H): [number[], number, string, boolean];
  // ops
  unary(op: number, h: H): H;
  binary(op: number, a: H, b: H): H;
  binaryScalar(op: number, a: H, s: Scalar): H;
  /** a.op_(other): other is a tensor, or null and then `scalar` is used */
  inPlace(op: number, a: H, other?: H | null, scalar?: Scalar, alpha?: Scalar): void;
  clamp(h: H, min?: number | null, max?: number | null): H;
  /** a / b: tensors, or null and then aScalar / bScalar; `like` sets dtype and device when both are scalars */
  where(cond: H, a: H | null, b: H | null, aScalar?: Scalar, bScalar?: Scalar, like?: H): H;
  reduce(op: number, h: H, dims: number[] | null, keepdim: boolean, unbiased?: boolean, p?: number): H;
  maxDim(h: H, dim: number, keepdim: boolean): [H, H];
  minDim(h: H, dim: number, keepdim: boolean): [H, H];
  argmax(h: H, dim: number | null, keepdim: boolean): H;
  argmin(h: H, dim: number | null, keepdim: boolean): H;
  topk(h: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  cumsum(h: H, dim: number): H;
  softmax(h: H, dim: number): H;
  logSoftmax(h: H, dim: number): H;
  linear(x: H, w: H, b?: H | null): H;
  leakyRelu(h: H, slope: number): H;
  crossEntropy(logits: H, targets: H, reduction: number, labelSmoothing?: number): H;
  reshape(h: H, shape: number[]): H;
  view(h: H, shape: number[]): H;
  permute(h: H, dims: number[]): H;
  transpose(h: H, d0: number, d1: number): H;
  flatten(h: H, start: number, end: number): H;
  squeeze(h: H, dim?: number | null): H;
  unsqueeze(h: H, dim: number): H;
  expand(h: H, shape: number[]): H;
  repeat(h: H, repeats: number[]): H;
  flip(h: H, dims: number[]): H;
  cat(hs: H[], dim: number): H;
  stack(hs: H[], dim: number): H;
  split(h: H, sizes: number | number[], dim: number): H[];
  chunk(h: H, chunks: number, dim: number): H[];
  select(h: H, dim: number, index: number): H;
  narrow(h: H, dim: number, start: number, length: number): H;
  slice(h: H, dim: number, start: number, end: number, step: number): H;
  indexSelect(h: H, dim: number, index: H): H;
  gather(h: H, dim: number, index: H): H;
  /** src: a tensor, or null and then `value` */
  scatter(h: H, dim: number, index: H, src: H | null, value?: Scalar): H;
  scatterAdd(h: H, dim: number, index: H, src: H): H;
  maskedFill(h: H, mask: H, value: Scalar): H;
  maskedSelect(h: H, mask: H): H;
  oneHot(h: H, numClasses: number): H;
  to(h: H, dtype: number | null, device: string | null, nonBlocking: boolean): H;
  allclose(a: H, b: H, rtol: number, atol: number): boolean;
  equal(a: H, b: H): boolean;
  isContiguous(h: H): boolean;
  // autograd
  setRequiresGrad(h: H, v: boolean): void;
  requiresGrad(h: H): boolean;
  isLeaf(h: H): boolean;
  backward(h: H, grad: H | null, retainGraph: boolean): void;
  grad(h: H): H | null;
  setGrad(h: H, g: H | null): void;
  hasGrad(h: H): boolean;
  // optimizers
  sgdStep(params: H[], momentumBuffers: (H | null)[], opts: Record<string, unknown>): (H | null)[];
  adamwStep(params: H[], expAvg: H[], expAvgSq: H[], steps: number[], opts: Record<string, unknown>): void;
  clipGradNorm(params: H[], maxNorm: number, normType: number): number;
  retainGrad(h: H): void;
  isGradEnabled(): boolean;
  /** mode: native.codes.gradMode */
  withGradMode<T>(mode: number, fn: () => T): T;
  // runtime
  buildInfo(): { torchVersion: string; torchLibDir: string; torchCmakeDir: string; builtWithCuda: boolean; cudaVersion: string | null; cxx11Abi: boolean; parallelInfo: string; config: string };
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number | bigint): void;
  getRngState(): H;
  setRngState(state: H): void;
  // SDD core
  multiScalePool(x: H, scales: number[], mode: string): H;
  scaleLogits(x: H, w: H, b: H | null, scales: number[], mode: string): H;
  /** kind: native.codes.loss */
  loss(kind: number, s: H, t: H, targets: H | null, opts: Record<string, unknown>): H | { loss: H; skipped: boolean; rowLosses?: H; weights?: H };
}

/** The package root (this file is lib/core/native.ts, compiled to dist/core/native.js: two levels below it). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function expectedLibtorch(): string {
  try {
    const info = JSON.parse(readFileSync(path.join(packageRoot, 'build', 'libtorch.json'), 'utf8'));
    return `${info.dir} (found via ${info.source})`;
  } catch {
    return 'the libtorch the binary was built against';
  }
}

export interface LoadedBinary { binding: NativeBinding; file: string; kind: 'prebuild' | 'local build' | 'SDD_TORCH_BINARY' }

function load(): LoadedBinary {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  const candidates: { file: string; kind: LoadedBinary['kind']; meta?: PrebuildMeta | null }[] = [];
  if (process.env.SDD_TORCH_BINARY) candidates.push({ file: process.env.SDD_TORCH_BINARY, kind: 'SDD_TORCH_BINARY' });
  // A local build (build/Release) exists only where this package was compiled (a source install or a
  // development checkout, where `npm run prebuild` refreshes it too): it was made for this machine.
  try {
    const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
    const found = nodeGypBuild.path(packageRoot);
    if (!found.includes(`${path.sep}prebuilds${path.sep}`)) candidates.push({ file: found, kind: 'local build' });
  } catch {
    /* no local build */
  }
  // Prebuilds whose libtorch libraries are present first (scripts/prebuilds.mjs reads their tags).
  const prebuilds = orderPrebuilds(listPrebuilds(packageRoot));
  candidates.push(...prebuilds.map((p) => ({ file: p.file, kind: 'prebuild' as const, meta: p.meta })));
  for (const c of candidates) {
    try {
      return { binding: require(c.file) as NativeBinding, file: c.file, kind: c.kind };
    } catch (e) {
      const needs = c.kind === 'prebuild' ? ` [needs ${describeNeeds(c.meta ?? null)}${missingLibraries(c.meta ?? null).length ? `; not found here: ${missingLibraries(c.meta ?? null).join(', ')}` : ''}]` : '';
      tried.push(`  - ${c.file} (${c.kind})${needs}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (candidates.length === 0) {
    tried.push(`  - ${path.join(packageRoot, 'prebuilds', platformDir)}/*.node: none`);
    tried.push(`  - ${path.join(packageRoot, 'build', 'Release')}/*.node: none`);
  }
  const hints = prebuilds.filter((p) => p.meta).flatMap((p) => [`  - to use ${path.basename(p.file)} (${describeNeeds(p.meta)}):`, ...installHint(p.meta).map((l) => `    ${l.trim()}`)]);
  throw new Error([
    `sdd-torch: could not load the native addon for ${process.platform}-${process.arch} (Node ${process.version}, N-API ${process.versions.napi}).`,
    'Tried:', ...tried,
    `Expected libtorch: ${expectedLibtorch()}.`,
    'What to do:',
    ...hints,
    '  - build it for the libtorch you have: `npm rebuild sdd-torch` (or `npm run build:native` inside the package); it',
    '    finds libtorch through LIBTORCH/Torch_DIR, the Python torch on PATH, or the system (apt-get install libtorch-dev)',
    '  - if the error above is "cannot open shared object file", the libtorch the binary was built against',
    '    is gone or moved: reinstall it or rebuild',
    '  - run `npx sdd-torch doctor` once it loads to see what it found',
  ].join('\n'));
}

let loaded: LoadedBinary | undefined;

/** The loaded addon (loaded on first use) and where it came from. */
export function binary(): LoadedBinary {
  loaded ??= load();
  return loaded;
}

export const native: NativeBinding = binary().binding;
