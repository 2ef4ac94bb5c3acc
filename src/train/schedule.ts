/**
 * Learning-rate schedules, as multipliers of the base rate by optimizer step (0-based: the
 * factor for step s is used for the (s+1)-th update). The formulas are those of Hugging Face's
 * get_{constant,linear,cosine}_schedule_with_warmup, so runs compare one to one.
 */
import { LayercutError } from '../errors.js';

export type LrSchedule =
  | { kind: 'constant'; warmupSteps?: number }
  | { kind: 'linear'; warmupSteps?: number; totalSteps: number }
  | { kind: 'cosine'; warmupSteps?: number; totalSteps: number };

/** The paper's schedule: a fixed rate, no warm-up, no decay. */
export const constantSchedule: LrSchedule = { kind: 'constant' };

export function lrFactor(schedule: LrSchedule, step: number): number {
  const warmup = schedule.warmupSteps ?? 0;
  if (step < warmup) return step / Math.max(1, warmup);
  switch (schedule.kind) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (schedule.totalSteps - step) / Math.max(1, schedule.totalSteps - warmup));
    case 'cosine': {
      const progress = (step - warmup) / Math.max(1, schedule.totalSteps - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}

export function validateSchedule(schedule: LrSchedule): void {
  const warmup = schedule.warmupSteps ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new LayercutError(`warm-up steps must be a non-negative integer, got ${warmup}`);
  }
  if (schedule.kind !== 'constant') {
    if (!Number.isInteger(schedule.totalSteps) || schedule.totalSteps <= warmup) {
      throw new LayercutError(
        `a ${schedule.kind} schedule needs totalSteps > warmupSteps, got ${schedule.totalSteps} and ${warmup}`,
      );
    }
  }
}
