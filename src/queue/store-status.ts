/**
 * Where a sweep stands in the results store, for `layercut status`: runs per status, and the
 * runs marked running with the process (host, pid) that holds each — or, where that process is
 * gone (killed, crashed: its pid no longer names it, or its lease ran out), that the run was
 * abandoned and the next `layercut run` runs it again.
 */
import { runLabel } from '../results/rows.js';
import { runStatuses, type RunStatus, type StoreReader } from '../results/store.js';

export interface StoreStatus {
  file: string;
  counts: Record<RunStatus, number>;
  /** Runs marked running; `alive` false: abandoned by a process that is gone. */
  running: {
    id: string;
    label: string;
    host: string;
    pid: number;
    startedAt: string | null;
    alive: boolean;
  }[];
}

/** The store's side of a sweep. */
export function storeStatus(store: StoreReader): StoreStatus {
  return {
    file: store.path,
    counts: store.counts(),
    running: store.list({ status: 'running' }).map((run) => ({
      id: run.id,
      label: runLabel(run.plan),
      host: run.owner?.host ?? '?',
      pid: run.owner?.pid ?? -1,
      startedAt: run.startedAt,
      alive: run.owner?.alive ?? false,
    })),
  };
}

/** The store's status as lines. */
export function formatStoreStatus(status: StoreStatus): string {
  const total = runStatuses.reduce((n, s) => n + status.counts[s], 0);
  const abandoned = status.running.filter((run) => !run.alive).length;
  const counts = runStatuses.map((s) =>
    s === 'running' && abandoned > 0
      ? `${status.counts.running - abandoned} running, ${abandoned} abandoned`
      : `${status.counts[s]} ${s}`,
  );
  const lines = [`results store ${status.file}: ${total} runs — ${counts.join(', ')}`];
  for (const run of status.running) {
    const since = run.startedAt ?? '?';
    lines.push(
      run.alive
        ? `  running ${run.id}  ${run.label}  (pid ${run.pid} on ${run.host}, since ${since})`
        : `  abandoned ${run.id}  ${run.label}  (pid ${run.pid} on ${run.host} is gone, started ${since}; the next layercut run runs it again)`,
    );
  }
  return lines.join('\n');
}
