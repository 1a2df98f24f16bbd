// What a distiller needs from a model: the zoo's models and any user nn.Module with this forward.
import type { Tensor } from '../core/tensor.js';

export interface ModelOutput {
  /** B x K global logits: the classifier on the globally average-pooled last map (the prediction at test time). */
  logits: Tensor;
  /** B x K x N logits of the N regions (the same fc over multi-scale pooled features). */
  scaleLogits?: Tensor;
  /**
   * What the feature-distillation methods read (the zoo's models return it): the stage outputs
   * (the reference's feats["feats"], stem first), their pre-activation versions
   * (feats["preact_feats"]), the pooled vector the classifier scores (feats["pooled_feat"]).
   */
  features?: { stages?: Tensor[]; preact?: Tensor[]; pooled?: Tensor; map?: Tensor };
}

export interface DistillModel {
  forward(x: Tensor): ModelOutput;
  parameters(): Tensor[];
  train(mode?: boolean): unknown;
  eval(): unknown;
  /** Training mode (a model without it is put back in training mode after evaluation). */
  readonly training?: boolean;
}
