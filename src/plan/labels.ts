/**
 * Run labels (RunLabels in types.ts) as they combine: a run defined twice keeps the first
 * name and the tags and files of both; a run enqueued again takes the name and tags of its
 * latest definition, and adds its files to those the store knew.
 */
import type { RunLabels, RunPlan } from './types.js';

const union = (a: readonly string[] = [], b: readonly string[] = []): string[] =>
  [...new Set([...a, ...b])].sort();

/** Labels without empty parts; undefined when nothing is left. */
export function cleanLabels(labels: RunLabels): RunLabels | undefined {
  const out: RunLabels = {
    ...(labels.name !== undefined ? { name: labels.name } : {}),
    ...(labels.tags?.length ? { tags: union(labels.tags) } : {}),
    ...(labels.files?.length ? { files: union(labels.files) } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Two definitions' labels: the first's name (else the second's), both sets of tags and files. */
export function mergeLabels(
  first: RunLabels | undefined,
  second: RunLabels | undefined,
): RunLabels | undefined {
  const name = first?.name ?? second?.name;
  return cleanLabels({
    ...(name !== undefined ? { name } : {}),
    tags: union(first?.tags, second?.tags),
    files: union(first?.files, second?.files),
  });
}

/** The labels the store keeps for a run enqueued again: `latest`'s name and tags, the files of both. */
export function storedLabels(
  stored: RunLabels | undefined,
  latest: RunLabels | undefined,
): RunLabels | undefined {
  return cleanLabels({
    ...(latest?.name !== undefined ? { name: latest.name } : {}),
    tags: latest?.tags ?? [],
    files: union(stored?.files, latest?.files),
  });
}

/** `plan` with `labels` (none when undefined). */
export function withLabels(plan: RunPlan, labels: RunLabels | undefined): RunPlan {
  const { labels: _old, ...rest } = plan;
  return labels ? { ...rest, labels } : rest;
}
