// sdd-torch: libtorch tensors and Scale Decoupled Distillation for Node.js.
export { Tensor, isTensor, where, cat, stack, matmul, type TensorOrScalar, type NestedArray, type TypedArrayOut } from './tensor.js';
export {
  tensor, zeros, ones, full, empty, arange, linspace, eye, rand, randn, randint, randperm,
  zerosLike, onesLike, fullLike, emptyLike, randLike, randnLike, type TensorOptions, type TensorDataOptions,
} from './creation.js';
export { DTYPES, type DType, type DTypeLike, type Device } from './dtype.js';
export { tidy, keep, memory, dispose } from './scope.js';
export { noGrad, enableGrad, inferenceMode, isGradEnabled } from './autograd.js';
export { setNumThreads, getNumThreads, manualSeed, getRngState, setRngState, cuda, doctor, type DoctorReport } from './runtime.js';
export { invalidParameterError } from './errors.js';
export { multiScalePool, scaleLogits, regionCount, DEFAULT_SCALES, type MultiScaleOptions, type PoolMode } from './sdd/pool.js';
export * as losses from './sdd/losses.js';
export * as nn from './nn/index.js';
export * as data from './data/index.js';
export * from './checkpoint/index.js';
export * as optim from './optim/index.js';
export * as schedules from './optim/schedules.js';
export * as distillers from './distill/index.js';
export * as models from './models/index.js';
export { Trainer, evaluate, type TrainerOptions, type FitResult, type EpochEvent, type StepEvent, type EvalResult } from './train/index.js';
export * as transforms from './transforms.js';
export * as dist from './dist/index.js';
