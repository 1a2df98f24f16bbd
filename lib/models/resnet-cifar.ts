// CIFAR ResNets of the reference zoo (mdistiller models/cifar/resnet.py, the *_sdd variants):
// resnet8/14/20/32/44/56/110 (filters 16-16-32-64) and resnet8x4/32x4 (32-64-128-256), basic blocks,
// 3x3 stem, three stages, 8x8 last map for 32x32 inputs.
import { Tensor } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Linear, ReLU, AvgPool2d } from '../nn/layers.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { ACT, SddModel, avgPoolAll, cba, conv3x3, markEphemeral, release, runBlocks, type BodyOutput, type ModelOptions } from './base.js';

/** Two 3x3 conv-BN layers and an identity (or 1x1 conv-BN) shortcut; ReLU after the sum. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare downsample: Sequential | null;
  readonly stride: number;
  readonly isLast: boolean;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null, isLast = false) {
    super();
    this.isLast = isLast;
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

  /** [output, pre-activation output] (the reference returns both from the last block of a stage). */
  forwardWithPreact(x: Tensor): [Tensor, Tensor] {
    const out = cba(this.conv1, this.bn1, x, ACT.relu);
    const residual = this.downsample ? (this.downsample.forward(x) as Tensor) : x;
    const preact = cba(this.conv2, this.bn2, out, ACT.none, residual);
    release(x, out, residual);
    return [preact.relu(), preact];
  }

  override forward(x: Tensor): Tensor {
    const out = cba(this.conv1, this.bn1, x, ACT.relu);
    const residual = this.downsample ? (this.downsample.forward(x) as Tensor) : x;
    const y = cba(this.conv2, this.bn2, out, ACT.relu, residual);
    release(x, out, residual);
    return y;
  }
}
markEphemeral(BasicBlock);

/** Runs a stage (a Sequential of blocks): [output, pre-activation output of its last block]. */
export function runStage(stage: Sequential, x: Tensor): [Tensor, Tensor] {
  const blocks = stage.children() as (Module & { forwardWithPreact(x: Tensor): [Tensor, Tensor] })[];
  const mid = runBlocks(blocks.slice(0, -1), x);
  const out = blocks[blocks.length - 1]!.forwardWithPreact(mid);
  if (mid !== x) mid.dispose();
  return out;
}

/**
 * Runs the stages after the stem in order: the stage outputs and their pre-activation outputs, the
 * stem first in both (the reference's feats["feats"] and feats["preact_feats"]).
 */
export function runStages(stem: Tensor, stages: Sequential[]): { stages: Tensor[]; preact: Tensor[] } {
  const outs = [stem];
  const pre = [stem];
  for (const stage of stages) {
    const [f, p] = runStage(stage, outs[outs.length - 1]!);
    outs.push(f);
    pre.push(p);
  }
  return { stages: outs, preact: pre };
}

/** The reference's ResNet_SDD for CIFAR (depth 6n+2, basic blocks). */
export class CifarResNet extends SddModel {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare avgpool: AvgPool2d;
  declare fc: Linear;
  readonly #stageChannels: number[];
  #inplanes: number;

  constructor(arch: string, depth: number, numFilters: number[], opts: ModelOptions = {}) {
    super(arch, opts, { numClasses: 100 });
    if ((depth - 2) % 6 !== 0) throw new RangeError('When use basicblock, depth should be 6n+2, e.g. 20, 32, 44, 56, 110, 1202');
    const n = (depth - 2) / 6;
    this.#inplanes = numFilters[0]!;
    // CUB-200 (the reference's modify_*_for_cub200): 7x7 stride-2 stem, 28x28 last map at 224x224
    this.registerModule('conv1', this.cub200
      ? new Conv2d(3, numFilters[0]!, 7, { stride: 2, padding: 3, bias: false })
      : new Conv2d(3, numFilters[0]!, 3, { padding: 1, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(numFilters[0]!));
    this.registerModule('relu', new ReLU());
    this.registerModule('layer1', this.#makeLayer(numFilters[1]!, n));
    this.registerModule('layer2', this.#makeLayer(numFilters[2]!, n, 2));
    this.registerModule('layer3', this.#makeLayer(numFilters[3]!, n, 2));
    this.registerModule('avgpool', new AvgPool2d(this.cub200 ? 28 : 8));
    this.registerModule('fc', new Linear(numFilters[3]! * BasicBlock.expansion, this.numClasses));
    this.#stageChannels = numFilters;
    this.registerConvBn(this.conv1, this.bn1);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        init.constant_(m.weight!, 1);
        init.constant_(m.bias!, 0);
      }
    }
  }

  #makeLayer(planes: number, blocks: number, stride = 1): Sequential {
    let downsample: Sequential | null = null;
    if (stride !== 1 || this.#inplanes !== planes * BasicBlock.expansion) {
      downsample = new Sequential(
        new Conv2d(this.#inplanes, planes * BasicBlock.expansion, 1, { stride, bias: false }),
        new BatchNorm2d(planes * BasicBlock.expansion),
      );
    }
    const layers: Module[] = [new BasicBlock(this.#inplanes, planes, stride, downsample, blocks === 1)];
    this.#inplanes = planes * BasicBlock.expansion;
    for (let i = 1; i < blocks; i++) layers.push(new BasicBlock(this.#inplanes, planes, 1, null, i === blocks - 1));
    return new Sequential(...layers);
  }

  classifierLayer(): Linear {
    return this.fc;
  }

  /** nn.AvgPool2d(8) (28 for CUB-200): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  /** The filter widths [stem, stage 1, 2, 3] (the reference's stage_channels). */
  override stageChannels(): number[] {
    return [...this.#stageChannels];
  }

  /** bn2 of each stage's last block (the reference's get_bn_before_relu). */
  override bnBeforeRelu(): BatchNorm2d[] {
    return [this.layer1, this.layer2, this.layer3].map((l) => (l.children().at(-1) as BasicBlock).bn2);
  }

  protected body(x: Tensor): BodyOutput {
    const { stages, preact } = runStages(cba(this.conv1, this.bn1, x, ACT.relu), [this.layer1, this.layer2, this.layer3]);
    return { map: stages[3]!, stages, preact };
  }
}

const SMALL = [16, 16, 32, 64];
const WIDE = [32, 64, 128, 256];

export const cifarResNets: Record<string, (opts: ModelOptions) => CifarResNet> = {
  resnet8: (o) => new CifarResNet('resnet8', 8, SMALL, o),
  resnet14: (o) => new CifarResNet('resnet14', 14, SMALL, o),
  resnet20: (o) => new CifarResNet('resnet20', 20, SMALL, o),
  resnet32: (o) => new CifarResNet('resnet32', 32, SMALL, o),
  resnet44: (o) => new CifarResNet('resnet44', 44, SMALL, o),
  resnet56: (o) => new CifarResNet('resnet56', 56, SMALL, o),
  resnet110: (o) => new CifarResNet('resnet110', 110, SMALL, o),
  resnet8x4: (o) => new CifarResNet('resnet8x4', 8, WIDE, o),
  resnet32x4: (o) => new CifarResNet('resnet32x4', 32, WIDE, o),
};
