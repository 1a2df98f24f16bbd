// How many classes each named data set has: the one table that models.create's defaults
// ({ dataset }), the experiment layer (DATASET.TYPE) and `sdd-torch eval --dataset` read.
export const NUM_CLASSES = {
  cifar100: 100, cifar10: 10, cub200: 200, imagenet: 1000, mnist: 10, 'fashion-mnist': 10, kmnist: 10,
} as const satisfies Record<string, number>;

/** A data set name NUM_CLASSES knows. */
export type NamedDataset = keyof typeof NUM_CLASSES;

/** The number of classes of a named data set, or undefined for a name the table does not have. */
export function numClasses(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(NUM_CLASSES, name) ? NUM_CLASSES[name as NamedDataset] : undefined;
}
