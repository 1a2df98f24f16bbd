// Parameter groups that exempt BatchNorm parameters and biases from weight decay (a common
// option; the reference decays every parameter, which stays the default everywhere).
import type { Tensor } from '../core/tensor.js';
import { checkOptions, invalidParameterError } from '../core/errors.js';

/**
 * Splits named parameters into [{ params: weights }, { params: norms and biases, weightDecay: 0 }]
 * for optim.sgd / optim.adamw. A parameter counts as "no decay" when it is 1-D (BatchNorm scale and
 * shift, every bias) or its name ends in one of `extraNoDecay`.
 */
export function noDecayGroups(named: Iterable<[string, Tensor]>, opts: { extraNoDecay?: string[] } = {}): { params: Tensor[]; weightDecay?: number }[] {
  const { extraNoDecay } = checkOptions<{ extraNoDecay: string[] }>('optim.noDecayGroups options', opts, {
    extraNoDecay: { kind: 'array', default: [], expected: 'an array of name suffixes', check: (name, v) => {
      if (!(v as unknown[]).every((s) => typeof s === 'string')) throw invalidParameterError(name, 'an array of name suffixes (strings)', v);
      return v;
    } },
  });
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const entry of named) {
    if (!Array.isArray(entry) || entry.length !== 2) throw invalidParameterError('named', 'pairs [name, tensor] (e.g. model.namedParameters())', entry);
    const [name, p] = entry;
    if (p.ndim <= 1 || extraNoDecay.some((s) => name.endsWith(s))) noDecay.push(p);
    else decay.push(p);
  }
  return [{ params: decay }, { params: noDecay, weightDecay: 0 }].filter((g) => g.params.length > 0);
}
