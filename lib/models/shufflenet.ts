// ShuffleNets of the reference zoo (mdistiller models/cifar/ShuffleNetv1.py and ShuffleNetv2.py, the
// _SDD classes): ShuffleV1 (groups 3, 240-480-960) and ShuffleV2 (net size 1, 116-232-464, 1024
// last conv). 1x1 stem, 4x4 last map for 32x32 inputs. PyTorch's default initialisation throughout.
import { Tensor, cat } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { AvgPool2d, BatchNorm2d, ChannelShuffle, Conv2d, Linear } from '../nn/layers.js';
import { Sequential } from '../nn/containers.js';
import { ACT, SddModel, avgPoolAll, cba, markEphemeral, release, runBlocks, type BodyOutput, type ModelOptions } from './base.js';
import { runStages } from './resnet-cifar.js';
import type { ActCode } from '../nn/binding.js';

/** The 1x1 stem convolution, or the CUB-200 variant's 7x7 stride-2 one. */
function stem(cub200: boolean): Conv2d {
  return cub200 ? new Conv2d(3, 24, 7, { stride: 2, padding: 3, bias: false }) : new Conv2d(3, 24, 1, { bias: false });
}

// ------------------------------------------------------------------ ShuffleNet V1

export class ShuffleV1Bottleneck extends Module {
  readonly isLast: boolean;
  readonly stride: number;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare shuffle1: ChannelShuffle;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  declare shortcut: Sequential;

