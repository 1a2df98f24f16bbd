// Shared by the SDD distillers: the scale logits both models must provide, and the bookkeeping.
import type { Tensor } from '../core/tensor.js';
import type { LossDetails } from '../sdd/losses.js';
import type { LossTerms } from './distiller.js';
import type { ModelOutput } from './types.js';

export function requireScaleLogits(method: string, s: ModelOutput, t: ModelOutput): [Tensor, Tensor] {
  if (!s.scaleLogits || !t.scaleLogits) {
    throw new Error(`${method}: both models must return scaleLogits (B x K x N) from forward(); ` +
      "the zoo's models do (models.create(name, { scales })); for your own model use sdd.scaleLogits(features, fc.weight, fc.bias)");
  }
  return [s.scaleLogits, t.scaleLogits];
}

export function sddTerms(terms: Record<string, Tensor>, d: LossDetails, details: boolean): LossTerms {
  return { terms, sdd: { complementary: d.complementary, rows: d.weights.numel, weights: details ? d.weights : undefined } };
}
