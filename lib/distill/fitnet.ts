// FitNet (Romero et al., "FitNets: Hints for Thin Deep Nets"): CE + the MSE between a regressor
// (conv-BN-ReLU, trained with the student) of the student's hint-layer feature and the teacher's.
// Reference: mdistiller FitNet (cfg.FITNET: HINT_LAYER 2, INPUT_SIZE (32, 32), CE_WEIGHT 1,
// FEAT_WEIGHT 100) with its ConvReg; the regressor's keys are the reference's (conv_reg.conv.weight, ...).
import type { DistillerOptions } from './distiller.js';
import { Tensor, cat } from '../core/tensor.js';
import { zeros } from '../core/creation.js';
import { Module, emptyParameter, type Parameter } from '../nn/module.js';
import { BatchNorm2d, Conv2d } from '../nn/layers.js';
import * as F from '../nn/functional.js';
import * as init from '../nn/init.js';
import { checkInteger, invalidParameterError } from '../core/errors.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, configReader, featureLists, mseLoss, stageShapes, studentInputSize } from './feature-common.js';

export { stageShapes } from './feature-common.js';

export const FITNET_DEFAULTS = {
  ceWeight: 1,
  featWeight: 100,
  /** index into features.stages (0 = the stem output), as the reference's HINT_LAYER */
  hintLayer: 2,
  /** [H, W] of the dummy input that sizes the regressor (the reference's INPUT_SIZE); null: the student's (32x32, 224x224 for CUB-200) */
  inputSize: null as [number, number] | null,
};
export type FitNetSettings = typeof FITNET_DEFAULTS;

/**
 * nn.ConvTranspose2d(inC, outC, 4, stride 2, padding 1) (ConvReg's 2x upsampling): weight
 * [inC, outC, 4, 4] and bias [outC] as PyTorch keys them; computed as a convolution of the
 * zero-dilated input with the flipped, transposed kernel.
 */
export class ConvTranspose2dX2 extends Module {
  declare weight: Parameter;
  declare bias: Parameter;
  constructor(readonly inChannels: number, readonly outChannels: number) {
    super();
    this.registerParameter('weight', emptyParameter([inChannels, outChannels, 4, 4], undefined, undefined));
    this.registerParameter('bias', emptyParameter([outChannels], undefined, undefined));
    // PyTorch's default initialisation (fan-in from weight.size(1) * 16)
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    const bound = 1 / Math.sqrt(outChannels * 16);
    init.uniform_(this.bias, -bound, bound);
  }
  override forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const z = zeros([b, c, h, w, 1], { dtype: x.dtype, device: x.device as never });
    // insert a zero after every column, then after every row; drop the trailing ones
    const cols = cat([x.unsqueeze(4), z], 4).reshape([b, c, h, 2 * w]).narrow(3, 0, 2 * w - 1);
    const zr = zeros([b, c, h, 1, 2 * w - 1], { dtype: x.dtype, device: x.device as never });
    const dil = cat([cols.unsqueeze(3), zr], 3).reshape([b, c, 2 * h, 2 * w - 1]).narrow(2, 0, 2 * h - 1);
    const k = this.weight.transpose(0, 1).flip([2, 3]);
    return F.conv2d(dil, k, this.bias, { padding: 2 });
  }
}

/** The reference's ConvReg: a convolution mapping the student's hint feature onto the teacher's shape, BN, ReLU. */
export class ConvReg extends Module {
  declare conv: Module;
  declare bn: BatchNorm2d;
  readonly useRelu: boolean;
  constructor(sShape: number[], tShape: number[], useRelu = true) {
    super();
    this.useRelu = useRelu;
    const [, sC, sH, sW] = sShape as [number, number, number, number];
    const [, tC, tH, tW] = tShape as [number, number, number, number];
    let conv: Module;
    if (sH === 2 * tH) conv = new Conv2d(sC, tC, 3, { stride: 2, padding: 1 });
    else if (sH * 2 === tH) conv = new ConvTranspose2dX2(sC, tC);
    else if (sH >= tH) conv = new Conv2d(sC, tC, [1 + sH - tH, 1 + sW - tW]);
    else throw new RangeError(`fitnet: no regressor from a ${sH}x${sW} student feature to a ${tH}x${tW} teacher feature (student size ${sH}, teacher size ${tH})`);
    this.registerModule('conv', conv);
    this.registerModule('bn', new BatchNorm2d(tC));
  }
  override forward(x: Tensor): Tensor {
    const y = this.bn.forward(this.conv.forward(x) as Tensor);
    return this.useRelu ? y.relu() : y;
  }
}

export class FitNet extends FeatureDistiller<FitNetSettings> {
  /** Settings from an experiment config: the reference's FITNET section (absent: the defaults). */
  static fromConfig = configReader('FITNET');
  readonly name = 'fitnet';
  readonly convReg: ConvReg;
  constructor(opts: DistillerOptions & Partial<FitNetSettings>) {
    super('fitnet', opts, FITNET_DEFAULTS);
    const hint = checkInteger('fitnet.hintLayer', this.settings.hintLayer, 0);
    let size = this.settings.inputSize;
    if (size === null) {
      size = studentInputSize(this.student);
    } else if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) {
      throw invalidParameterError('fitnet.inputSize', '[height, width] of positive integers (or null: the student\'s input size)', size);
    }
    const teacher = this.requireTeacher('fitnet');
    const s = stageShapes(this.student, size, 'student');
    const t = stageShapes(teacher, size, 'teacher');
    if (hint >= s.length || hint >= t.length) {
      throw new RangeError(`fitnet.hintLayer ${hint}: the student has ${s.length} and the teacher ${t.length} features (features.stages, stem first)`);
    }
    this.convReg = this.registerModule('conv_reg', new ConvReg(s[hint]!, t[hint]!));
    this.setupOptimizer();
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const { hintLayer } = this.settings;
    const [fs, ft] = featureLists(this.name, s, t, 'stages');
    return () => mseLoss(this.convReg.forward(fs[hintLayer]!), ft[hintLayer]!);
  }
}
