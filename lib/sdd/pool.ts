// Multi-scale pooling and the shared-classifier head of SDD (sdd-method.md §2).
import { native } from '../core/native.js';
import { Tensor, fromHandle, unwrapTensor } from '../core/tensor.js';
import { checkOptions, invalidParameterError } from '../core/errors.js';

export type PoolMode = 'nested' | 'direct';

export interface MultiScaleOptions {
  /** Grid sizes; default [1, 2, 4] (1 + 4 + 16 = 21 regions). */
  scales?: number[];
  /**
   * 'nested' (default, the reference): pool a 4x4 grid (or the largest scale when some scale does not
   * divide 4) and derive coarser levels from it; levels that do not divide that grid are pooled from
   * the map. 'direct': every level pooled from the map itself (exact means when H, W are not multiples).
   */
  mode?: PoolMode;
  /**
   * Allow a map smaller than the largest scale (adaptive pooling then repeats cells). The reference
   * does this for CIFAR MobileNetV2 (2x2 map, M = [1, 2, 4]); off by default because it is rarely meant.
   */
  allowReplicate?: boolean;
}

export const DEFAULT_SCALES: readonly number[] = [1, 2, 4];

/** Number of regions N = sum of m^2 over the scales. */
export function regionCount(scales: readonly number[]): number {
  return scales.reduce((a, s) => a + s * s, 0);
}

export function checkScales(name: string, scales: unknown): number[] {
  if (!Array.isArray(scales) || scales.length === 0) throw invalidParameterError(name, 'a non-empty array of positive integers', scales);
  for (const s of scales) {
    if (!Number.isInteger(s) || s <= 0) throw invalidParameterError(name, 'a non-empty array of positive integers', scales);
  }
  return scales as number[];
}

/** The scale lists the reference knows (its --M): [1], [1, 2] and [1, 2, 4]. */
export const REFERENCE_SCALES: readonly (readonly number[])[] = [[1], [1, 2], [1, 2, 4]];

/**
 * checkScales, and the list must be one the reference knows ([1], [1, 2] or [1, 2, 4]) unless
 * allowAny is true (models.create's allowAnyScales, the CLI's --allow-any-scales).
 */
export function checkReferenceScales(name: string, scales: unknown, allowAny = false): number[] {
  const list = checkScales(name, scales);
  if (!allowAny && !REFERENCE_SCALES.some((r) => r.length === list.length && r.every((v, i) => v === list[i]))) {
    throw new RangeError(`${name}: [${list.join(', ')}] is not a scale list of the reference, which knows M = [1], [1, 2] and [1, 2, 4] ` +
      '(SDD\'s multi-scale grids); pass allowAnyScales: true (CLI: --allow-any-scales) to use other grids');
  }
  return list;
}

function resolve(fn: string, features: Tensor, opts: MultiScaleOptions | undefined): { scales: number[]; mode: PoolMode } {
  const o = checkOptions<MultiScaleOptions>(`${fn} options`, opts, { scales: 'any', mode: 'any', allowReplicate: 'boolean' },
    { name: `${fn} options`, hints: { M: 'scales', spp: 'scales' } });
  const scales = checkScales(`${fn} options.scales`, o.scales ?? [...DEFAULT_SCALES]);
  const mode = o.mode ?? 'nested';
  if (mode !== 'nested' && mode !== 'direct') throw invalidParameterError(`${fn} options.mode`, "'nested' or 'direct'", mode);
  unwrapTensor('features', features);
  const shape = features.shape;
  if (shape.length !== 4) throw invalidParameterError('features', 'a 4-D tensor [B, C, H, W]', `a tensor of shape [${shape.join(', ')}]`);
  const largest = Math.max(...scales);
  const [, , H, W] = shape as [number, number, number, number];
  if ((H < largest || W < largest) && o.allowReplicate !== true) {
    throw new RangeError(`${fn}: the feature map is ${H}x${W}, smaller than the largest scale ${largest}: its ` +
      `${largest}x${largest} regions would repeat cells. Use smaller scales, or pass allowReplicate: true to ` +
      'reproduce the reference (it does this for CIFAR MobileNetV2).');
  }
  return { scales, mode };
}

/** B x C x H x W -> B x C x N region means, N = sum m^2; region 0 is the whole map, then each grid row-major. */
export function multiScalePool(features: Tensor, opts?: MultiScaleOptions): Tensor {
  const { scales, mode } = resolve('multiScalePool', features, opts);
  return fromHandle(native.multiScalePool(features.handle, scales, mode));
}

/** The classifier (weight K x C, bias K) applied to every region: B x K x N logits. */
export function scaleLogits(features: Tensor, weight: Tensor, bias: Tensor | null | undefined, opts?: MultiScaleOptions): Tensor {
  const { scales, mode } = resolve('scaleLogits', features, opts);
  const w = unwrapTensor('weight', weight);
  const b = bias == null ? null : unwrapTensor('bias', bias);
  return fromHandle(native.scaleLogits(features.handle, w, b, scales, mode));
}
