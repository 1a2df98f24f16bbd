// ReviewKD (Chen et al., "Distilling Knowledge via Knowledge Review"): the student's stages and
// pooled feature, deepest first, are fused top-down by attention-based fusion (ABF) blocks; each
// block's output is compared with the teacher's pre-ReLU stage (after the stem) / pooled feature by
// the hierarchical context loss (MSE at full size and pooled to 4x4, 2x2, 1x1 with halving weights).
// Reference: mdistiller ReviewKD (cfg.REVIEWKD: CE_WEIGHT 1, REVIEWKD_WEIGHT 1 (5 in the authors'
// configs/cifar100/reviewkd.yaml), WARMUP_EPOCHS 20, STU_PREACT false, MAX_MID_CHANNEL 512; the
// channel lists and shapes, which the reference's YAML gives per pair, are read from the models).
// The blocks' keys are the reference's (`abfs.<i>.conv1.0.weight`, ...; abfs.0 is the deepest).
import type { DistillerOptions } from './distiller.js';
import { Tensor, cat } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { BatchNorm2d, Conv2d, Sigmoid } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { ModuleList, Sequential } from '../nn/containers.js';
import * as F from '../nn/functional.js';
import * as init from '../nn/init.js';
import type { DistillModel, ModelOutput } from './types.js';
import { FeatureDistiller, configReader, featureLists, mseLoss, pooledFeatures, probeForward, studentInputSize } from './feature-common.js';

export const REVIEWKD_DEFAULTS = { ceWeight: 1, reviewkdWeight: 1, warmupEpochs: 20, stuPreact: false, maxMidChannel: 512 };
export type ReviewKdSettings = typeof REVIEWKD_DEFAULTS;

/** F.interpolate(x, (size, size), mode='nearest') for an integer upscale factor (or the same size). */
export function nearestUpsample(x: Tensor, size: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h === size && w === size) return x;
  if (size % h !== 0 || size % w !== 0) throw new RangeError(`reviewkd: nearest upsampling from ${h}x${w} to ${size}x${size} needs an integer factor`);
  const fh = size / h, fw = size / w;
  return x.reshape([n, c, h, 1, w, 1]).expand([n, c, h, fh, w, fw]).reshape([n, c, size, size]);
}

/** The reference's ABF: 1x1 conv + BN, attention fusion with the deeper block's output (fuse), 3x3 conv + BN. */
export class ABF extends Module {
  declare conv1: Sequential;
  declare conv2: Sequential;
  declare att_conv: Sequential | undefined;
  constructor(inChannel: number, midChannel: number, outChannel: number, fuse: boolean) {
    super();
    const c1 = new Conv2d(inChannel, midChannel, 1, { bias: false });
    const c2 = new Conv2d(midChannel, outChannel, 3, { padding: 1, bias: false });
    noGrad(() => { init.kaimingUniform_(c1.weight, { a: 1 }); init.kaimingUniform_(c2.weight, { a: 1 }); });
    this.registerModule('conv1', new Sequential(c1, new BatchNorm2d(midChannel)));
    this.registerModule('conv2', new Sequential(c2, new BatchNorm2d(outChannel)));
    if (fuse) this.registerModule('att_conv', new Sequential(new Conv2d(midChannel * 2, 2, 1), new Sigmoid()));
  }
  /** [output, residual] as the reference's ABF.forward(x, y, shape, out_shape). */
  fuse(x: Tensor, y: Tensor | null, shape: number, outShape: number): [Tensor, Tensor] {
    const [n, , h, w] = x.shape as [number, number, number, number];
    let a = this.conv1.forward(x) as Tensor;
    if (this.att_conv) {
      const r = nearestUpsample(y!, shape);
      const z = this.att_conv.forward(cat([a, r], 1)) as Tensor;
      a = a.mul(z.narrow(1, 0, 1).reshape([n, 1, h, w])).add(r.mul(z.narrow(1, 1, 1).reshape([n, 1, h, w])));
    }
    if (a.shape[3] !== outShape) a = nearestUpsample(a, outShape);
    return [this.conv2.forward(a) as Tensor, a];
  }
  override forward(x: Tensor): Tensor {
    return this.fuse(x, null, x.shape[2]!, x.shape[3]!)[0];
  }
}

/** The reference's hcl_loss: per level, MSE at full size and pooled to 4x4, 2x2, 1x1 (weights 1/2, 1/4, ...) normalised by their sum. */
export function hclLoss(fs: Tensor[], ft: Tensor[]): Tensor {
  let all: Tensor | null = null;
  fs.forEach((s, i) => {
    const t = ft[i]!;
    const h = s.shape[2]!;
    let loss = mseLoss(s, t);
    let cnt = 1, tot = 1;
    for (const l of [4, 2, 1]) {
      if (l >= h) continue;
      cnt /= 2;
      loss = loss.add(mseLoss(F.adaptiveAvgPool2d(s, [l, l]), F.adaptiveAvgPool2d(t, [l, l])).mul(cnt));
      tot += cnt;
    }
    loss = loss.div(tot);
    all = all === null ? loss : all.add(loss);
  });
  if (all === null) throw new Error('reviewkd: no feature pair to compare');
  return all;
}

