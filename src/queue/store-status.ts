/**
 * Where a sweep stands in the results store, for `layercut status`: runs per status, and the
 * runs marked running with the process (host, pid) that holds each.
 */
import type { RunPlan } from '../plan/types.js';
import { layersText, modelName } from '../results/rows.js';
import { runStatuses, type ResultsStore, type RunStatus } from '../results/store.js';

export interface StoreStatus {
  file: string;
  counts: Record<RunStatus, number>;
  running: { id: string; label: string; host: string; pid: number; startedAt: string | null }[];
}

/** "tiny-gpt2 first 2 · spam · seed 0". */
export function runLabel(plan: RunPlan): string {
  return `${modelName(plan.model)} ${layersText(plan.layers)} · ${plan.task} · seed ${plan.seed}`;
}

/** The store's side of a sweep. */
export function storeStatus(store: ResultsStore): StoreStatus {
  return {
    file: store.path,
    counts: store.counts(),
    running: store.list({ status: 'running' }).map((run) => ({
      id: run.id,
      label: runLabel(run.plan),
      host: run.owner?.host ?? '?',
      pid: run.owner?.pid ?? -1,
      startedAt: run.startedAt,
    })),
  };
}

/** The store's status as lines. */
export function formatStoreStatus(status: StoreStatus): string {
  const total = runStatuses.reduce((n, s) => n + status.counts[s], 0);
  const lines = [
    `results store ${status.file}: ${total} runs — ` +
      runStatuses.map((s) => `${status.counts[s]} ${s}`).join(', '),
  ];
  for (const run of status.running) {
    lines.push(
      `  running ${run.id}  ${run.label}  (pid ${run.pid} on ${run.host}, since ${run.startedAt ?? '?'})`,
    );
  }
  return lines.join('\n');
}
