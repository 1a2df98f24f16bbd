// Process-wide settings: intra-op threads, random seeds and generator state, CUDA availability.
import { native } from './native.js';
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
