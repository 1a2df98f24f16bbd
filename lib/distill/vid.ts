// VID (Ahn et al., "Variational Information Distillation for Knowledge Transfer"): CE + the
// negative log-likelihood of every teacher stage (after the stem) under a Gaussian whose mean a
// regressor (1x1 conv, ReLU, 1x1 conv, ReLU, 1x1 conv) predicts from the student's stage and whose
// per-channel variance is softplus(log_scale) + eps. Reference: mdistiller VID (cfg.VID:
// CE_WEIGHT 1, FEAT_WEIGHT 1, INIT_PRED_VAR 5, EPS 1e-5). As there, the log-scales are plain
// tensors (not registered, not trained: the reference keeps them in a Python list), so the state
// dict holds the regressors only (`regressors.<i>.{0,2,4}.weight`).
import type { DistillerOptions } from './distiller.js';
import type { Tensor } from '../core/tensor.js';
import { full } from '../core/creation.js';
import { Conv2d, ReLU } from '../nn/layers.js';
import { ModuleList, Sequential } from '../nn/containers.js';
import type { ModelOutput } from './types.js';
import { FeatureDistiller, alignSpatial, configReader, featureLists, stageShapes, studentInputSize, sumLosses } from './feature-common.js';

export { studentInputSize } from './feature-common.js';

export const VID_DEFAULTS = { ceWeight: 1, featWeight: 1, initPredVar: 5, eps: 1e-5 };
export type VidSettings = typeof VID_DEFAULTS;

export class VID extends FeatureDistiller<VidSettings> {
  /** Settings from an experiment config: the reference's VID section (absent: the defaults). */
  static fromConfig = configReader('VID', { initPredVar: 'INIT_PRED_VAR', eps: 'EPS' });
  readonly name = 'vid';
  readonly regressors: ModuleList;
  /** the initial (and constant) log-scale of every channel: log(exp(initPredVar - eps) - 1) */
  readonly logScale: number;
  constructor(opts: DistillerOptions & Partial<VidSettings>) {
    super('vid', opts, VID_DEFAULTS);
    const teacher = this.requireTeacher('vid');
    const size = studentInputSize(this.student);
    const sc = stageShapes(this.student, size, 'student').slice(1).map((s) => s[1]!);
    const tc = stageShapes(teacher, size, 'teacher').slice(1).map((s) => s[1]!);
    const regs = new ModuleList();
    for (let i = 0; i < Math.min(sc.length, tc.length); i++) {
      const s = sc[i]!, t = tc[i]!;
      regs.append(new Sequential(new Conv2d(s, t, 1, { bias: false }), new ReLU(), new Conv2d(t, t, 1, { bias: false }), new ReLU(), new Conv2d(t, t, 1, { bias: false })));
    }
    this.regressors = this.registerModule('regressors', regs);
    this.logScale = Math.log(Math.exp(this.settings.initPredVar - this.settings.eps) - 1);
    this.setupOptimizer();
  }
  protected featureTerm(s: ModelOutput, t: ModelOutput | undefined): () => Tensor {
    const { eps } = this.settings;
    const [fs, ft] = featureLists(this.name, s, t, 'stages');
    return () => sumLosses('vid', this.regressors.length, (i) => {
      const [a, b] = alignSpatial(fs[i + 1]!, ft[i + 1]!);
      const mean = this.regressors.at(i).forward(a) as Tensor;
      const c = mean.shape[1]!;
      const ls = full([1, c, 1, 1], this.logScale, { dtype: mean.dtype, device: mean.device as never });
      const v = ls.exp().add(1).log().add(eps);
      return mean.sub(b).square().div(v).add(v.log()).mul(0.5).mean();
    });
  }
}
