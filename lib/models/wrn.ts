// Wide ResNets of the reference zoo (mdistiller models/cifar/wrn.py, WideResNet_SDD): pre-activation
// basic blocks, depth 6n+4, widths 16-16k-32k-64k. wrn_16_1, wrn_16_2, wrn_40_1, wrn_40_2.
import { Tensor } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Linear, ReLU } from '../nn/layers.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import * as F from '../nn/functional.js';
import { ACT, SddModel, avgPoolAll, cba, markEphemeral, release, type BodyOutput, type ModelOptions } from './base.js';

/** BN-ReLU-conv, BN-ReLU-conv, plus the input (or a 1x1 conv of the activated input when widths differ). */
export class WideBasicBlock extends Module {
  declare bn1: BatchNorm2d;
  declare relu1: ReLU;
  declare conv1: Conv2d;
  declare bn2: BatchNorm2d;
  declare relu2: ReLU;
  declare conv2: Conv2d;
  declare convShortcut: Conv2d | null;
  readonly droprate: number;
  readonly equalInOut: boolean;

  constructor(inPlanes: number, outPlanes: number, stride: number, dropRate = 0) {
    super();
    this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.registerModule('relu1', new ReLU());
    this.registerModule('conv1', new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(outPlanes));
    this.registerModule('relu2', new ReLU());
    this.registerModule('conv2', new Conv2d(outPlanes, outPlanes, 3, { stride: 1, padding: 1, bias: false }));
    this.droprate = dropRate;
    this.equalInOut = inPlanes === outPlanes;
    this.registerModule('convShortcut', this.equalInOut ? null : new Conv2d(inPlanes, outPlanes, 1, { stride, padding: 0, bias: false }));
    this.registerConvBn(this.conv1, this.bn2);
  }

  override forward(x: Tensor): Tensor {
    const bn = this.bn1.forward(x);
    const act = bn.relu();
    bn.dispose();
    let h = cba(this.conv1, this.bn2, act, ACT.relu);
    if (this.droprate > 0) {
      const d = F.dropout(h, this.droprate, this.training);
      h.dispose();
      h = d;
    }
    const shortcut = this.equalInOut ? x : this.convShortcut!.forward(act);
    const y = cba(this.conv2, null, h, ACT.none, shortcut);
    release(x, act, h, shortcut);
    return y;
  }
}
markEphemeral(WideBasicBlock);

/** A stage: nbLayers blocks in `layer` (keys block1.layer.0.bn1.weight, ...). */
export class NetworkBlock extends Module {
  declare layer: Sequential;
  constructor(nbLayers: number, inPlanes: number, outPlanes: number, stride: number, dropRate = 0) {
    super();
    const layers: Module[] = [];
    for (let i = 0; i < nbLayers; i++) layers.push(new WideBasicBlock(i === 0 ? inPlanes : outPlanes, outPlanes, i === 0 ? stride : 1, dropRate));
    this.registerModule('layer', new Sequential(...layers));
  }
  override forward(x: Tensor): Tensor {
    return this.layer.forward(x) as Tensor;
  }
}
markEphemeral(NetworkBlock);

/** The reference's WideResNet_SDD. */
export class WideResNet extends SddModel {
  declare conv1: Conv2d;
  declare block1: NetworkBlock;
  declare block2: NetworkBlock;
  declare block3: NetworkBlock;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare fc: Linear;
  readonly nChannels: number;
  readonly #stageChannels: number[];

  constructor(arch: string, depth: number, widenFactor: number, opts: ModelOptions & { dropRate?: number } = {}) {
    super(arch, opts, { numClasses: 100 });
    if (this.cub200) {
      throw new RangeError(`${arch}: the reference has no CUB-200 variant of the wide ResNets (its modify_*_for_cub200 knows ` +
        'resnet8x4, resnet32x4, ResNet18, ResNet50, vgg8, vgg13, ShuffleV1, ShuffleV2 and MobileNetV2)');
    }
    const nCh = [16, 16 * widenFactor, 32 * widenFactor, 64 * widenFactor];
    if ((depth - 4) % 6 !== 0) throw new RangeError('depth should be 6n+4');
    const n = (depth - 4) / 6;
    const dropRate = opts.dropRate ?? 0;
    this.registerModule('conv1', new Conv2d(3, nCh[0]!, 3, { stride: 1, padding: 1, bias: false }));
    this.registerModule('block1', new NetworkBlock(n, nCh[0]!, nCh[1]!, 1, dropRate));
    this.registerModule('block2', new NetworkBlock(n, nCh[1]!, nCh[2]!, 2, dropRate));
    this.registerModule('block3', new NetworkBlock(n, nCh[2]!, nCh[3]!, 2, dropRate));
    this.registerModule('bn1', new BatchNorm2d(nCh[3]!));
    this.registerModule('relu', new ReLU());
    this.registerModule('fc', new Linear(nCh[3]!, this.numClasses));
    this.nChannels = nCh[3]!;
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        const k = m.kernelSize[0] * m.kernelSize[1] * m.outChannels;
        init.normal_(m.weight, 0, Math.sqrt(2.0 / k));
      } else if (m instanceof BatchNorm2d) {
        init.constant_(m.weight!, 1);
        init.zeros_(m.bias!);
      } else if (m instanceof Linear) {
        init.zeros_(m.bias!);
      }
    }
    this.#stageChannels = nCh;
  }

  classifierLayer(): Linear {
    return this.fc;
  }

  /** F.avg_pool2d(out, 8): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  /** [16, 16k, 32k, 64k] (the reference's stage_channels). */
  override stageChannels(): number[] {
    return [...this.#stageChannels];
  }

  /** The BatchNorms that pre-activate stage outputs 1, 2, 3 (the reference's get_bn_before_relu). */
  override bnBeforeRelu(): BatchNorm2d[] {
    return [(this.block2.layer.at(0) as WideBasicBlock).bn1, (this.block3.layer.at(0) as WideBasicBlock).bn1, this.bn1];
  }

  protected body(x: Tensor): BodyOutput {
    const f0 = this.conv1.forward(x);
    const f1 = this.block1.forward(f0);
    const f2 = this.block2.forward(f1);
    const f3 = this.block3.forward(f2);
    const b = this.bn1.forward(f3);
    const map = b.relu();
    b.dispose();
    // As the reference: BN of the stage outputs for the pre-activation features. In training mode
    // this updates those three BatchNorms' running statistics a second time per forward, exactly
    // as the reference does (its num_batches_tracked count 2 per step there).
    const f1Pre = (this.block2.layer.at(0) as WideBasicBlock).bn1.forward(f1);
    const f2Pre = (this.block3.layer.at(0) as WideBasicBlock).bn1.forward(f2);
    const f3Pre = this.bn1.forward(f3);
    return { map, stages: [f0, f1, f2, f3], preact: [f0, f1Pre, f2Pre, f3Pre] };
  }
}

export const wideResNets: Record<string, (opts: ModelOptions) => WideResNet> = {
  wrn_16_1: (o) => new WideResNet('wrn_16_1', 16, 1, o),
  wrn_16_2: (o) => new WideResNet('wrn_16_2', 16, 2, o),
  wrn_40_1: (o) => new WideResNet('wrn_40_1', 40, 1, o),
  wrn_40_2: (o) => new WideResNet('wrn_40_2', 40, 2, o),
};
