// Losses on plain logits and class indices (torch.nn's CrossEntropyLoss): the term every method
// trains on and what evaluation reports. Public as sdd.losses.crossEntropy, next to the
// distillation losses of sdd/losses.ts.
import { native } from '../core/native.js';
import { fromHandle, unwrapTensor, type Tensor } from '../core/tensor.js';
import { checkOptions } from '../core/errors.js';
import { REDUCTION } from '../core/codes.js';

/** Cross-entropy of B x K logits against B class indices (mean by default). */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { reduction?: 'mean' | 'sum' | 'none'; labelSmoothing?: number } = {}): Tensor {
  const o = checkOptions<{ reduction: 'mean' | 'sum' | 'none'; labelSmoothing: number }>('losses.crossEntropy options', opts, {
    reduction: { kind: 'string', oneOf: ['mean', 'sum', 'none'], default: 'mean' },
    labelSmoothing: { kind: 'number', min: 0, max: 1, default: 0 },
  }, { hints: {
    // torch.nn.functional.cross_entropy's deprecated reduce / size_average
    reduce: (v) => (v === false ? "reduction: 'none'" : "reduction: 'mean' (or 'sum')"),
    size_average: (v) => (v === false ? "reduction: 'sum'" : "reduction: 'mean'"),
    sizeAverage: (v) => (v === false ? "reduction: 'sum'" : "reduction: 'mean'"),
    weight: 'nothing (class weights are not supported)', ignore_index: 'nothing (ignoreIndex is not supported)', ignoreIndex: 'nothing (not supported)',
  } });
  return fromHandle(native.crossEntropy(unwrapTensor('logits', logits), unwrapTensor('targets', targets), REDUCTION[o.reduction], o.labelSmoothing));
}
