// sdd.models: the distillation model zoo (the reference's CIFAR and ImageNet registries) and a
// registry users can extend. models.create(name, { numClasses, scales, dataset }) -> SddModel whose
// forward(x) returns { logits, scaleLogits, features }.
import { checkDevice, type Device, type DTypeLike } from '../core/dtype.js';
import { checkBoolean, checkOptions, invalidParameterError } from '../core/errors.js';
import { registerFactory } from '../core/registry.js';
import { NUM_CLASSES } from '../data/classes.js';
import { SddModel, type ModelOptions } from './base.js';
import { cifarResNets } from './resnet-cifar.js';
import { wideResNets } from './wrn.js';
import { vggs } from './vgg.js';
import { mobileNetV2s } from './mobilenetv2.js';
import { shuffleNets } from './shufflenet.js';
import { cifarResNetV2s } from './resnetv2.js';
import { imagenetModels } from './imagenet.js';

export { SddModel, type ModelOptions, type ModelOutput, type ModelFeatures, type BodyOutput, type FeatureShapes } from './base.js';
export { CifarResNet, BasicBlock } from './resnet-cifar.js';
export { WideResNet, WideBasicBlock, NetworkBlock } from './wrn.js';
export { VGG } from './vgg.js';
export { MobileNetV2, InvertedResidual } from './mobilenetv2.js';
export { ShuffleNetV1, ShuffleNetV2, ShuffleV1Bottleneck, ShuffleV2Block, ShuffleV2DownBlock } from './shufflenet.js';
export { CifarResNetV2, V2BasicBlock, V2Bottleneck } from './resnetv2.js';
export { ImageNetResNet, ImageNetBasicBlock, ImageNetBottleneck, MobileNetV1 } from './imagenet.js';

/** The registry a name is looked up in: CIFAR-sized models (CIFAR-10/100, CUB-200 configs) or ImageNet ones. */
export type ModelFamily = 'cifar' | 'imagenet';
/** A data set name as the reference's DATASET.TYPE, or a family. */
export type Dataset = ModelFamily | 'cifar100' | 'cifar10' | 'cub200';

export type ModelFactory = (opts: ModelOptions) => SddModel;

export interface CreateOptions extends ModelOptions {
  /**
   * Which registry resolves the name (names such as ResNet50 and MobileNetV2 exist in both, as in the
   * reference). Default: the CIFAR one, or ImageNet for names only it has. Also sets the default
   * numClasses: cifar100 100, cifar10 10, cub200 200, imagenet 1000.
   */
  dataset?: Dataset;
  device?: Device;
  /** Floating dtype of the parameters (default float32). */
  dtype?: DTypeLike;
  /** Channels-last weights and input (model.toChannelsLast()). */
  channelsLast?: boolean;
}

const FAMILY: Record<Dataset, ModelFamily> = { cifar: 'cifar', cifar100: 'cifar', cifar10: 'cifar', cub200: 'cifar', imagenet: 'imagenet' };

const registry: Record<ModelFamily, Map<string, ModelFactory>> = { cifar: new Map(), imagenet: new Map() };
const aliases: Record<ModelFamily, Map<string, string>> = { cifar: new Map(), imagenet: new Map() };

for (const group of [cifarResNets, wideResNets, vggs, mobileNetV2s, shuffleNets, cifarResNetV2s]) {
  for (const [name, f] of Object.entries(group)) registry.cifar.set(name, f);
}
for (const [name, f] of Object.entries(imagenetModels)) registry.imagenet.set(name, f);
for (const v of ['vgg8', 'vgg11', 'vgg13', 'vgg16', 'vgg19']) aliases.cifar.set(`${v}_bn`, v);
aliases.cifar.set('mobile_half', 'MobileNetV2');
aliases.imagenet.set('MobileNetV1', 'MobileNetV2');

/**
 * Adds a model to the registry (family 'cifar' by default). The factory receives the resolved
 * options ({ numClasses, scales, poolMode }) and returns an SddModel. Names are letters, digits,
 * '_', '-' or '.'; a name already registered needs { override: true } (the rule of
 * distillers.register too). Names also resolve with the reference's "_sdd" suffix.
 */
export function register(name: string, factory: ModelFactory, opts: { dataset?: Dataset; override?: boolean } = {}): void {
  const o = checkOptions<{ dataset?: Dataset; override?: boolean }>('models.register options', opts, { dataset: 'any', override: 'boolean' });
  const family = familyOf(o.dataset ?? 'cifar');
  registerFactory(registry[family], 'models.register', name, factory, o.override, family);
}

