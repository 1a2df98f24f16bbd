// CRD (Tian et al., "Contrastive Representation Distillation"): CE + a noise-contrastive loss
// between the student's and the teacher's pooled features embedded (linear + L2 normalisation)
// into a common space, each scored against the other's memory bank at the image's own position
// (positive) and K negatives; the memory rows of the batch are then moved towards the new
// embeddings (momentum). Reference: mdistiller CRD (cfg.CRD: CE_WEIGHT 1, FEAT_WEIGHT 0.8,
// FEAT.DIM 128, NCE.K 16384, NCE.MOMENTUM 0.5, NCE.TEMPERATURE 0.07); keys as there
// (`embed_s.linear.*`, `embed_t.linear.*`, buffers `contrast.memory_v1`, `contrast.memory_v2`,
// `contrast.params` = [K, T, Z_v1, Z_v2, momentum], Z set by the first step).
// Each step needs `index` (B: the images' positions in the data set) and `contrastIndex`
// (B x (K+1): the position then K negatives) in its input: sdd.data.instanceSample(dataset, ...)
// yields them per sample.
import type { DistillerOptions, StepInput } from './distiller.js';
import { Tensor } from '../core/tensor.js';
import { fullLike, rand, tensor } from '../core/creation.js';
import { noGrad } from '../core/autograd.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { checkInteger, invalidParameterError } from '../core/errors.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, configReader, pooledFeatures } from './feature-common.js';

export const CRD_DEFAULTS = {
  ceWeight: 1,
  featWeight: 0.8,
  /** the data set's size (rows of the memory banks); required */
  numData: 0,
  nceK: 16384,
  nceTemperature: 0.07,
  nceMomentum: 0.5,
  featDim: 128,
};
export type CrdSettings = typeof CRD_DEFAULTS;

/** The reference's Embed: linear, then x / ||x||. */
export class Embed extends Module {
  declare linear: Linear;
  constructor(dimIn: number, dimOut: number) {
    super();
    this.registerModule('linear', new Linear(dimIn, dimOut));
  }
  override forward(x: Tensor): Tensor {
    const y = this.linear.forward(x.reshape([x.shape[0]!, -1]));
    return y.div(y.square().sum(1, true).sqrt());
  }
}

/** The reference's ContrastMemory: two memory banks (numData x dim) and its params buffer. */
export class ContrastMemory extends Module {
  declare memory_v1: Tensor;
  declare memory_v2: Tensor;
  declare params: Tensor;
  constructor(dim: number, numData: number, k: number, temperature: number, momentum: number) {
    super();
    this.registerBuffer('params', tensor([k, temperature, -1, -1, momentum], { dtype: 'float32' }));
    const stdv = 1 / Math.sqrt(dim / 3);
    this.registerBuffer('memory_v1', noGrad(() => rand([numData, dim]).mul(2 * stdv).sub(stdv)));
    this.registerBuffer('memory_v2', noGrad(() => rand([numData, dim]).mul(2 * stdv).sub(stdv)));
  }
  /** [out_v1, out_v2] (B x (K+1) x 1) as the reference's forward(v1, v2, y, idx); updates the memories. */
  contrast(v1: Tensor, v2: Tensor, y: Tensor, idx: Tensor): [Tensor, Tensor] {
    const p = Array.from(this.params.float().toTypedArray() as Float32Array);
    const [k, T, , , momentum] = p as [number, number, number, number, number];
    const b = v1.shape[0]!;
    const n = this.memory_v1.shape[0]!, d = this.memory_v1.shape[1]!;
    const flat = idx.reshape([-1]);
    const w1 = this.memory_v1.indexSelect(0, flat).detach().reshape([b, k + 1, d]);
    let outV2 = w1.matmul(v2.reshape([b, d, 1])).div(T).exp();
    const w2 = this.memory_v2.indexSelect(0, flat).detach().reshape([b, k + 1, d]);
    let outV1 = w2.matmul(v1.reshape([b, d, 1])).div(T).exp();
    let z1 = p[2]!, z2 = p[3]!;
    noGrad(() => {
      if (z1 < 0 || z2 < 0) {
        const vals = Array.from(this.params.float().toTypedArray() as Float32Array);
        if (z1 < 0) { z1 = Math.fround((outV1.mean().item() as number) * n); vals[2] = z1; }
        if (z2 < 0) { z2 = Math.fround((outV2.mean().item() as number) * n); vals[3] = z2; }
        this.params.copy_(tensor(vals, { dtype: this.params.dtype, device: this.params.device as never }));
      }
    });
    outV1 = outV1.div(z1);
    outV2 = outV2.div(z2);
    noGrad(() => {
      const rows = y.reshape([b, 1]).expand([b, d]);
      for (const [mem, v] of [[this.memory_v1, v1], [this.memory_v2, v2]] as const) {
        const pos = mem.indexSelect(0, y.reshape([-1])).mul(momentum).add(v.detach().mul(1 - momentum));
        const upd = pos.div(pos.square().sum(1, true).sqrt());
        mem.copy_(mem.scatter(0, rows, upd));
      }
    });
    return [outV1, outV2];
  }
  override forward(): never {
    throw new Error('ContrastMemory: call contrast(v1, v2, index, contrastIndex)');
  }
}

