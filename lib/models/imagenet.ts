// ImageNet models of the reference zoo (mdistiller models/imagenet/resnet.py and mobilenetv2.py):
// ResNet18/34/50/101/152 (torchvision layout and keys; the blocks apply the ReLU at their input
// instead of their output, as the reference does) and MobileNet-V1, which the reference registers
// as ImageNet "MobileNetV2". 7x7 last map for 224x224 inputs (the SDD head's 4x4 grid then
// overlaps, see sdd.multiScalePool).
import { Tensor } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU } from '../nn/layers.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { ACT, SddModel, avgPoolAll, cba, conv3x3, markEphemeral, release, runBlocks, type BodyOutput, type ModelOptions } from './base.js';

export class ImageNetBasicBlock extends Module {
  static readonly expansion = 1;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare downsample: Sequential | null;
  readonly stride: number;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.registerModule('conv1', conv3x3(inplanes, planes, stride));
    this.registerModule('bn1', new BatchNorm2d(planes));
    this.registerModule('relu', new ReLU());
    this.registerModule('conv2', conv3x3(planes, planes));
    this.registerModule('bn2', new BatchNorm2d(planes));
    this.registerModule('downsample', downsample);
    this.stride = stride;
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
  }
  override forward(x: Tensor): Tensor {
    const xr = x.relu();
    const out = cba(this.conv1, this.bn1, xr, ACT.relu);
    const residual = this.downsample ? (this.downsample.forward(xr) as Tensor) : xr;
    const y = cba(this.conv2, this.bn2, out, ACT.none, residual);
    release(x, xr, out, residual);
    return y;
  }
}

export class ImageNetBottleneck extends Module {
  static readonly expansion = 4;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  declare relu: ReLU;
  declare downsample: Sequential | null;
  readonly stride: number;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.registerModule('conv1', new Conv2d(inplanes, planes, 1, { bias: false }));
    this.registerModule('bn1', new BatchNorm2d(planes));
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(planes));
    this.registerModule('conv3', new Conv2d(planes, planes * 4, 1, { bias: false }));
    this.registerModule('bn3', new BatchNorm2d(planes * 4));
    this.registerModule('relu', new ReLU());
    this.registerModule('downsample', downsample);
    this.stride = stride;
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
    this.registerConvBn(this.conv3, this.bn3);
  }
  override forward(x: Tensor): Tensor {
    const xr = x.relu();
    const a = cba(this.conv1, this.bn1, xr, ACT.relu);
    const b = cba(this.conv2, this.bn2, a, ACT.relu);
    const residual = this.downsample ? (this.downsample.forward(xr) as Tensor) : xr;
    const y = cba(this.conv3, this.bn3, b, ACT.none, residual);
    release(x, xr, a, b, residual);
    return y;
  }
}
markEphemeral(ImageNetBasicBlock, ImageNetBottleneck);

type BlockClass = typeof ImageNetBasicBlock | typeof ImageNetBottleneck;

/** The reference's ImageNet ResNet_SDD. */
export class ImageNetResNet extends SddModel {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare maxpool: MaxPool2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare layer4: Sequential;
  declare avgpool: AvgPool2d;
  declare fc: Linear;
  readonly #expansion: number;
  #inplanes = 64;

