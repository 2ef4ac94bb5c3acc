/** Option values of the multi-process commands (`run --workers/--gpus/--retries`, `worker`): counts and GPU lists. */
import { LayercutError } from '../errors.js';

/** A whole number ≥ `least` from an option's text. */
export function parseCount(text: string, option: string, least: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < least) {
    throw new LayercutError(`${option} ${text}: expected a whole number ≥ ${least}`);
  }
  return value;
}

/** "0,1" → [0, 1]. */
export function parseGpuList(text: string): number[] {
  const gpus = text.split(',').map((part) => parseCount(part.trim(), '--gpus', 0));
  if (new Set(gpus).size !== gpus.length) throw new LayercutError(`--gpus ${text}: a GPU is listed twice`);
  return gpus;
}