/** The registered names (both families unless one is given). */
export function list(dataset?: Dataset): string[] {
  const fams: ModelFamily[] = dataset === undefined ? ['cifar', 'imagenet'] : [familyOf(dataset)];
  return fams.flatMap((f) => [...registry[f].keys()].map((n) => (dataset === undefined ? `${f}:${n}` : n)));
}

function familyOf(dataset: unknown): ModelFamily {
  const f = FAMILY[dataset as Dataset];
  if (f === undefined) throw invalidParameterError('dataset', `one of ${Object.keys(FAMILY).join(', ')}`, dataset);
  return f;
}

function lookup(family: ModelFamily, name: string): string | undefined {
  const candidates = [name, name.replace(/_sdd$/, '')];
  for (const c of candidates) {
    if (registry[family].has(c)) return c;
    const a = aliases[family].get(c);
    if (a !== undefined && registry[family].has(a)) return a;
  }
  return undefined;
}

/** Resolves a name (with or without the reference's "_sdd" suffix) to { family, name }. */
export function resolve(name: string, dataset?: Dataset): { family: ModelFamily; name: string } {
  if (typeof name !== 'string') throw invalidParameterError('name', 'a model name', name);
  if (dataset !== undefined) {
    const family = familyOf(dataset);
    const found = lookup(family, name);
    if (found === undefined) {
      throw new RangeError(`models.create: unknown ${family} model "${name}"; known: ${[...registry[family].keys()].join(', ')}`);
    }
    return { family, name: found };
  }
  for (const family of ['cifar', 'imagenet'] as const) {
    const found = lookup(family, name);
    if (found !== undefined) return { family, name: found };
  }
  throw new RangeError(`models.create: unknown model "${name}"; CIFAR: ${[...registry.cifar.keys()].join(', ')}; ` +
    `ImageNet (dataset: 'imagenet'): ${[...registry.imagenet.keys()].join(', ')}`);
}

/**
 * Builds a zoo model: `create('resnet32x4', { numClasses: 100, scales: [1, 2, 4] })`. With
 * `dataset: 'cub200'` it is the reference's CUB-200 variant for 224x224 images (7x7 stride-2 stem
 * where the reference has one, see ModelOptions.cub200), numClasses 200 by default. Scale lists
 * other than [1], [1, 2], [1, 2, 4] need allowAnyScales; maps smaller than the largest scale need
 * allowReplicate (CIFAR MobileNetV2 at 32x32 with [1, 2, 4], as the reference runs it). Reference
 * names with the "_sdd" suffix resolve to the same models (resnet32x4_sdd, ShuffleV1_sdd, ...).
 * The architecture, state-dict keys, shapes, parameter counts and initialisation (same draws per
 * manualSeed) are the reference's.
 */
export function create(name: string, opts: CreateOptions = {}): SddModel {
  const o = checkOptions<CreateOptions>('models.create options', opts, {
    numClasses: { kind: 'integer', min: 1 }, scales: 'any', poolMode: 'any', dataset: 'any', device: 'any', dtype: 'any', channelsLast: 'boolean',
    allowAnyScales: 'boolean', allowReplicate: 'boolean', cub200: 'boolean',
  }, { hints: { num_classes: 'numClasses', M: 'scales', pretrained: 'nothing (load weights with sdd.checkpoint.load + model.loadStateDict)', channels_last: 'channelsLast',
    allow_any_scales: 'allowAnyScales', allow_replicate: 'allowReplicate' } });
  if (o.device !== undefined) checkDevice('options.device', o.device);
  const { family, name: resolved } = resolve(name, o.dataset);
  const dataset: Dataset = o.dataset ?? family;
  const factory = registry[family].get(resolved)!;
  const model = factory({ numClasses: o.numClasses ?? NUM_CLASSES[dataset === 'cifar' ? 'cifar100' : dataset], scales: o.scales, poolMode: o.poolMode,
    ...(o.allowAnyScales !== undefined ? { allowAnyScales: o.allowAnyScales } : {}),
    ...(o.allowReplicate !== undefined ? { allowReplicate: o.allowReplicate } : {}),
    // the reference's CUB-200 variant (7x7 stride-2 stem where it has one) for dataset 'cub200'
    ...(dataset === 'cub200' || o.cub200 === true ? { cub200: true } : {}),
  });
  if (!(model instanceof SddModel)) throw new TypeError(`models.create: the factory of "${resolved}" did not return an SddModel`);
  if (o.device !== undefined || o.dtype !== undefined) {
    model.to({ ...(o.device !== undefined ? { device: checkDevice('device', o.device) } : {}), ...(o.dtype !== undefined ? { dtype: o.dtype } : {}) });
  }
  if (o.channelsLast !== undefined && checkBoolean('channelsLast', o.channelsLast)) model.toChannelsLast();
  return model;
}
