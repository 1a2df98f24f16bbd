// sdd.data: data sets as users have them on disk, native batch augmentation, and the loader.
export { type Dataset, type Sample, type Layout, TensorDataset, decodeImage, imageSupport } from './dataset.js';
export { DataError } from '../core/errors.js';
export { parseIdx, idxFromBytes, readIdx, mnist, fashionMnist, kmnist, openMnist, MnistDataset, type IdxArray, type IdxDtype, type MnistOptions, type MnistVariant } from './idx.js';
export {
  cifar10, cifar100, parseCifarBinary, readCifarPython, parseCifarPython, cifarFromPickle, CifarDataset, CIFAR10_CLASSES,
  type CifarOptions, type Cifar100Options, type CifarArrays,
} from './cifar.js';
export { NUMPY_ARRAY_GLOBALS, NumpyArray } from '../checkpoint/numpy.js';
export { imageFolder, ImageListDataset, verifyImages, IMAGE_EXTENSIONS, type ImageFolderOptions, type ImageInfo, type Verify } from './image-folder.js';
export { cub200, parseIdLines, type CubOptions } from './cub.js';
export { DataLoader, type LoaderOptions, type Batch } from './loader.js';
export { NUM_CLASSES, numClasses, type NamedDataset } from './classes.js';
export { SequentialSampler, RandomSampler, DistributedSampler, ShardSampler, type Sampler, type DistributedOptions } from './sampler.js';
export { permutation, sampleKey, SampleRng, Xoshiro128, splitmix64, mix64, roundHalfEven } from './rng.js';
export { instanceSample, InstanceSampleDataset, type InstanceSample, type InstanceSampleOptions } from './instance-sample.js';