/** The reference's ContrastLoss (NCE with a uniform noise distribution over numData). */
export function contrastLoss(x: Tensor, numData: number): Tensor {
  const eps = 1e-7;
  const bsz = x.shape[0]!;
  const m = x.shape[1]! - 1;
  const pn = 1 / numData;
  const pos = x.select(1, 0);
  const logD1 = pos.div(pos.add(m * pn + eps)).log();
  const neg = x.narrow(1, 1, m);
  const logD0 = fullLike(neg, m * pn).div(neg.add(m * pn + eps)).log();
  return logD1.sum().add(logD0.sum()).neg().div(bsz);
}

export class CRD extends FeatureDistiller<CrdSettings> {
  /** Settings from an experiment config: the reference's CRD section (absent: the defaults). */
  static fromConfig = configReader('CRD', { featDim: 'FEAT.DIM', nceK: 'NCE.K', nceMomentum: 'NCE.MOMENTUM', nceTemperature: 'NCE.TEMPERATURE' });
  readonly name = 'crd';
  readonly embedS: Embed;
  readonly embedT: Embed;
  readonly memory: ContrastMemory;
  constructor(opts: DistillerOptions & Partial<CrdSettings>) {
    super('crd', opts, CRD_DEFAULTS);
    const { numData, nceK, featDim, nceTemperature, nceMomentum } = this.settings;
    if (!Number.isInteger(numData) || numData < 1) {
      throw invalidParameterError('crd.numData', "the training set's size (a positive integer: the memory banks have a row per image)", numData);
    }
    checkInteger('crd.nceK', nceK, 1);
    checkInteger('crd.featDim', featDim, 1);
    const teacher = this.requireTeacher('crd');
    const dims = (m: typeof this.student, who: string): number => {
      const x = m as typeof m & { featureShapes?: () => { pooled: number[] } };
      if (typeof x.featureShapes !== 'function') throw new Error(`crd: the ${who} must have featureShapes() (features.pooled's size)`);
      return x.featureShapes().pooled[1]!;
    };
    this.embedS = this.registerModule('embed_s', new Embed(dims(this.student, 'student'), featDim));
    this.embedT = this.registerModule('embed_t', new Embed(dims(teacher, 'teacher'), featDim));
    this.memory = this.registerModule('contrast', new ContrastMemory(featDim, numData, nceK, nceTemperature, nceMomentum));
    this.setupOptimizer();
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined, _y: Tensor, _epoch: number, input?: StepInput): () => Tensor {
    const { numData, nceK } = this.settings;
    const index = input?.index, contrastIndex = input?.contrastIndex;
    if (!(index instanceof Tensor) || !(contrastIndex instanceof Tensor)) {
      throw new Error("crd: each step needs index (B) and contrastIndex (B x (K+1)) in its input: wrap the data set with sdd.data.instanceSample(dataset, { k })");
    }
    if (contrastIndex.shape.length !== 2 || contrastIndex.shape[1] !== nceK + 1) {
      throw new RangeError(`crd: contrastIndex must be B x ${nceK + 1} (the position, then nceK = ${nceK} negatives); got ${JSON.stringify(contrastIndex.shape)}`);
    }
    const [fs, ft] = pooledFeatures(this.name, s, t);
    return () => {
      const es = this.embedS.forward(fs), et = this.embedT.forward(ft);
      const [outS, outT] = this.memory.contrast(es, et, index.to('int64'), contrastIndex.to('int64'));
      return contrastLoss(outS, numData).add(contrastLoss(outT, numData));
    };
  }
}