  constructor(inPlanes: number, outPlanes: number, stride: number, groups: number, isLast = false) {
    super();
    this.isLast = isLast;
    this.stride = stride;
    const mid = Math.trunc(outPlanes / 4);
    const g = inPlanes === 24 ? 1 : groups;
    this.registerModule('conv1', new Conv2d(inPlanes, mid, 1, { groups: g, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(mid));
    this.registerModule('shuffle1', new ChannelShuffle(g));
    this.registerModule('conv2', new Conv2d(mid, mid, 3, { stride, padding: 1, groups: mid, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(mid));
    this.registerModule('conv3', new Conv2d(mid, outPlanes, 1, { groups, bias: false }));
    this.registerModule('bn3', new BatchNorm2d(outPlanes));
    this.registerModule('shortcut', stride === 2 ? new Sequential(new AvgPool2d(3, { stride: 2, padding: 1 })) : new Sequential());
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
    this.registerConvBn(this.conv3, this.bn3);
  }

  forwardWithPreact(x: Tensor): [Tensor, Tensor] {
    const a = cba(this.conv1, this.bn1, x, ACT.relu);
    const s = this.shuffle1.forward(a);
    const b = cba(this.conv2, this.bn2, s, ACT.relu);
    release(x, a, s);
    const res = this.shortcut.forward(x) as Tensor;
    let preact: Tensor;
    if (this.stride === 2) {
      const c = cba(this.conv3, this.bn3, b, ACT.none);
      preact = cat([c, res], 1);
      c.dispose();
    } else {
      preact = cba(this.conv3, this.bn3, b, ACT.none, res);
    }
    release(x, b, res);
    return [preact.relu(), preact];
  }

  override forward(x: Tensor): Tensor {
    if (this.stride === 2) {
      const [out, preact] = this.forwardWithPreact(x);
      preact.dispose();
      return out;
    }
    const a = cba(this.conv1, this.bn1, x, ACT.relu);
    const s = this.shuffle1.forward(a);
    const b = cba(this.conv2, this.bn2, s, ACT.relu);
    const y = cba(this.conv3, this.bn3, b, ACT.relu, x);
    release(x, a, s, b);
    return y;
  }
}
markEphemeral(ShuffleV1Bottleneck);

/** The reference's ShuffleNet_SDD. */
export class ShuffleNetV1 extends SddModel {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare linear: Linear;
  #inPlanes = 24;
  readonly #stageChannels: number[];

  constructor(arch: string, cfg: { outPlanes: number[]; numBlocks: number[]; groups: number }, opts: ModelOptions = {}) {
    super(arch, opts, { numClasses: 100 });
    // CUB-200 (the reference's modify_student_model_for_cub200): 7x7 stride-2 stem, 14x14 last map at 224x224
    this.registerModule('conv1', stem(this.cub200));
    this.#stageChannels = [24, ...cfg.outPlanes];
    this.registerModule('bn1', new BatchNorm2d(24));
    this.#inPlanes = 24;
    this.registerModule('layer1', this.#makeLayer(cfg.outPlanes[0]!, cfg.numBlocks[0]!, cfg.groups));
    this.registerModule('layer2', this.#makeLayer(cfg.outPlanes[1]!, cfg.numBlocks[1]!, cfg.groups));
    this.registerModule('layer3', this.#makeLayer(cfg.outPlanes[2]!, cfg.numBlocks[2]!, cfg.groups));
    this.registerModule('linear', new Linear(cfg.outPlanes[2]!, this.numClasses));
    this.registerConvBn(this.conv1, this.bn1);
  }

  #makeLayer(outPlanes: number, numBlocks: number, groups: number): Sequential {
    const layers: Module[] = [];
    for (let i = 0; i < numBlocks; i++) {
      const stride = i === 0 ? 2 : 1;
      const catPlanes = i === 0 ? this.#inPlanes : 0;
      layers.push(new ShuffleV1Bottleneck(this.#inPlanes, outPlanes - catPlanes, stride, groups, i === numBlocks - 1));
      this.#inPlanes = outPlanes;
    }
    return new Sequential(...layers);
  }

  classifierLayer(): Linear {
    return this.linear;
  }

  /** nn.AvgPool2d(4) (14 for CUB-200): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  /**
   * [24, 240, 480, 960]: the channels of features.stages. The reference's ShuffleNet has no
   * get_stage_channels (its stage_channels line is commented out); this follows its ShuffleNetV2's
   * definition ([stem, stage outputs]).
   */
  override stageChannels(): number[] {
    return [...this.#stageChannels];
  }

  protected body(x: Tensor): BodyOutput {
    const { stages, preact } = runStages(cba(this.conv1, this.bn1, x, ACT.relu), [this.layer1, this.layer2, this.layer3]);
    return { map: stages[3]!, stages, preact };
  }
}

// ------------------------------------------------------------------ ShuffleNet V2

export class ShuffleV2Block extends Module {
  readonly isLast: boolean;
  readonly splitRatio: number;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  declare shuffle: ChannelShuffle;

  constructor(inChannels: number, splitRatio = 0.5, isLast = false) {
    super();
    this.isLast = isLast;
    this.splitRatio = splitRatio;
    const c = Math.trunc(inChannels * splitRatio);
    this.registerModule('conv1', new Conv2d(c, c, 1, { bias: false }));
    this.registerModule('bn1', new BatchNorm2d(c));
    this.registerModule('conv2', new Conv2d(c, c, 3, { stride: 1, padding: 1, groups: c, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(c));
    this.registerModule('conv3', new Conv2d(c, c, 1, { bias: false }));
    this.registerModule('bn3', new BatchNorm2d(c));
    this.registerModule('shuffle', new ChannelShuffle(2));
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
    this.registerConvBn(this.conv3, this.bn3);
  }

  #branch(x: Tensor, act: ActCode): { x1: Tensor; pre: Tensor } {
    const C = x.shape[1]!;
    const c = Math.trunc(C * this.splitRatio);
    const x1 = x.narrow(1, 0, c);
    const x2 = x.narrow(1, c, C - c);
    const a = cba(this.conv1, this.bn1, x2, ACT.relu);
    const b = cba(this.conv2, this.bn2, a, ACT.none);
    const pre = cba(this.conv3, this.bn3, b, act);
    release(x, x2, a, b);
    return { x1, pre };
  }

  forwardWithPreact(x: Tensor): [Tensor, Tensor] {
    const { x1, pre } = this.#branch(x, ACT.none);
    const r = pre.relu();
    const preact = cat([x1, pre], 1);
    const joined = cat([x1, r], 1);
    const out = this.shuffle.forward(joined);
    release(x, x1, pre, r, joined);
    return [out, preact];
  }

  override forward(x: Tensor): Tensor {
    const { x1, pre } = this.#branch(x, ACT.relu);
    const joined = cat([x1, pre], 1);
    const out = this.shuffle.forward(joined);
    release(x, x1, pre, joined);
    return out;
  }
}
markEphemeral(ShuffleV2Block);

export class ShuffleV2DownBlock extends Module {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  declare conv4: Conv2d;
  declare bn4: BatchNorm2d;
  declare conv5: Conv2d;
  declare bn5: BatchNorm2d;
  declare shuffle: ChannelShuffle;

  constructor(inChannels: number, outChannels: number) {
    super();
    const mid = Math.floor(outChannels / 2);
    // left
    this.registerModule('conv1', new Conv2d(inChannels, inChannels, 3, { stride: 2, padding: 1, groups: inChannels, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(inChannels));
    this.registerModule('conv2', new Conv2d(inChannels, mid, 1, { bias: false }));
    this.registerModule('bn2', new BatchNorm2d(mid));
    // right
    this.registerModule('conv3', new Conv2d(inChannels, mid, 1, { bias: false }));
    this.registerModule('bn3', new BatchNorm2d(mid));
    this.registerModule('conv4', new Conv2d(mid, mid, 3, { stride: 2, padding: 1, groups: mid, bias: false }));
    this.registerModule('bn4', new BatchNorm2d(mid));
    this.registerModule('conv5', new Conv2d(mid, mid, 1, { bias: false }));
    this.registerModule('bn5', new BatchNorm2d(mid));
    this.registerModule('shuffle', new ChannelShuffle(2));
    for (let i = 1; i <= 5; i++) {
      const self = this as unknown as Record<string, Module>;
      this.registerConvBn(self[`conv${i}`]!, self[`bn${i}`]!);
    }
  }

  override forward(x: Tensor): Tensor {
    const l1 = cba(this.conv1, this.bn1, x, ACT.none);
    const left = cba(this.conv2, this.bn2, l1, ACT.relu);
    const r1 = cba(this.conv3, this.bn3, x, ACT.relu);
    const r2 = cba(this.conv4, this.bn4, r1, ACT.none);
    const right = cba(this.conv5, this.bn5, r2, ACT.relu);
    const joined = cat([left, right], 1);
    const out = this.shuffle.forward(joined);
    release(x, l1, left, r1, r2, right, joined);
    return out;
  }
}
markEphemeral(ShuffleV2DownBlock);

const V2_CONFIGS: Record<string, { outChannels: number[]; numBlocks: number[] }> = {
  '0.2': { outChannels: [40, 80, 160, 512], numBlocks: [3, 3, 3] },
  '0.3': { outChannels: [40, 80, 160, 512], numBlocks: [3, 7, 3] },
  '0.5': { outChannels: [48, 96, 192, 1024], numBlocks: [3, 7, 3] },
  '1': { outChannels: [116, 232, 464, 1024], numBlocks: [3, 7, 3] },
  '1.5': { outChannels: [176, 352, 704, 1024], numBlocks: [3, 7, 3] },
  '2': { outChannels: [224, 488, 976, 2048], numBlocks: [3, 7, 3] },
};

/** The reference's ShuffleNetV2_SDD. */
export class ShuffleNetV2 extends SddModel {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare linear: Linear;
  readonly #stageChannels: number[];
  #inChannels = 24;

  constructor(arch: string, netSize: number, opts: ModelOptions = {}) {
    super(arch, opts, { numClasses: 100 });
    const cfg = V2_CONFIGS[String(netSize)];
    if (!cfg) throw new RangeError(`ShuffleNetV2: unknown net size ${netSize}; one of ${Object.keys(V2_CONFIGS).join(', ')}`);
    this.registerModule('conv1', stem(this.cub200));
    this.registerModule('bn1', new BatchNorm2d(24));
    this.#inChannels = 24;
    this.registerModule('layer1', this.#makeLayer(cfg.outChannels[0]!, cfg.numBlocks[0]!));
    this.registerModule('layer2', this.#makeLayer(cfg.outChannels[1]!, cfg.numBlocks[1]!));
    this.registerModule('layer3', this.#makeLayer(cfg.outChannels[2]!, cfg.numBlocks[2]!));
    this.registerModule('conv2', new Conv2d(cfg.outChannels[2]!, cfg.outChannels[3]!, 1, { stride: 1, padding: 0, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(cfg.outChannels[3]!));
    this.registerModule('linear', new Linear(cfg.outChannels[3]!, this.numClasses));
    this.#stageChannels = [24, ...cfg.outChannels.slice(0, -1)];
    this.registerConvBn(this.conv1, this.bn1);
    this.registerConvBn(this.conv2, this.bn2);
  }

  #makeLayer(outChannels: number, numBlocks: number): Sequential {
    const layers: Module[] = [new ShuffleV2DownBlock(this.#inChannels, outChannels)];
    for (let i = 0; i < numBlocks; i++) {
      layers.push(new ShuffleV2Block(outChannels, 0.5, i === numBlocks - 1));
      this.#inChannels = outChannels;
    }
    return new Sequential(...layers);
  }

  classifierLayer(): Linear {
    return this.linear;
  }

  /** F.avg_pool2d(out, 4): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  /** [24, stage widths] (the reference's get_stage_channels: [24, 116, 232, 464] for ShuffleV2). */
  override stageChannels(): number[] {
    return [...this.#stageChannels];
  }

  protected body(x: Tensor): BodyOutput {
    const { stages, preact } = runStages(cba(this.conv1, this.bn1, x, ACT.relu), [this.layer1, this.layer2, this.layer3]);
    return { map: cba(this.conv2, this.bn2, stages[3]!, ACT.relu), stages, preact };
  }
}

export const shuffleNets: Record<string, (opts: ModelOptions) => SddModel> = {
  ShuffleV1: (o) => new ShuffleNetV1('ShuffleV1', { outPlanes: [240, 480, 960], numBlocks: [4, 8, 4], groups: 3 }, o),
  ShuffleV2: (o) => new ShuffleNetV2('ShuffleV2', 1, o),
};

export { runBlocks };
