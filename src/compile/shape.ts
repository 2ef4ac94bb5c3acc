/**
 * Structural reading of DSL values. An experiment file may import the DSL from another copy
 * of layercut (or build values by hand in a notebook), so values are recognised by their
 * `kind` tags, never with instanceof.
 */
import type { RunSet } from '../../dsl/sweep.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const runSetKinds: readonly string[] = [
  'experiment',
  'override',
  'sweep',
  'concat',
] satisfies RunSet['kind'][];

/** True for experiments, overrides, sweeps and concatenations (by their `kind` tag). */
export function isRunSet(value: unknown): value is RunSet {
  return isRecord(value) && typeof value['kind'] === 'string' && runSetKinds.includes(value['kind']);
}

export { show } from '../plan/schema.js';
