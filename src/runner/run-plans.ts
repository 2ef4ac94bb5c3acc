/**
 * The default scheduler: runs a list of run plans one at a time in this process, against a
 * results store, so that a sweep can stop at any point and pick up where it left off.
 *
 *   enqueue every plan → finished ones are reused, never run again
 *   for each unfinished run: claim (markRunning) → runExperiment → finish | fail (and go on)
 *
 * Resume: a run left `running` by a process that died counts as unfinished (the store checks
 * the owner's pid / lease) and runs again. An abort signal stops the sweep cleanly: the run in
 * progress is put back (never marked failed) and `runPlans` rejects with `RunsInterruptedError`.
 */
import os from 'node:os';
import { LayercutError } from '../errors.js';
import { runId } from '../plan/id.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import {
  errorMessage,
  openStore,
  DEFAULT_DB_FILE,
  type ResultsStore,
  type StoredRun,
} from '../results/store.js';
import type { BackendName } from '../runtime/backend.js';
import { runExperiment, type RunOptions } from '../train/run.js';
import type { RunnerEvent, SkipReason } from './events.js';

export interface RunPlansOptions {
  /** An open results store, or the path of one (default `layercut.db`); a path is opened and closed here. */
  store?: ResultsStore | string;
  /** Run on this backend (overrides each plan's; not part of a run's id). */
  backend?: BackendName;
  onEvent?: (event: RunnerEvent) => void;
  /** Aborting stops the sweep: the current run goes back to the queue. */
  signal?: AbortSignal;
  /** Run runs that failed before again (default false: they are skipped). */
  retryFailed?: boolean;
  /** Only the runs whose id is, or starts with, one of these. */
  only?: string[];
}

export interface RunPlansOutcome {
  /** Results of every finished run asked for, in plan order: those run now and those reused. */
  results: RunResult[];
  /** Runs that failed in this call. */
  failed: { id: string; error: string }[];
  /** Ids of runs left alone: failed before (without retryFailed), or held by another process. */
  skipped: string[];
}

/** The sweep was stopped by its abort signal; what finished so far is in `partial` (and in the store). */
export class RunsInterruptedError extends LayercutError {
  override name = 'RunsInterruptedError';
  constructor(
    /** The run that was stopped and put back in the queue, or null when none was running. */
    readonly runId: string | null,
    readonly partial: RunPlansOutcome,
  ) {
    super(
      runId ? `interrupted: run ${runId} was put back in the queue` : 'interrupted between runs',
      'run the same plans again to resume; finished runs are not run again',
    );
  }
}

/** Keeps the plans whose id matches an `only` entry; an entry matching nothing is an error. */
function selectPlans(plans: readonly { id: string; plan: RunPlan }[], only: readonly string[] | undefined) {
  if (only === undefined || only.length === 0) return [...plans];
  const unmatched = only.filter((prefix) => !plans.some((p) => p.id.startsWith(prefix)));
  if (unmatched.length > 0) {
    throw new LayercutError(
      `no run id starts with ${unmatched.map((u) => `'${u}'`).join(', ')}`,
      `the ids here: ${plans
        .slice(0, 8)
        .map((p) => p.id)
        .join(', ')}${plans.length > 8 ? ', …' : ''} (layercut plan lists them)`,
    );
  }
  return plans.filter((p) => only.some((prefix) => p.id.startsWith(prefix)));
}

/** An error as people read it: its whole message (all lines, the hint too), no stack. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a scheduler does with a run it was asked for (`decide`). */
export type Decision =
  | { action: 'reuse'; result: RunResult }
  | { action: 'run' }
  | { action: 'skip'; reason: SkipReason; detail: string };

/** What to do with a run, from its row in the store (also used by the multi-process schedulers in src/queue/). */
export function decide(stored: StoredRun | undefined, retryFailed: boolean): Decision {
  if (!stored) return { action: 'run' };
  switch (stored.status) {
    case 'done':
      return { action: 'reuse', result: stored.result! };
    case 'queued':
      return { action: 'run' };
    case 'failed':
      return retryFailed
        ? { action: 'run' }
        : { action: 'skip', reason: 'failed-before', detail: errorMessage(stored.error ?? 'failed') };
    case 'running': {
      const owner = stored.owner;
      // Ours (left running by an earlier call of this process on this store), or abandoned by a dead process.
      const ours = owner !== null && owner.host === os.hostname() && owner.pid === process.pid;
      if (ours || !owner?.alive) return { action: 'run' };
      return {
        action: 'skip',
        reason: 'running-elsewhere',
        detail: owner
          ? `process ${owner.pid} on ${owner.host} is running it`
          : 'another process is running it',
      };
    }
  }
}

