// Learning-rate schedules as pure functions of the epoch (so resuming needs only the epoch).
import { checkOptions, invalidParameterError, type OptionSpec } from '../core/errors.js';

// The DKD family's loss-weight warm-up, a distiller setting (distill/settings.ts), offered here as
// sdd.schedules.lossWarmup since the first release.
export { lossWarmup } from '../distill/settings.js';

const REQUIRED_EPOCHS = (min: number): OptionSpec => ({ kind: 'integer', min, required: true });

/** lr for a 1-based epoch, given the base lr. */
export interface Schedule {
  readonly name: string;
  lr(epoch: number, baseLr: number): number;
}

/** lr × gamma^(number of milestones ≤ epoch) — the reference: milestones [150, 180, 210], gamma 0.1. */
export function multiStep(opts: { milestones: number[]; gamma?: number }): Schedule {
  const { milestones, gamma } = checkOptions<{ milestones: number[]; gamma: number }>('schedules.multiStep options', opts, {
    milestones: { kind: 'array', expected: 'an array of non-negative integers', required: true, check: (name, v) => {
      if (!(v as unknown[]).every((m) => Number.isInteger(m) && (m as number) >= 0)) throw invalidParameterError(name, 'an array of non-negative integers', v);
      return v;
    } },
    gamma: { kind: 'number', min: 0, default: 0.1 },
  }, { hints: { lr_decay_stages: 'milestones', steps: 'milestones', decay_rate: 'gamma', lr_decay_rate: 'gamma', factor: 'gamma' } });
  const sorted = [...milestones].sort((a, b) => a - b);
  return {
    name: `multiStep(${sorted.join(',')}; ×${gamma})`,
    // mdistiller's adjust_learning_rate: steps = sum(epoch > milestones); lr × gamma^steps
    lr: (epoch, base) => base * gamma ** sorted.filter((m) => epoch > m).length,
  };
}

/** Cosine annealing from the base lr to minLr over `epochs`. */
export function cosine(opts: { epochs: number; minLr?: number }): Schedule {
  const { epochs, minLr } = checkOptions<{ epochs: number; minLr: number }>('schedules.cosine options', opts, {
    epochs: REQUIRED_EPOCHS(1), minLr: { kind: 'number', min: 0, default: 0 },
  }, { hints: { T_max: 'epochs', tMax: 'epochs', eta_min: 'minLr', etaMin: 'minLr' } });
  return {
    name: `cosine(${epochs})`,
    lr: (epoch, base) => minLr + (base - minLr) * (1 + Math.cos(Math.PI * Math.min(Math.max(epoch - 1, 0), epochs) / epochs)) / 2,
  };
}

/** Linear warmup over the first `epochs` epochs (from base/epochs up to base), then `then` (or constant). */
export function linearWarmup(opts: { epochs: number; then?: Schedule }): Schedule {
  const { epochs, then } = checkOptions<{ epochs: number; then?: Schedule }>('schedules.linearWarmup options', opts, {
    epochs: REQUIRED_EPOCHS(0),
    then: { kind: 'object', expected: 'a schedule (e.g. schedules.cosine(...))', check: (name, v) => {
      if (typeof (v as Schedule).lr !== 'function') throw invalidParameterError(name, 'a schedule (e.g. schedules.cosine(...))', v);
      return v;
    } },
  }, { hints: { warmup: 'epochs', warmup_epochs: 'epochs', after: 'then', next: 'then' } });
  return {
    name: `linearWarmup(${epochs})${then ? ` + ${then.name}` : ''}`,
    lr: (epoch, base) => (epoch <= epochs ? base * epoch / Math.max(epochs, 1) : then ? then.lr(epoch, base) : base),
  };
}

export function constant(): Schedule {
  return { name: 'constant', lr: (_e, base) => base };
}
