// OFD (Heo et al., "A Comprehensive Overhaul of Feature Distillation"): CE + a partial L2 between
// the student's pre-ReLU stages (after the stem) mapped by a connector (1x1 conv + BN) and the
// teacher's, where teacher values below the margin (the expectation of the teacher's negative
// responses, from the BN before each stage's last ReLU) only bound the student from above.
// Reference: mdistiller OFD (cfg.OFD: CE_WEIGHT 1, FEAT_WEIGHT 0.001, CONNECTOR.KERNEL_SIZE 1);
// the connectors' keys are the reference's (`connectors.connectors.<i>.{0,1}.*`).
import type { DistillerOptions } from './distiller.js';
import type { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { BatchNorm2d, Conv2d } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { ModuleList, Sequential } from '../nn/containers.js';
import * as F from '../nn/functional.js';
import * as init from '../nn/init.js';
import { noGrad } from '../core/autograd.js';
import type { DistillModel, ModelOutput } from './types.js';
import { FeatureDistiller, configReader, featureLists, sumLosses } from './feature-common.js';

export const OFD_DEFAULTS = {
  ceWeight: 1,
  featWeight: 0.001,
  kernelSize: 1,
  /**
   * Run the teacher in training mode (batch statistics; its BN running statistics change), as the
   * reference does: its OFD.train() puts every child, the teacher included, in training mode.
   * false: the teacher in eval mode like every other method.
   */
  teacherTrainMode: true,
};
export type OfdSettings = typeof OFD_DEFAULTS;

/** erfc(x), relative error below 1.2e-7 (Numerical Recipes' erfcc), enough for float32 margins. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
const normCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);

/** The reference's margin of one BN channel (weight s, bias m): E[x | x < 0] for x ~ N(m, s^2), or -3s when P(x < 0) <= 0.001. */
export function ofdMargin(weight: number, bias: number): number {
  const s = Math.abs(weight), m = bias;
  const p = normCdf(-m / s);
  return p > 0.001 ? -s * Math.exp(-((m / s) ** 2) / 2) / Math.sqrt(2 * Math.PI) / p + m : -3 * s;
}

/** The reference's ConnectorConvBN: one conv + BN per stage, under `connectors.<i>`. */
export class ConnectorConvBN extends Module {
  declare connectors: ModuleList;
  constructor(sChannels: number[], tChannels: number[], kernelSize = 1) {
    super();
    const list = new ModuleList();
    sChannels.forEach((s, i) => {
      const t = tChannels[i]!;
      const conv = new Conv2d(s, t, kernelSize, { padding: (kernelSize - 1) >> 1, bias: false });
      noGrad(() => init.normal_(conv.weight, 0, Math.sqrt(2 / (kernelSize * kernelSize * t))));
      list.append(new Sequential(conv, new BatchNorm2d(t)));
    });
    this.registerModule('connectors', list);
  }
  override forward(): never {
    throw new Error('ConnectorConvBN: call connectors.at(i).forward(x)');
  }
}

export class OFD extends FeatureDistiller<OfdSettings> {
  /** Settings from an experiment config: the reference's OFD section (absent: the defaults). */
  static fromConfig = configReader('OFD', { kernelSize: 'CONNECTOR.KERNEL_SIZE' });
  readonly name = 'ofd';
  readonly connectors: ConnectorConvBN;
  /** per stage (after the stem): the teacher's margins as numbers (the reference's self.margins) */
  readonly margins: number[][];
  constructor(opts: DistillerOptions & Partial<OfdSettings>) {
    super('ofd', opts, OFD_DEFAULTS);
    this.teacherTraining = this.settings.teacherTrainMode;
    const teacher = this.requireTeacher('ofd');
    const need = (m: DistillModel, who: string) => {
      const x = m as DistillModel & { stageChannels?: () => number[]; bnBeforeRelu?: () => BatchNorm2d[] };
      if (typeof x.stageChannels !== 'function' || typeof x.bnBeforeRelu !== 'function') {
        throw new Error(`ofd: the ${who} must have stageChannels() and bnBeforeRelu() (the reference's get_stage_channels / get_bn_before_relu); the zoo's models do`);
      }
      return x as DistillModel & { stageChannels: () => number[]; bnBeforeRelu: () => BatchNorm2d[] };
    };
    const t = need(teacher, 'teacher');
    let tc = t.stageChannels().slice(1);
    let sc = need(this.student, 'student').stageChannels().slice(1);
    const n = Math.min(tc.length, sc.length);
    tc = tc.slice(-n); sc = sc.slice(-n);
    this.connectors = this.registerModule('connectors', new ConnectorConvBN(sc, tc, this.settings.kernelSize));
    this.margins = t.bnBeforeRelu().map((bn) => {
      const w = Array.from(bn.weight!.float().toTypedArray() as Float32Array);
      const b = Array.from(bn.bias!.float().toTypedArray() as Float32Array);
      return w.map((s, i) => Math.fround(ofdMargin(s, b[i]!)));
    });
    this.setupOptimizer();
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    let [fs, ft] = featureLists(this.name, s, t, 'preact');
    fs = fs.slice(1); ft = ft.slice(1);
    const n = Math.min(fs.length, ft.length);
    fs = fs.slice(-n); ft = ft.slice(-n);
    return () => sumLosses('ofd', n, (i) => {
      const src = this.connectors.connectors.at(i).forward(fs[i]!) as Tensor;
      const tgt = F.adaptiveAvgPool2d(ft[i]!, [src.shape[2]!, src.shape[3]!]).detach();
      const mg = this.margins[i]!;
      const margin = tensor(mg, { dtype: src.dtype, device: src.device as never }).reshape([1, mg.length, 1, 1]);
      const a = src.sub(margin).square().mul(src.gt(margin).logicalAnd(tgt.le(margin)).to(src.dtype));
      const b = src.sub(tgt).square().mul(src.gt(tgt).logicalAnd(tgt.gt(margin)).logicalAnd(tgt.le(0)).to(src.dtype));
      const c = src.sub(tgt).square().mul(tgt.gt(0).to(src.dtype));
      return a.add(b).add(c).abs().mean(0).sum().div(2 ** (n - i - 1));
    });
  }
}
