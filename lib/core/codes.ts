// Op, dtype and mode codes, read by name from the addon: the one source of truth for every number
// that crosses the boundary. native/*.cc define each family once, as the table its dispatch indexes
// (a code is an entry's index), and export the names as native.codes.<family> = { name: code }.
// lib/ looks up the names it uses here, once, at load: a name the addon lacks is an error naming
// it (a binary older or newer than lib/), never a silently wrong op.
import { native } from './native.js';

/** native.codes: every family the addon exports, name -> code. */
export type NativeCodes = Readonly<Record<string, Readonly<Record<string, number>>>>;

const used = new Map<string, Set<string>>();

/**
 * The codes of `names` in `family`, looked up once. Throws when the addon has no such family or
 * lacks a name. Every family lib/ uses goes through here (usedCodes() lists them for the tests).
 */
export function codes<const N extends readonly string[]>(family: string, names: N): { readonly [K in N[number]]: number } {
  const table = (native.codes as NativeCodes | undefined)?.[family];
  if (table === undefined) {
    throw new Error(`sdd-torch: the native addon exports no '${family}' codes (native.codes): it does not match this ` +
      'version of lib/; rebuild it (npm run build:native) or reinstall the package');
  }
  const out: Record<string, number> = {};
  for (const name of names) {
    const code = table[name];
    if (typeof code !== 'number') {
      throw new Error(`sdd-torch: the native addon has no ${family} code '${name}' (it has ${Object.keys(table).join(', ')}): ` +
        'it does not match this version of lib/; rebuild it (npm run build:native) or reinstall the package');
    }
    out[name] = code;
  }
  let seen = used.get(family);
  if (seen === undefined) used.set(family, (seen = new Set()));
  for (const name of names) seen.add(name);
  return Object.freeze(out) as { readonly [K in N[number]]: number };
}

/** The names lib/ has looked up, per family (test/native-codes.test.ts compares them with native.codes). */
export function usedCodes(): ReadonlyMap<string, ReadonlySet<string>> {
  return used;
}

/** Tensor → tensor ops (native/ops.cc kUnary). */
export const UNARY = codes('unary', [
  'neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'tanh', 'relu', 'sin', 'cos', 'floor', 'ceil', 'round', 'sign',
  'logicalNot', 'reciprocal', 'square', 'log1p', 'expm1', 'gelu', 'silu', 'isnan', 'isfinite', 'clone', 'detach',
  'contiguous', 'relu6', 'log2', 'trunc', 'isinf', 'erf', 'channelsLast',
] as const);

/** Tensor ⊕ tensor ops (native/ops.cc kBinary). */
export const BINARY = codes('binary', [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr',
  'logicalXor', 'matmul', 'remainder', 'atan2', 'floorDivide',
] as const);

/** Tensor ⊕ scalar ops (native/ops.cc kBinaryScalar); rsub is scalar − tensor. */
export const BINARY_SCALAR = codes('binaryScalar', [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'remainder', 'floorDivide', 'rsub',
] as const);

/** In-place ops (native/ops.cc kInPlace). */
export const IN_PLACE = codes('inPlace', ['add', 'sub', 'mul', 'div', 'copy', 'fill', 'zero'] as const);

/** Reductions (native/ops.cc kReduce). */
export const REDUCE = codes('reduce', ['sum', 'mean', 'prod', 'std', 'var', 'amax', 'amin', 'logsumexp', 'all', 'any', 'norm'] as const);

/** How a loss reduces its rows (at::Reduction; native/ops.cc kReductions). */
export const REDUCTION = codes('reduction', ['none', 'mean', 'sum'] as const);

/** noGrad / enableGrad / inferenceMode (native/autograd.cc kGradModes). */
export const GRAD_MODE = codes('gradMode', ['noGrad', 'enableGrad', 'inferenceMode'] as const);

/** Activations the nn layers fuse (native/nn.cc kActivations). */
export const ACTIVATION = codes('activation', ['none', 'relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh'] as const);

/** In-place initialisers (native/nn.cc kInitKinds). */
export const INIT = codes('init', ['normal', 'uniform', 'fill', 'zero'] as const);

/** Conv2d padding modes, passed by name in the conv options (native/nn.cc kPaddingModes). */
export const PADDING_MODE = codes('paddingMode', ['zeros', 'reflect', 'replicate', 'circular'] as const);

/** The logit distillation losses (native/sdd.cc kLossKinds). */
export const LOSS = codes('loss', ['kd', 'dkd', 'nkd'] as const);
