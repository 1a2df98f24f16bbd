// What feature distillers read from the zoo, family by family, against the reference's definitions
// (mdistiller / SDD-CVPR2024 models: forward's feats["feats"] / ["preact_feats"] / ["pooled_feat"],
// get_bn_before_relu(), get_stage_channels()); the CUB-200 variants of the reference's
// train_origin.py (modify_*_for_cub200); the scale lists the reference knows.
import { describe, expect, it } from 'vitest';
import * as sdd from '../lib/index.js';

const { models } = sdd;

interface Case {
  family: 'cifar' | 'imagenet';
  name: string;
  input: number;
  /** [C, H] of each entry of features.stages (the reference's feats["feats"], stem first) */
  stages: [number, number][];
  preact: boolean;
  pooled: number;
  stageChannels: number[];
  /** module paths of bnBeforeRelu() (the reference's get_bn_before_relu), or null: it raises there */
  bn: string[] | null;
}

const CASES: Case[] = [
  { family: 'cifar', name: 'resnet8x4', input: 32, stages: [[32, 32], [64, 32], [128, 16], [256, 8]], preact: true, pooled: 256,
    stageChannels: [32, 64, 128, 256], bn: ['layer1.0.bn2', 'layer2.0.bn2', 'layer3.0.bn2'] },
  { family: 'cifar', name: 'resnet20', input: 32, stages: [[16, 32], [16, 32], [32, 16], [64, 8]], preact: true, pooled: 64,
    stageChannels: [16, 16, 32, 64], bn: ['layer1.2.bn2', 'layer2.2.bn2', 'layer3.2.bn2'] },
  { family: 'cifar', name: 'ResNet18', input: 32, stages: [[64, 32], [64, 32], [128, 16], [256, 8], [512, 4]], preact: true, pooled: 512,
    stageChannels: [64, 128, 256, 512], bn: ['layer1.1.bn2', 'layer2.1.bn2', 'layer3.1.bn2', 'layer4.1.bn2'] },
  { family: 'cifar', name: 'ResNet50', input: 32, stages: [[64, 32], [256, 32], [512, 16], [1024, 8], [2048, 4]], preact: true, pooled: 2048,
    stageChannels: [256, 512, 1024, 2048], bn: ['layer1.2.bn3', 'layer2.3.bn3', 'layer3.5.bn3', 'layer4.2.bn3'] },
  { family: 'cifar', name: 'wrn_16_2', input: 32, stages: [[16, 32], [32, 32], [64, 16], [128, 8]], preact: true, pooled: 128,
    stageChannels: [16, 32, 64, 128], bn: ['block2.layer.0.bn1', 'block3.layer.0.bn1', 'bn1'] },
  { family: 'cifar', name: 'vgg8', input: 32, stages: [[64, 32], [128, 16], [256, 8], [512, 4], [512, 4]], preact: true, pooled: 512,
    stageChannels: [64, 128, 256, 512, 512], bn: ['block1.1', 'block2.1', 'block3.1', 'block4.1'] },
  { family: 'cifar', name: 'vgg13', input: 32, stages: [[64, 32], [128, 16], [256, 8], [512, 4], [512, 4]], preact: true, pooled: 512,
    stageChannels: [64, 128, 256, 512, 512], bn: ['block1.4', 'block2.4', 'block3.4', 'block4.4'] },
  { family: 'cifar', name: 'MobileNetV2', input: 32, stages: [[16, 16], [12, 16], [16, 8], [48, 4], [160, 2]], preact: false, pooled: 1280,
    stageChannels: [16, 12, 16, 48, 160], bn: ['blocks.1.1.conv.7', 'blocks.2.2.conv.7', 'blocks.4.2.conv.7', 'blocks.6.0.conv.7'] },
  { family: 'cifar', name: 'ShuffleV1', input: 32, stages: [[24, 32], [240, 16], [480, 8], [960, 4]], preact: true, pooled: 960,
    stageChannels: [24, 240, 480, 960], bn: null },
  { family: 'cifar', name: 'ShuffleV2', input: 32, stages: [[24, 32], [116, 16], [232, 8], [464, 4]], preact: true, pooled: 1024,
    stageChannels: [24, 116, 232, 464], bn: null },
  // ImageNet models at 64x64 (the stage sizes scale with the input: 224 gives 112, 56, 28, 14, 7)
  { family: 'imagenet', name: 'ResNet18', input: 64, stages: [[64, 32], [64, 16], [128, 8], [256, 4], [512, 2]], preact: true, pooled: 512,
    stageChannels: [64, 128, 256, 512], bn: ['layer2.1.bn2', 'layer3.1.bn2', 'layer4.1.bn2'] },
  { family: 'imagenet', name: 'ResNet50', input: 64, stages: [[64, 32], [256, 16], [512, 8], [1024, 4], [2048, 2]], preact: true, pooled: 2048,
    stageChannels: [256, 512, 1024, 2048], bn: ['layer2.3.bn3', 'layer3.5.bn3', 'layer4.2.bn3'] },
  { family: 'imagenet', name: 'MobileNetV2', input: 64, stages: [[128, 16], [256, 8], [512, 4], [1024, 2]], preact: true, pooled: 1024,
    stageChannels: [128, 256, 512, 1024], bn: ['model.3.4', 'model.5.4', 'model.11.4', 'model.13.4'] },
];

