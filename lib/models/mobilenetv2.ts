// CIFAR MobileNetV2 of the reference zoo (mdistiller models/cifar/mobilenetv2.py, MobileNetV2_SDD;
// registered as "MobileNetV2" = mobile_half: expansion 6, width 0.5). Inverted residual blocks
// (1x1 expand, 3x3 depthwise, 1x1 project; identity shortcut when shapes allow), a 2x2 last map
// for 32x32 inputs (the SDD head then repeats cells, as the reference does).
import { Tensor } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU } from '../nn/layers.js';
import { ModuleList, Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { ACT, SddModel, avgPoolAll, cba, markEphemeral, runBlocks, type BodyOutput, type ModelOptions } from './base.js';

function convBn(inp: number, oup: number, stride: number): Sequential {
  return new Sequential(new Conv2d(inp, oup, 3, { stride, padding: 1, bias: false }), new BatchNorm2d(oup), new ReLU());
}

function conv1x1Bn(inp: number, oup: number): Sequential {
  return new Sequential(new Conv2d(inp, oup, 1, { stride: 1, padding: 0, bias: false }), new BatchNorm2d(oup), new ReLU());
}

export class InvertedResidual extends Module {
  readonly stride: number;
  readonly useResConnect: boolean;
  declare conv: Sequential;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new RangeError('InvertedResidual: stride must be 1 or 2');
    this.stride = stride;
    this.useResConnect = stride === 1 && inp === oup;
    const hidden = inp * expandRatio;
    this.registerModule('conv', new Sequential(
      new Conv2d(inp, hidden, 1, { stride: 1, padding: 0, bias: false }),
      new BatchNorm2d(hidden),
      new ReLU(),
      new Conv2d(hidden, hidden, 3, { stride, padding: 1, groups: hidden, bias: false }),
      new BatchNorm2d(hidden),
      new ReLU(),
      new Conv2d(hidden, oup, 1, { stride: 1, padding: 0, bias: false }),
      new BatchNorm2d(oup),
    ));
  }

  override forward(x: Tensor): Tensor {
    // pw expand (conv-BN-ReLU), dw (conv-BN-ReLU), pw project (conv-BN, + x when shapes allow):
    // three native calls; the Sequential's modules are used as registered (conv.0 ... conv.7).
    const k = this.conv.children() as [Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d];
    const h1 = cba(k[0], k[1], x, ACT.relu);
    const h2 = cba(k[3], k[4], h1, ACT.relu);
    h1.dispose();
    const y = cba(k[6], k[7], h2, ACT.none, this.useResConnect ? x : null);
    h2.dispose();
    return y;
  }
}
markEphemeral(InvertedResidual);

const SETTING: [number, number, number, number][] = [
  // t, c, n, s (t = -1: the model's expansion T)
  [1, 16, 1, 1],
  [-1, 24, 2, 1],
  [-1, 32, 3, 2],
  [-1, 64, 4, 2],
  [-1, 96, 3, 1],
  [-1, 160, 3, 2],
  [-1, 320, 1, 1],
];

/** The reference's MobileNetV2_SDD (CIFAR). */
export class MobileNetV2 extends SddModel {
  declare conv1: Sequential;
  declare blocks: ModuleList;
  declare conv2: Sequential;
  declare classifier: Sequential;
  declare avgpool: AvgPool2d;
  readonly lastChannel: number;
  readonly #stageChannels: number[];

  constructor(arch: string, expansion: number, widthMult: number, opts: ModelOptions = {}, inputSize = 32) {
    super(arch, opts, { numClasses: 100 });
    if (inputSize % 32 !== 0) throw new RangeError('MobileNetV2: inputSize must be a multiple of 32');
    let inputChannel = Math.trunc(32 * widthMult);
    // CUB-200 (the reference's modify_student_model_for_cub200): 7x7 stride-2 conv-BN-ReLU and a 2x2
    // max-pool as the stem (7x7 last map at 224x224)
    this.registerModule('conv1', this.cub200
      ? new Sequential(new Conv2d(3, inputChannel, 7, { stride: 2, padding: 3, bias: false }), new BatchNorm2d(inputChannel), new ReLU(), new MaxPool2d(2))
      : convBn(3, inputChannel, 2));
    const blocks = new ModuleList();
    for (const [t0, c, n, s] of SETTING) {
      const t = t0 < 0 ? expansion : t0;
      const outputChannel = Math.trunc(c * widthMult);
      const layers: Module[] = [];
      const strides = [s, ...Array<number>(n - 1).fill(1)];
      for (const stride of strides) {
        layers.push(new InvertedResidual(inputChannel, outputChannel, stride, t));
        inputChannel = outputChannel;
      }
      blocks.append(new Sequential(...layers));
    }
    this.registerModule('blocks', blocks);
    this.lastChannel = widthMult > 1.0 ? Math.trunc(1280 * widthMult) : 1280;
    this.registerModule('conv2', conv1x1Bn(inputChannel, this.lastChannel));
    this.registerModule('classifier', new Sequential(new Linear(this.lastChannel, this.numClasses)));
    const H = inputSize / (32 / 2);
    this.registerModule('avgpool', new AvgPool2d(this.cub200 ? 8 : H, { ceilMode: true }));
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        const k = m.kernelSize[0] * m.kernelSize[1] * m.outChannels;
        init.normal_(m.weight, 0, Math.sqrt(2.0 / k));
        if (m.bias !== null) init.zeros_(m.bias);
      } else if (m instanceof BatchNorm2d) {
        init.constant_(m.weight!, 1);
        init.zeros_(m.bias!);
      } else if (m instanceof Linear) {
        init.normal_(m.weight, 0, 0.01);
        init.zeros_(m.bias!);
      }
    }
    this.#stageChannels = [32, 24, 32, 96, 320].map((c) => Math.trunc(c * widthMult));
  }

  classifierLayer(): Linear {
    return this.classifier.at(0) as Linear;
  }

  /** nn.AvgPool2d(H, ceil_mode) (8 for CUB-200): the whole map. */
  protected override globalPool(map: Tensor): Tensor {
    return avgPoolAll(map);
  }

  /** [32, 24, 32, 96, 320] x width (the reference's stage_channels). */
  override stageChannels(): number[] {
    return [...this.#stageChannels];
  }

  /** The projecting BatchNorm of the last block of block groups 1, 2, 4, 6 (the reference's get_bn_before_relu). */
  override bnBeforeRelu(): BatchNorm2d[] {
    const b = this.blocks.children() as Sequential[];
    return [1, 2, 4, 6].map((i) => (b[i]!.children().at(-1) as InvertedResidual).conv.children().at(-1) as BatchNorm2d);
  }

  protected body(x: Tensor): BodyOutput {
    const b = this.blocks.children();
    const f0 = this.conv1.forward(x) as Tensor;
    const f1 = runBlocks([b[0]!, b[1]!], f0);
    const f2 = b[2]!.forward(f1) as Tensor;
    const f3 = runBlocks([b[3]!, b[4]!], f2);
    const f4 = runBlocks([b[5]!, b[6]!], f3);
    const map = this.conv2.forward(f4) as Tensor;
    return { map, stages: [f0, f1, f2, f3, f4] };
  }
}

export const mobileNetV2s: Record<string, (opts: ModelOptions) => MobileNetV2> = {
  MobileNetV2: (o) => new MobileNetV2('MobileNetV2', 6, 0.5, o),
};