  constructor(arch: string, block: BlockClass, layers: number[], opts: ModelOptions = {}) {
    super(arch, opts, { numClasses: 1000 });
    if (this.cub200) throw new RangeError(`${arch}: the ImageNet models have no CUB-200 variant; CUB-200 uses the CIFAR zoo's models (dataset: 'cub200')`);
    this.#inplanes = 64;
    this.#expansion = block.expansion;
    this.registerModule('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(64));
    this.registerModule('relu', new ReLU());
    this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    this.registerModule('layer1', this.#makeLayer(block, 64, layers[0]!));
    this.registerModule('layer2', this.#makeLayer(block, 128, layers[1]!, 2));
    this.registerModule('layer3', this.#makeLayer(block, 256, layers[2]!, 2));
    this.registerModule('layer4', this.#makeLayer(block, 512, layers[3]!, 2));
    this.registerModule('avgpool', new AvgPool2d(7, { stride: 1 }));
    this.registerModule('fc', new Linear(512 * block.expansion, this.numClasses));
    this.registerConvBn(this.conv1, this.bn1);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        const n = m.kernelSize[0] * m.kernelSize[1] * m.outChannels;
        init.normal_(m.weight, 0, Math.sqrt(2.0 / n));
      } else if (m instanceof BatchNorm2d) {
        init.constant_(m.weight!, 1);
        init.zeros_(m.bias!);
      }
    }
  }

  #makeLayer(block: BlockClass, planes: number, blocks: number, stride = 1): Sequential {
    let downsample: Sequential | null = null;
    if (stride !== 1 || this.#inplanes !== planes * block.expansion) {
      downsample = new Sequential(
        new Conv2d(this.#inplanes, planes * block.expansion, 1, { stride, bias: false }),
        new BatchNorm2d(planes * block.expansion),
      );
    }
    const layers: Module[] = [new block(this.#inplanes, planes, stride, downsample)];
    this.#inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) layers.push(new block(this.#inplanes, planes));
    return new Sequential(...layers);
  }

  classifierLayer(): Linear {
    return this.fc;
  }

  /**
   * The output widths of the four stages: [256, 512, 1024, 2048] for the bottleneck ResNets, as the
   * reference's get_stage_channels. (The reference returns that list for ResNet18/34 too; here it is
   * their own, [64, 128, 256, 512], the channels their features have.)
   */
  override stageChannels(): number[] {
    return [64, 128, 256, 512].map((c) => c * this.#expansion);
  }

  /** The last BatchNorm of the last block of stages 2, 3, 4 (the reference's get_bn_before_relu; stage 1 is left out there). */
  override bnBeforeRelu(): BatchNorm2d[] {
    return [this.layer2, this.layer3, this.layer4].map((l) => {
      const b = l.children().at(-1)!;
      return b instanceof ImageNetBottleneck ? b.bn3 : (b as ImageNetBasicBlock).bn2;
    });
  }

  override defaultInputSize(): [number, number] {
    return [224, 224];
  }

  /** nn.AvgPool2d(7) on the 7x7 map (224x224 input): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  protected body(x: Tensor): BodyOutput {
    const stem = cba(this.conv1, this.bn1, x, ACT.none);
    const s = stem.relu();
    const p = this.maxpool.forward(s);
    const feat1 = runBlocks(this.layer1.children(), p);
    p.dispose();
    const feat2 = runBlocks(this.layer2.children(), feat1);
    const feat3 = runBlocks(this.layer3.children(), feat2);
    const pre4 = runBlocks(this.layer4.children(), feat3);
    const map = pre4.relu();
    pre4.dispose();
    // As the reference: feats are the ReLU of every stage (stem included), preact the raw ones;
    // the last stage's preact is, as there, already rectified.
    return { map, stages: [s, feat1.relu(), feat2.relu(), feat3.relu(), map], preact: [stem, feat1, feat2, feat3, map] };
  }
}

/** MobileNet-V1 (conv-BN-ReLU stem, 13 depthwise-separable blocks), the reference's ImageNet "MobileNetV2". */
export class MobileNetV1 extends SddModel {
  declare model: Sequential;
  declare fc: Linear;

  constructor(arch: string, opts: ModelOptions = {}) {
    super(arch, opts, { numClasses: 1000 });
    if (this.cub200) throw new RangeError(`${arch}: the ImageNet models have no CUB-200 variant; CUB-200 uses the CIFAR zoo's models (dataset: 'cub200')`);
    const convBn = (inp: number, oup: number, stride: number): Sequential =>
      new Sequential(new Conv2d(inp, oup, 3, { stride, padding: 1, bias: false }), new BatchNorm2d(oup), new ReLU());
    const convDw = (inp: number, oup: number, stride: number): Sequential => new Sequential(
      new Conv2d(inp, inp, 3, { stride, padding: 1, groups: inp, bias: false }), new BatchNorm2d(inp), new ReLU(),
      new Conv2d(inp, oup, 1, { stride: 1, padding: 0, bias: false }), new BatchNorm2d(oup), new ReLU());
    this.registerModule('model', new Sequential(
      convBn(3, 32, 2),
      convDw(32, 64, 1), convDw(64, 128, 2), convDw(128, 128, 1), convDw(128, 256, 2), convDw(256, 256, 1),
      convDw(256, 512, 2), convDw(512, 512, 1), convDw(512, 512, 1), convDw(512, 512, 1), convDw(512, 512, 1),
      convDw(512, 512, 1), convDw(512, 1024, 2), convDw(1024, 1024, 1),
      new AvgPool2d(7),
    ));
    this.registerModule('fc', new Linear(1024, this.numClasses));
  }

  classifierLayer(): Linear {
    return this.fc;
  }

  /** [128, 256, 512, 1024] (the reference's get_stage_channels). */
  override stageChannels(): number[] {
    return [128, 256, 512, 1024];
  }

  /** The BatchNorm before the last ReLU of blocks 3, 5, 11, 13 (the reference's get_bn_before_relu). */
  override bnBeforeRelu(): BatchNorm2d[] {
    return [3, 5, 11, 13].map((i) => (this.model.at(i) as Sequential).at(4) as BatchNorm2d);
  }

  override defaultInputSize(): [number, number] {
    return [224, 224];
  }

  /** nn.AvgPool2d(7) on the 7x7 map (224x224 input): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  /** Blocks first..last of `model`, the last one without its final ReLU (the reference's model[i][:-1]). */
  #run(x: Tensor, first: number, last: number): Tensor {
    const kids = this.model.children();
    const mid = runBlocks(kids.slice(first, last), x);
    const k = (kids[last] as Sequential).children() as [Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d, ReLU];
    const h = cba(k[0], k[1], mid, ACT.relu);
    const y = cba(k[3], k[4], h, ACT.none);
    release(x, mid, h);
    return y;
  }

  protected body(x: Tensor): BodyOutput {
    const feat1 = this.#run(x, 0, 3);
    const r1 = feat1.relu();
    const feat2 = this.#run(r1, 4, 5);
    const r2 = feat2.relu();
    const feat3 = this.#run(r2, 6, 11);
    const r3 = feat3.relu();
    const pre4 = this.#run(r3, 12, 13);
    const map = pre4.relu();
    pre4.dispose();
    return { map, stages: [r1, r2, r3, map], preact: [feat1, feat2, feat3, map] };
  }
}

export const imagenetModels: Record<string, (opts: ModelOptions) => SddModel> = {
  ResNet18: (o) => new ImageNetResNet('ResNet18', ImageNetBasicBlock, [2, 2, 2, 2], o),
  ResNet34: (o) => new ImageNetResNet('ResNet34', ImageNetBasicBlock, [3, 4, 6, 3], o),
  ResNet50: (o) => new ImageNetResNet('ResNet50', ImageNetBottleneck, [3, 4, 6, 3], o),
  ResNet101: (o) => new ImageNetResNet('ResNet101', ImageNetBottleneck, [3, 4, 23, 3], o),
  ResNet152: (o) => new ImageNetResNet('ResNet152', ImageNetBottleneck, [3, 8, 36, 3], o),
  MobileNetV2: (o) => new MobileNetV1('MobileNetV2', o),
};
