// The CIFAR "resnetv2" family of the reference zoo (mdistiller models/cifar/resnetv2.py, ResNet_SDD):
// ResNet18 (basic blocks 2-2-2-2) and ResNet50 (bottlenecks 3-4-6-3), 64-wide 3x3 stem, four
// stages, 4x4 last map for 32x32 inputs. (ResNet34/101/152 are built by the same class.)
import { Tensor } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear } from '../nn/layers.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { ACT, SddModel, cba, markEphemeral, release, type BodyOutput, type ModelOptions } from './base.js';
import { runStages } from './resnet-cifar.js';

/** Shortcut: identity (an empty Sequential) or 1x1 conv-BN. */
function shortcut(inPlanes: number, outPlanes: number, stride: number): Sequential {
  if (stride === 1 && inPlanes === outPlanes) return new Sequential();
  return new Sequential(new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false }), new BatchNorm2d(outPlanes));
}

abstract class V2Block extends Module {
  declare shortcut: Sequential;
  readonly isLast: boolean;
  constructor(isLast: boolean) {
    super();
    this.isLast = isLast;
  }
  /** The residual branch up to (excluding) its last conv-BN, and that conv-BN. */
  protected abstract branch(x: Tensor): [Tensor, Conv2d, BatchNorm2d];

  forwardWithPreact(x: Tensor): [Tensor, Tensor] {
    const [h, conv, bn] = this.branch(x);
    const res = this.shortcut.forward(x) as Tensor;
    const preact = cba(conv, bn, h, ACT.none, res);
    release(x, h, res);
    return [preact.relu(), preact];
  }

  override forward(x: Tensor): Tensor {
    const [h, conv, bn] = this.branch(x);
    const res = this.shortcut.forward(x) as Tensor;
    const y = cba(conv, bn, h, ACT.relu, res);
    release(x, h, res);
    return y;
  }
}

export class V2BasicBlock extends V2Block {
  static readonly expansion = 1;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  constructor(inPlanes: number, planes: number, stride = 1, isLast = false) {
    super(isLast);
    this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(planes));
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(planes));
    this.registerModule('shortcut', shortcut(inPlanes, planes, stride));
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
  }
  protected branch(x: Tensor): [Tensor, Conv2d, BatchNorm2d] {
    return [cba(this.conv1, this.bn1, x, ACT.relu), this.conv2, this.bn2];
  }
}

export class V2Bottleneck extends V2Block {
  static readonly expansion = 4;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  constructor(inPlanes: number, planes: number, stride = 1, isLast = false) {
    super(isLast);
    this.registerModule('conv1', new Conv2d(inPlanes, planes, 1, { bias: false }));
    this.registerModule('bn1', new BatchNorm2d(planes));
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(planes));
    this.registerModule('conv3', new Conv2d(planes, 4 * planes, 1, { bias: false }));
    this.registerModule('bn3', new BatchNorm2d(4 * planes));
    this.registerModule('shortcut', shortcut(inPlanes, 4 * planes, stride));
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
    this.registerConvBn(this.conv3, this.bn3);
  }
  protected branch(x: Tensor): [Tensor, Conv2d, BatchNorm2d] {
    const a = cba(this.conv1, this.bn1, x, ACT.relu);
    const b = cba(this.conv2, this.bn2, a, ACT.relu);
    a.dispose();
    return [b, this.conv3, this.bn3];
  }
}
markEphemeral(V2BasicBlock, V2Bottleneck);

type BlockClass = (typeof V2BasicBlock | typeof V2Bottleneck);

/** The reference's ResNet_SDD of resnetv2.py. */
export class CifarResNetV2 extends SddModel {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare layer4: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare linear: Linear;
  readonly #expansion: number;
  #inPlanes = 64;

  constructor(arch: string, block: BlockClass, numBlocks: number[], opts: ModelOptions & { zeroInitResidual?: boolean } = {}) {
    super(arch, opts, { numClasses: 100 });
    this.#inPlanes = 64;
    this.#expansion = block.expansion;
    // CUB-200 (the reference's modify_teacher_model_for_cub200): ResNet50 gets a 7x7 stride-2 stem
    // (14x14 last map at 224x224); ResNet18 only a new classifier (28x28 last map)
    const cubStem = this.cub200 && block === V2Bottleneck;
    this.registerModule('conv1', cubStem
      ? new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false })
      : new Conv2d(3, 64, 3, { stride: 1, padding: 1, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(64));
    this.registerModule('layer1', this.#makeLayer(block, 64, numBlocks[0]!, 1));
    this.registerModule('layer2', this.#makeLayer(block, 128, numBlocks[1]!, 2));
    this.registerModule('layer3', this.#makeLayer(block, 256, numBlocks[2]!, 2));
    this.registerModule('layer4', this.#makeLayer(block, 512, numBlocks[3]!, 2));
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('linear', new Linear(512 * block.expansion, this.numClasses));
    this.registerConvBn(this.conv1, this.bn1);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        init.constant_(m.weight!, 1);
        init.constant_(m.bias!, 0);
      }
    }
    if (opts.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof V2Bottleneck) init.constant_(m.bn3.weight!, 0);
        else if (m instanceof V2BasicBlock) init.constant_(m.bn2.weight!, 0);
      }
    }
  }

  #makeLayer(block: BlockClass, planes: number, numBlocks: number, stride: number): Sequential {
    const strides = [stride, ...Array<number>(numBlocks - 1).fill(1)];
    const layers: Module[] = [];
    for (let i = 0; i < numBlocks; i++) {
      layers.push(new block(this.#inPlanes, planes, strides[i]!, i === numBlocks - 1));
      this.#inPlanes = planes * block.expansion;
    }
    return new Sequential(...layers);
  }

  classifierLayer(): Linear {
    return this.linear;
  }

  /**
   * The output widths of the four stages: [256, 512, 1024, 2048] for ResNet50, as the reference's
   * stage_channels. (The reference returns that list for ResNet18 too; here it is ResNet18's own,
   * [64, 128, 256, 512], the channels its features have.)
   */
  override stageChannels(): number[] {
    return [64, 128, 256, 512].map((c) => c * this.#expansion);
  }

  /** The last BatchNorm of each stage's last block (the reference's get_bn_before_relu). */
  override bnBeforeRelu(): BatchNorm2d[] {
    return [this.layer1, this.layer2, this.layer3, this.layer4].map((l) => {
      const b = l.children().at(-1)!;
      return b instanceof V2Bottleneck ? b.bn3 : (b as V2BasicBlock).bn2;
    });
  }

  protected body(x: Tensor): BodyOutput {
    const { stages, preact } = runStages(cba(this.conv1, this.bn1, x, ACT.relu), [this.layer1, this.layer2, this.layer3, this.layer4]);
    return { map: stages[4]!, stages, preact };
  }
}

export const cifarResNetV2s: Record<string, (opts: ModelOptions) => CifarResNetV2> = {
  ResNet18: (o) => new CifarResNetV2('ResNet18', V2BasicBlock, [2, 2, 2, 2], o),
  ResNet50: (o) => new CifarResNetV2('ResNet50', V2Bottleneck, [3, 4, 6, 3], o),
};