/**
 * Runs every plan not already finished in the store, one at a time, and returns the results of
 * all finished ones (reused and new), the runs that failed now, and the runs skipped.
 */
export async function runPlans(
  plans: readonly RunPlan[],
  options: RunPlansOptions = {},
): Promise<RunPlansOutcome> {
  const emit = (event: RunnerEvent): void => options.onEvent?.(event);
  const retryFailed = options.retryFailed ?? false;

  // Unique runs in order, with the backend override applied (it does not change the id).
  const byId = new Map<string, RunPlan>();
  for (const plan of plans) {
    const id = runId(plan);
    if (!byId.has(id)) byId.set(id, options.backend ? { ...plan, backend: options.backend } : plan);
  }
  const selected = selectPlans(
    [...byId].map(([id, plan]) => ({ id, plan })),
    options.only,
  );

  const ownsStore = typeof options.store !== 'object';
  const store =
    typeof options.store === 'object' ? options.store : openStore(options.store ?? DEFAULT_DB_FILE);
  const outcome: RunPlansOutcome = { results: [], failed: [], skipped: [] };
  const resultById = new Map<string, RunResult>();
  try {
    store.enqueue(selected.map((s) => s.plan));
    const toRun: { id: string; plan: RunPlan }[] = [];
    const skips: { id: string; reason: SkipReason; detail: string }[] = [];
    let finished = 0;
    for (const { id, plan } of selected) {
      const decision = decide(store.get(id), retryFailed);
      if (decision.action === 'reuse') {
        finished++;
        resultById.set(id, decision.result);
      } else if (decision.action === 'run') toRun.push({ id, plan });
      else skips.push({ id, reason: decision.reason, detail: decision.detail });
    }
    emit({
      kind: 'plan',
      total: selected.length,
      finished,
      toRun: toRun.length,
      skipped: skips.length,
      store: store.path,
    });
    for (const skip of skips) {
      outcome.skipped.push(skip.id);
      emit({ kind: 'skipped', ...skip });
    }

    const collect = (): RunPlansOutcome => ({
      ...outcome,
      results: selected.flatMap(({ id }) => resultById.get(id) ?? []),
    });

    for (const [i, { id, plan }] of toRun.entries()) {
      const position = { id, index: i + 1, of: toRun.length };
      if (options.signal?.aborted) {
        emit({ kind: 'interrupted', id: null });
        throw new RunsInterruptedError(null, collect());
      }
      if (!store.markRunning(id)) {
        // Another process took it, or finished it, since we looked.
        const now = store.get(id);
        if (now?.status === 'done' && now.result) {
          resultById.set(id, now.result);
          emit({ kind: 'skipped', id, reason: 'finished-elsewhere', detail: 'another process finished it' });
        } else {
          emit({ kind: 'skipped', id, reason: 'running-elsewhere', detail: 'another process took it' });
        }
        outcome.skipped.push(id);
        continue;
      }
      emit({ kind: 'start', plan, ...position });
      const runOptions: RunOptions = {
        onProgress: (progress) => emit({ kind: 'progress', progress, ...position }),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      let result: RunResult;
      try {
        result = await runExperiment(plan, runOptions);
      } catch (error) {
        if (options.signal?.aborted) {
          // Not a failure: the run stays this store's until it is closed, which puts it back in the queue.
          emit({ kind: 'interrupted', id });
          throw new RunsInterruptedError(id, collect());
        }
        store.fail(id, error);
        outcome.failed.push({ id, error: errorText(error) });
        emit({ kind: 'failed', error: errorText(error), ...position });
        continue;
      }
      if (!store.finish(id, result)) result = store.get(id)?.result ?? result;
      resultById.set(id, result);
      emit({ kind: 'done', result, ...position });
    }
    return collect();
  } finally {
    if (ownsStore) store.close();
  }
}
