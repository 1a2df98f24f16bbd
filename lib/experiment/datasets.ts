// The data sets an experiment config names (DATASET.TYPE): how each opens from its folder, which
// model zoo family its models come from, and its training and test transforms (the reference's);
// its number of classes is sdd.data.NUM_CLASSES. `sdd-torch train` and `sdd-torch eval` read them.
import path from 'node:path';
import * as data from '../data/index.js';
import * as transforms from '../data/transforms.js';
import type { Transform } from '../data/transforms.js';
import type { Dataset } from '../data/dataset.js';
import { numClasses } from '../data/classes.js';
import { ConfigError } from '../core/errors.js';
import { tidy } from '../core/scope.js';

import type { ModelFamily } from '../models/index.js';

export type Split = 'train' | 'test';

export interface DatasetRecipe {
  /** DATASET.TYPE */
  readonly type: string;
  readonly classes: number;
  /** the registry models.create resolves the config's model names in */
  readonly family: ModelFamily;
  /** the split of the data set in `root` (see README: where data sets go) */
  open(root: string, split: Split): Promise<Dataset>;
  transforms(split: Split): Transform[];
}

const imagenetTransforms = (split: Split): Transform[] => (split === 'train' ? transforms.imagenetTrain(224) : transforms.imagenetEval(224));

function cifar(type: 'cifar100' | 'cifar10'): Omit<DatasetRecipe, 'type' | 'classes'> {
  const open = type === 'cifar100' ? data.cifar100 : data.cifar10;
  return { family: 'cifar', open: (root, split) => open(root, { split }), transforms: (split) => (split === 'train' ? transforms.cifarTrain(type) : [transforms.normalize(type)]) };
}

/** Fashion-MNIST's grey statistics, repeated over the three channels the zoo's CIFAR models take. */
const FASHION_MNIST = { mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353] };

/** The grey 28×28 images as 3×28×28 (the gray channel repeated). */
async function threeChannels(grey: Promise<data.MnistDataset>): Promise<Dataset> {
  const ds = await grey;
  try {
    const [n, h, w] = ds.images.shape as [number, number, number];
    const images = tidy(() => ds.images.unsqueeze(1).expand([n, 3, h, w]).contiguous());
    return new data.TensorDataset(images, ds.targets, { classes: ds.classes, owned: true });
  } finally {
    ds.dispose();
  }
}

const RECIPES: Record<string, Omit<DatasetRecipe, 'type' | 'classes'>> = {
  cifar100: cifar('cifar100'),
  cifar10: cifar('cifar10'),
  cub200: { family: 'cifar', open: (root, split) => data.cub200(root, { split }), transforms: imagenetTransforms },
  imagenet: { family: 'imagenet', open: (root, split) => data.imageFolder(path.join(root, split === 'train' ? 'train' : 'val')), transforms: imagenetTransforms },
  // padded to 32×32 for the zoo's CIFAR models (`npm run demo` and `npm run experiment`)
  'fashion-mnist': {
    family: 'cifar',
    open: (root, split) => threeChannels(data.fashionMnist(root, { split })),
    transforms: (split) => (split === 'train'
      ? [transforms.pad(2), transforms.randomCrop(32, { padding: 2 }), transforms.randomHorizontalFlip(), transforms.normalize(FASHION_MNIST.mean, FASHION_MNIST.std)]
      : [transforms.pad(2), transforms.normalize(FASHION_MNIST.mean, FASHION_MNIST.std)]),
  },
};

/** The recipe of a DATASET.TYPE; `where` names the setting in the error for one that is not supported. */
export function datasetRecipe(type: string, where = 'DATASET.TYPE'): DatasetRecipe {
  const recipe = Object.prototype.hasOwnProperty.call(RECIPES, type) ? RECIPES[type] : undefined;
  const classes = numClasses(type);
  if (!recipe || classes === undefined) throw new ConfigError(`${where} ${type} is not supported (${Object.keys(RECIPES).join(', ')})`);
  return { type, classes, ...recipe };
}

/** Opens one split of a DATASET.TYPE from its folder, e.g. openDataset('cifar100', 'data/', 'test'). */
export function openDataset(type: string, root: string, split: Split): Promise<Dataset> {
  return datasetRecipe(type).open(root, split);
}
