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

/** A short rendering of any value for error messages: JSON, but NaN and ±Infinity as themselves (JSON says null). */
export function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'undefined';
  try {
    const marked = JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE}${v}` : v,
    );
    const text = marked.replace(new RegExp(`"${NON_FINITE}(NaN|-?Infinity)"`, 'g'), '$1');
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/** Marks a non-finite number inside show()'s JSON until it is written out bare. */
const NON_FINITE = '\uE000non-finite:';