describe('models expose what feature distillers need, as the reference defines it', () => {
  for (const c of CASES) {
    it(`${c.family} ${c.name}: features.stages / preact / pooled, stageChannels(), bnBeforeRelu()`, () => {
      sdd.manualSeed(0);
      const m = models.create(c.name, { dataset: c.family, allowReplicate: true });
      m.eval();
      sdd.tidy(() => {
        const out = sdd.noGrad(() => m.forward(sdd.randn([2, 3, c.input, c.input])));
        const f = out.features;
        expect(f.stages.map((t) => t.shape)).toEqual(c.stages.map(([ch, h]) => [2, ch, h, h]));
        if (c.preact) expect(f.preact!.map((t) => t.shape)).toEqual(c.stages.map(([ch, h]) => [2, ch, h, h]));
        else expect(f.preact).toBeUndefined();
        expect(f.pooled.shape).toEqual([2, c.pooled]);
        // the pooled vector is the global average of the last map, and the classifier scores it
        expect(f.pooled.allclose(f.map.mean([2, 3]), { atol: 1e-5 })).toBe(true);
        // preact: the last stage's pre-activation rectifies to its output (WRN's are BN'd, ShuffleV2's
        // are taken before the channel shuffle, as in the reference)
        if (c.preact && c.family === 'cifar' && !c.name.startsWith('wrn') && c.name !== 'ShuffleV2') {
          expect(f.preact!.at(-1)!.relu().allclose(f.stages.at(-1)!, { atol: 1e-6 })).toBe(true);
        }
      });
      expect(m.stageChannels()).toEqual(c.stageChannels);
      const shapes = m.featureShapes([c.input, c.input]);
      expect(shapes.stages).toEqual(c.stages.map(([ch, h]) => [1, ch, h, h]));
      expect(m.training).toBe(false);
      if (c.bn === null) {
        expect(() => m.bnBeforeRelu()).toThrow(/no get_bn_before_relu/);
      } else {
        const names = new Map(m.namedModules().map(([n, mod]) => [mod, n]));
        const bns = m.bnBeforeRelu();
        expect(bns.every((b) => b instanceof sdd.nn.BatchNorm2d)).toBe(true);
        expect(bns.map((b) => names.get(b))).toEqual(c.bn);
      }
    });
  }

  it('featureShapes() leaves the running statistics and the training mode alone', () => {
    const m = models.create('resnet8');
    const before = m.stateDict()['bn1.running_mean']!.clone();
    expect(m.featureShapes().pooled).toEqual([1, 64]);
    expect(m.training).toBe(true);
    expect(m.stateDict()['bn1.running_mean']!.equal(before)).toBe(true);
  });
});