/** The feature shapes (stages, pooled) of a model for one input of `size`. */
function shapesOf(model: DistillModel, size: [number, number], who: string, preact: boolean): { stages: number[][]; pooled: number[] } {
  const m = model as DistillModel & { featureShapes?: (s?: [number, number]) => { stages: number[][]; preact?: number[][]; pooled: number[] } };
  if (typeof m.featureShapes === 'function') {
    const f = m.featureShapes(size);
    return { stages: preact && f.preact ? f.preact : f.stages, pooled: f.pooled };
  }
  return probeForward(m, size, (out) => {
    const st = preact ? out.features?.preact : out.features?.stages;
    if (!Array.isArray(st) || !(out.features?.pooled instanceof Tensor)) throw new Error(`reviewkd: the ${who} must return features.stages (and preact) and features.pooled from forward()`);
    return { stages: st.map((t) => t.shape), pooled: out.features.pooled.shape };
  });
}

export class ReviewKD extends FeatureDistiller<ReviewKdSettings> {
  /** Settings from an experiment config: the reference's REVIEWKD section (absent: the defaults). */
  static fromConfig = configReader('REVIEWKD', {
    ceWeight: 'CE_WEIGHT', reviewkdWeight: 'REVIEWKD_WEIGHT', warmupEpochs: 'WARMUP_EPOCHS', stuPreact: 'STU_PREACT', maxMidChannel: 'MAX_MID_CHANNEL',
  });
  readonly name: string = 'reviewkd';
  readonly abfs: ModuleList;
  /** the student's spatial sizes, deepest first (the reference's SHAPES), and the teacher's (OUT_SHAPES) */
  readonly shapes: number[];
  readonly outShapes: number[];
  constructor(opts: DistillerOptions & Partial<ReviewKdSettings>, method = 'reviewkd', rest: Record<string, unknown> = {}) {
    super(method, opts, REVIEWKD_DEFAULTS, Object.fromEntries(Object.entries(opts).filter(([k]) => !(k in rest))));
    const teacher = this.requireTeacher(method);
    const size = studentInputSize(this.student);
    const s = shapesOf(this.student, size, 'student', this.settings.stuPreact);
    const t = shapesOf(teacher, size, 'teacher', true);
    // student: stages after the stem + pooled; teacher: the same levels
    const sLevels = [...s.stages.slice(1).map((x) => [x[1]!, x[2]!]), [s.pooled[1]!, 1]];
    const tLevels = [...t.stages.slice(1).map((x) => [x[1]!, x[2]!]), [t.pooled[1]!, 1]];
    const n = Math.min(sLevels.length, tLevels.length);
    const inCh = sLevels.slice(-n).map((x) => x[0]!), outCh = tLevels.slice(-n).map((x) => x[0]!);
    this.shapes = sLevels.slice(-n).map((x) => x[1]!).reverse();
    this.outShapes = tLevels.slice(-n).map((x) => x[1]!).reverse();
    const mid = Math.min(this.settings.maxMidChannel, inCh[inCh.length - 1]!);
    const blocks = inCh.map((c, i) => new ABF(c, mid, outCh[i]!, i < inCh.length - 1));
    this.abfs = this.registerModule('abfs', new ModuleList(blocks.reverse()));
    this.setupOptimizer();
  }
  /** The review loss (unweighted, no warm-up). */
  protected reviewLoss(s: ModelOutput, t: ModelOutput | undefined): Tensor {
    const [fs] = featureLists(this.name, s, t, this.settings.stuPreact ? 'preact' : 'stages');
    const [, ftp] = featureLists(this.name, s, t, 'preact');
    const [ps, pt] = pooledFeatures(this.name, s, t);
    const n = this.abfs.length;
    const x = [...fs, ps.reshape([ps.shape[0]!, ps.shape[1]!, 1, 1])].reverse();
    const results: Tensor[] = [];
    let [out, res] = (this.abfs.at(0) as ABF).fuse(x[0]!, null, this.shapes[0]!, this.outShapes[0]!);
    results.push(out);
    for (let i = 1; i < n; i++) {
      [out, res] = (this.abfs.at(i) as ABF).fuse(x[i]!, res, this.shapes[i]!, this.outShapes[i]!);
      results.unshift(out);
    }
    const ft = [...ftp.slice(1), pt.reshape([pt.shape[0]!, pt.shape[1]!, 1, 1])].slice(-n);
    return hclLoss(results, ft);
  }
  /** The review loss's weight: reviewkdWeight with its warm-up. */
  protected reviewWeight(epoch: number): number {
    return this.settings.reviewkdWeight * Math.min(epoch / this.settings.warmupEpochs, 1);
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined, _y: Tensor, _epoch: number): () => Tensor {
    return () => this.reviewLoss(s, t);
  }
  protected override featureWeight(epoch: number): number | null {
    return this.reviewWeight(epoch);
  }
}
