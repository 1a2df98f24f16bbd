// Evaluation over a loader: top-1, top-5 and mean cross-entropy of the global logits, eval mode, no grad.
import { noGrad } from '../core/autograd.js';
import { tidy, dispose } from '../core/scope.js';
import { crossEntropy } from '../nn/losses.js';
import type { Tensor } from '../core/tensor.js';
import type { DistillModel } from '../distill/types.js';

export interface EvalResult {
  top1: number;
  top5: number;
  loss: number;
  count: number;
}

export interface BatchLike { images: Tensor; targets: Tensor }

export async function evaluate(model: DistillModel, batches: AsyncIterable<BatchLike> | Iterable<BatchLike>): Promise<EvalResult> {
  // Leave the model in the mode it came in (a frozen teacher stays in eval mode and refuses train()).
  const wasTraining = model.training ?? true;
  model.eval();
  let correct1 = 0, correct5 = 0, lossSum = 0, count = 0;
  for await (const batch of batches as AsyncIterable<BatchLike>) {
    const r = tidy(() => noGrad(() => {
      const logits = model.forward(batch.images).logits;
      const k = Math.min(5, logits.shape[1]!);
      const top = logits.topk(k, { dim: 1 }).indices;
      const hits = top.eq(batch.targets.unsqueeze(1));
      return {
        c1: hits.select(1, 0).sum().item() as number,
        c5: hits.any(1).sum().item() as number,
        loss: crossEntropy(logits, batch.targets, { reduction: 'sum' }).item() as number,
        n: batch.targets.numel,
      };
    }));
    dispose([batch.images, batch.targets]);
    correct1 += r.c1; correct5 += r.c5; lossSum += r.loss; count += r.n;
  }
  if (wasTraining) model.train();
  return { top1: count ? correct1 / count : 0, top5: count ? correct5 / count : 0, loss: count ? lossSum / count : 0, count };
}
