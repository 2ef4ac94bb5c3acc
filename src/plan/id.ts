/** A run's id: a content hash of its plan, stable across files, machines and key order. */
import { createHash } from 'node:crypto';
import type { RunPlan } from './types.js';

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * 16 hex digits of SHA-256 over the canonical plan, without the backend (where it runs is not
 * what runs) and the labels (what it is called is not what runs).
 */
export function runId(plan: RunPlan): string {
  const { backend: _backend, labels: _labels, ...what } = plan;
  return createHash('sha256').update(canonicalJson(what)).digest('hex').slice(0, 16);
}
