// VGG with BatchNorm of the reference zoo (mdistiller models/cifar/vgg.py, VGG_SDD with batch_norm):
// vgg8/11/13/16/19. Five blocks of conv-BN-ReLU (the last ReLU of each block applied outside, so the
// pre-activation is a feature), max pooling between blocks, 4x4 last map for 32x32 inputs.
import { Tensor } from '../core/tensor.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU } from '../nn/layers.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { SddModel, type BodyOutput, type ModelOptions } from './base.js';

const CFG: Record<string, number[][]> = {
  A: [[64], [128], [256, 256], [512, 512], [512, 512]],
  B: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
  D: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
  E: [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
  S: [[64], [128], [256], [512], [512]],
};

function makeLayers(cfg: number[], batchNorm: boolean, inChannels: number): Sequential {
  const layers: Module[] = [];
  let c = inChannels;
  for (const v of cfg) {
    const conv = new Conv2d(c, v, 3, { padding: 1 });
    if (batchNorm) layers.push(conv, new BatchNorm2d(v), new ReLU());
    else layers.push(conv, new ReLU());
    c = v;
  }
  layers.pop();
  return new Sequential(...layers);
}

/** The reference's VGG_SDD. */
export class VGG extends SddModel {
  declare block0: Sequential;
  declare block1: Sequential;
  declare block2: Sequential;
  declare block3: Sequential;
  declare block4: Sequential;
  declare pool0: MaxPool2d;
  declare pool1: MaxPool2d;
  declare pool2: MaxPool2d;
  declare pool3: MaxPool2d;
  declare pool4: AdaptiveAvgPool2d;
  declare classifier: Linear;
  readonly #stageChannels: number[];

  constructor(arch: string, cfg: number[][], batchNorm: boolean, opts: ModelOptions = {}) {
    super(arch, opts, { numClasses: 100 });
    this.registerModule('block0', makeLayers(cfg[0]!, batchNorm, 3));
    this.registerModule('block1', makeLayers(cfg[1]!, batchNorm, cfg[0]!.at(-1)!));
    this.registerModule('block2', makeLayers(cfg[2]!, batchNorm, cfg[1]!.at(-1)!));
    this.registerModule('block3', makeLayers(cfg[3]!, batchNorm, cfg[2]!.at(-1)!));
    this.registerModule('block4', makeLayers(cfg[4]!, batchNorm, cfg[3]!.at(-1)!));
    for (let i = 0; i < 4; i++) this.registerModule(`pool${i}`, new MaxPool2d(2, { stride: 2 }));
    this.registerModule('pool4', new AdaptiveAvgPool2d(1));
    this.registerModule('classifier', new Linear(512, this.numClasses));
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        const n = m.kernelSize[0] * m.kernelSize[1] * m.outChannels;
        init.normal_(m.weight, 0, Math.sqrt(2.0 / n));
        if (m.bias !== null) init.zeros_(m.bias);
      } else if (m instanceof BatchNorm2d) {
        init.constant_(m.weight!, 1);
        init.zeros_(m.bias!);
      } else if (m instanceof Linear) {
        init.normal_(m.weight, 0, 0.01);
        init.zeros_(m.bias!);
      }
    }
    // CUB-200: the reference only replaces the classifier (28x28 last map at 224x224)
    this.#stageChannels = cfg.map((c) => c.at(-1)!);
  }

  classifierLayer(): Linear {
    return this.classifier;
  }

  /** The last width of each of the five blocks (the reference's stage_channels). */
  override stageChannels(): number[] {
    return [...this.#stageChannels];
  }

  /** The last BatchNorm of blocks 1-4 (the ReLU after it is applied outside; the reference's get_bn_before_relu). */
  override bnBeforeRelu(): BatchNorm2d[] {
    return [this.block1, this.block2, this.block3, this.block4].map((b) => {
      const last = b.children().at(-1);
      if (!(last instanceof BatchNorm2d)) throw new Error(`${this.arch}: built without BatchNorm, it has no BatchNorm before its ReLUs`);
      return last;
    });
  }

  protected body(x: Tensor): BodyOutput {
    const h = x.shape[2];
    const b0 = this.block0.forward(x) as Tensor;
    const f0 = b0.relu();
    b0.dispose();
    const stages = [f0];
    const preact = [f0];
    let cur = f0;
    const blocks = [this.block1, this.block2, this.block3, this.block4];
    const pools = [this.pool0, this.pool1, this.pool2, this.pool3];
    for (let i = 0; i < 4; i++) {
      let inp = cur;
      if (i < 3 || h === 64) inp = pools[i]!.forward(cur);
      const pre = blocks[i]!.forward(inp) as Tensor;
      if (inp !== cur) inp.dispose();
      cur = pre.relu();
      preact.push(pre);
      stages.push(cur);
    }
    return { map: cur, stages, preact };
  }
}

function vgg(arch: string, cfg: string) {
  return (o: ModelOptions) => new VGG(arch, CFG[cfg]!, true, o);
}

/** The BN variants (the reference registers vgg8 ... vgg19 as vgg*_bn). */
export const vggs: Record<string, (opts: ModelOptions) => VGG> = {
  vgg8: vgg('vgg8', 'S'),
  vgg11: vgg('vgg11', 'A'),
  vgg13: vgg('vgg13', 'B'),
  vgg16: vgg('vgg16', 'D'),
  vgg19: vgg('vgg19', 'E'),
};
