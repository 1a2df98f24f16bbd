// sdd.nn: modules (torch.nn) backed by native libtorch layers. See module.ts for the base class.
export {
  Module, Parameter,
  type LoadStateDictOptions, type LoadStateDictResult, type FreezeOptions, type FrozenState, type MemoryFormat, type ToOptions,
} from './module.js';
export { StateDictError } from '../core/errors.js';
export {
  Conv2d, BatchNorm2d, BatchNorm1d, Linear, ReLU, ReLU6, LeakyReLU, Sigmoid, Tanh, MaxPool2d, AvgPool2d,
  AdaptiveAvgPool2d, Dropout, Flatten, Identity, ChannelShuffle, Activation,
  type Conv2dOptions, type BatchNormOptions, type LinearOptions, type MaxPool2dOptions, type AvgPool2dOptions,
  type FusedOptions, type FactoryOptions,
} from './layers.js';
export type { PaddingMode, IntPair, Conv2dFuncOptions, BatchNormFuncOptions } from './options.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export * as init from './init.js';
export * as functional from './functional.js';