describe('CUB-200 variants (the reference\'s modify_*_for_cub200, 224x224 images)', () => {
  // [name, last map at 224x224 (the unchanged model's), keys whose shapes the reference's CUB model has]
  const CUB: [string, number, number, Record<string, number[]>][] = [
    ['resnet32x4', 28, 56, { 'conv1.weight': [32, 3, 7, 7], 'fc.weight': [200, 256], 'fc.bias': [200] }],
    ['resnet8x4', 28, 56, { 'conv1.weight': [32, 3, 7, 7], 'fc.weight': [200, 256] }],
    ['ResNet50', 14, 28, { 'conv1.weight': [64, 3, 7, 7], 'linear.weight': [200, 2048] }],
    ['ResNet18', 28, 28, { 'conv1.weight': [64, 3, 3, 3], 'linear.weight': [200, 512] }],
    ['vgg13', 28, 28, { 'block0.0.weight': [64, 3, 3, 3], 'classifier.weight': [200, 512] }],
    ['vgg8', 28, 28, { 'classifier.weight': [200, 512] }],
    ['ShuffleV1', 14, 28, { 'conv1.weight': [24, 3, 7, 7], 'linear.weight': [200, 960] }],
    ['ShuffleV2', 14, 28, { 'conv1.weight': [24, 3, 7, 7], 'linear.weight': [200, 1024] }],
    ['MobileNetV2', 7, 14, { 'conv1.0.weight': [16, 3, 7, 7], 'conv1.1.weight': [16], 'classifier.0.weight': [200, 1280] }],
  ];
  for (const [name, size, plain, keys] of CUB) {
    it(`${name}: ${size}x${size} last map (unchanged model: ${plain}x${plain}); the reference's CUB keys load`, () => {
      sdd.manualSeed(0);
      const m = models.create(name, { dataset: 'cub200' });
      expect(m.numClasses).toBe(200);
      expect(m.cub200).toBe(true);
      expect(m.defaultInputSize()).toEqual([224, 224]);
      // the map size from a smaller input for the heavy ones (sizes scale with the input)
      const input = ['ResNet50', 'vgg13', 'vgg8', 'resnet32x4'].includes(name) ? 112 : 224;
      expect(m.featureShapes([input, input]).map.slice(2)).toEqual([size * input / 224, size * input / 224]);
      if (input === 224) {
        const plainShapes = models.create(name, { numClasses: 200 }).featureShapes([224, 224]);
        expect(plainShapes.map.slice(2)).toEqual([plain, plain]);
      }
      // a state dict with the reference's CUB shapes loads strictly
      const sd = m.stateDict();
      for (const [k, shape] of Object.entries(keys)) expect(sd[k]!.shape, k).toEqual(shape);
      const ref = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, k in keys ? sdd.zeros(keys[k]!) : v.clone()]));
      expect(() => m.loadStateDict(ref)).not.toThrow();
      expect(m.stateDict()[Object.keys(keys)[0]!]!.abs().sum().item()).toBe(0);
    });
  }

  it('the CUB stem differs from the CIFAR one, so a CIFAR checkpoint is refused (and vice versa)', () => {
    const cub = models.create('resnet32x4', { dataset: 'cub200' });
    const cifar = models.create('resnet32x4', { numClasses: 200 });
    expect(() => cub.loadStateDict(cifar.stateDict())).toThrow(/conv1\.weight.*\[32, 3, 3, 3\] vs model \[32, 3, 7, 7\]/);
  });

  it('families the reference has no CUB variant of are an error', () => {
    expect(() => models.create('wrn_40_2', { dataset: 'cub200' })).toThrow(/no CUB-200 variant/);
    expect(() => models.create('ResNet34', { dataset: 'imagenet', cub200: true })).toThrow(/no CUB-200 variant/);
  });
});

describe('scale lists: the reference knows M = [1], [1, 2], [1, 2, 4]', () => {
  it('other lists are an error unless allowAnyScales', () => {
    for (const scales of [[1], [1, 2], [1, 2, 4]]) expect(models.create('resnet8', { scales }).scales).toEqual(scales);
    for (const scales of [[1, 3], [2, 1], [1, 2, 4, 8], [2]]) {
      expect(() => models.create('resnet8', { scales })).toThrow(/not a scale list of the reference.*allowAnyScales: true/);
      expect(models.create('resnet8', { scales, allowAnyScales: true }).scales).toEqual(scales);
    }
    expect(() => models.create('resnet8', { scales: [1, 0], allowAnyScales: true })).toThrow(/positive integers/);
    expect(() => sdd.experiment.parseScales('1,3')).toThrow(/--allow-any-scales/);
    expect(sdd.experiment.parseScales('1,3', { allowAnyScales: true })).toEqual([1, 3]);
    expect(sdd.experiment.parseScales('[1,2,4]')).toEqual([1, 2, 4]);
  });

  it('maps smaller than the largest scale repeat cells only with allowReplicate', () => {
    const x = sdd.randn([1, 3, 32, 32]);
    expect(() => sdd.noGrad(() => models.create('MobileNetV2').eval().forward(x))).toThrow(/2x2, smaller than the largest scale 4.*allowReplicate/);
    const out = sdd.noGrad(() => models.create('MobileNetV2', { allowReplicate: true }).eval().forward(x));
    expect(out.scaleLogits.shape).toEqual([1, 100, 21]);
    expect(sdd.noGrad(() => models.create('MobileNetV2', { scales: [1, 2] }).eval().forward(x)).scaleLogits.shape).toEqual([1, 100, 5]);
  });
});
