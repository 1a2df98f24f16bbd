// sdd-torch: libtorch tensors and Scale Decoupled Distillation for Node.js.
export { Tensor, isTensor, where, cat, stack, matmul, type TensorOrScalar, type NestedArray, type TypedArrayOut } from './core/tensor.js';
export {
  tensor, zeros, ones, full, empty, arange, linspace, eye, rand, randn, randint, randperm,
  zerosLike, onesLike, fullLike, emptyLike, randLike, randnLike, type TensorOptions, type TensorDataOptions,
} from './core/creation.js';
export { DTYPES, type DType, type DTypeLike, type Device } from './core/dtype.js';
export { tidy, keep, memory, dispose } from './core/scope.js';
export { noGrad, enableGrad, inferenceMode, isGradEnabled } from './core/autograd.js';
export { setNumThreads, getNumThreads, manualSeed, getRngState, setRngState, cuda } from './core/runtime.js';
export { doctor, type DoctorReport } from './cli/doctor.js';
export { invalidParameterError } from './core/errors.js';
export { multiScalePool, scaleLogits, regionCount, DEFAULT_SCALES, type MultiScaleOptions, type PoolMode } from './sdd/pool.js';
export * as losses from './sdd/losses.js';
export * as nn from './nn/index.js';
export * as data from './data/index.js';
export * as checkpoint from './checkpoint/index.js';
// The checkpoint functions as they were first published, at the root: kept for compatibility.
export {
  /** @deprecated Use sdd.checkpoint.load. */ load,
  /** @deprecated Use sdd.checkpoint.loadSync. */ loadSync,
  /** @deprecated Use sdd.checkpoint.save. */ save,
  /** @deprecated Use sdd.checkpoint.saveSync. */ saveSync,
  /** @deprecated Use sdd.checkpoint.checkpointFormat. */ checkpointFormat,
  /** @deprecated Use sdd.checkpoint.readSafetensors. */ readSafetensors,
  /** @deprecated Use sdd.checkpoint.writeSafetensors. */ writeSafetensors,
  /** @deprecated Use sdd.checkpoint.readPth. */ readPth,
  /** @deprecated Use sdd.checkpoint.writePth. */ writePth,
  /** @deprecated Use sdd.checkpoint.CheckpointError. */ CheckpointError,
  /** @deprecated Use sdd.checkpoint.pickle. */ pickle,
  /** @deprecated Use sdd.checkpoint.StateDict. */ type StateDict,
  /** @deprecated Use sdd.checkpoint.CheckpointFormat. */ type CheckpointFormat,
  /** @deprecated Use sdd.checkpoint.LoadOptions. */ type LoadOptions,
  /** @deprecated Use sdd.checkpoint.SaveOptions. */ type SaveOptions,
  /** @deprecated Use sdd.checkpoint.SafetensorsContents. */ type SafetensorsContents,
} from './checkpoint/index.js';
export * as optim from './optim/index.js';
export * as schedules from './optim/schedules.js';
export * as distillers from './distill/index.js';
export * as models from './models/index.js';
export { Trainer, evaluate, type TrainerOptions, type FitResult, type EpochEvent, type StepEvent, type EvalResult } from './train/index.js';
export * as transforms from './data/transforms.js';
export * as dist from './dist/index.js';
export * as onnx from './export/index.js';
export * as experiment from './experiment/index.js';
export * as explain from './explain/index.js';

