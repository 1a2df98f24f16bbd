// Learning-rate schedules as pure functions of the epoch (so resuming needs only the epoch), and the
// DKD family's loss-weight warmup.
import { checkInteger, checkNumber, invalidParameterError } from '../errors.js';

/** lr for a 1-based epoch, given the base lr. */
export interface Schedule {
  readonly name: string;
  lr(epoch: number, baseLr: number): number;
}

/** lr × gamma^(number of milestones ≤ epoch) — the reference: milestones [150, 180, 210], gamma 0.1. */
export function multiStep({ milestones, gamma = 0.1 }: { milestones: number[]; gamma?: number }): Schedule {
  if (!Array.isArray(milestones) || !milestones.every((m) => Number.isInteger(m) && m >= 0)) {
    throw invalidParameterError('milestones', 'an array of non-negative integers', milestones);
  }
  checkNumber('gamma', gamma);
  const sorted = [...milestones].sort((a, b) => a - b);
  return {
    name: `multiStep(${sorted.join(',')}; ×${gamma})`,
    // mdistiller's adjust_learning_rate: steps = sum(epoch > milestones); lr × gamma^steps
    lr: (epoch, base) => base * gamma ** sorted.filter((m) => epoch > m).length,
  };
}

/** Cosine annealing from the base lr to minLr over `epochs`. */
export function cosine({ epochs, minLr = 0 }: { epochs: number; minLr?: number }): Schedule {
  checkInteger('epochs', epochs, 1);
  return {
    name: `cosine(${epochs})`,
    lr: (epoch, base) => minLr + (base - minLr) * (1 + Math.cos(Math.PI * Math.min(Math.max(epoch - 1, 0), epochs) / epochs)) / 2,
  };
}

/** Linear warmup over the first `epochs` epochs (from base/epochs up to base), then `then` (or constant). */
export function linearWarmup({ epochs, then }: { epochs: number; then?: Schedule }): Schedule {
  checkInteger('epochs', epochs, 0);
  return {
    name: `linearWarmup(${epochs})${then ? ` + ${then.name}` : ''}`,
    lr: (epoch, base) => (epoch <= epochs ? base * epoch / Math.max(epochs, 1) : then ? then.lr(epoch, base) : base),
  };
}

export function constant(): Schedule {
  return { name: 'constant', lr: (_e, base) => base };
}

/** The DKD family's loss-weight warmup: min(epoch / warmup, 1). */
export function lossWarmup(epoch: number, warmup: number): number {
  checkNumber('epoch', epoch);
  checkNumber('warmup', warmup);
  return warmup <= 0 ? 1 : Math.min(epoch / warmup, 1);
}
