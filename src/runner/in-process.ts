/**
 * The default executor: runs the runs of a sweep one at a time in this process, in the order
 * given, so that a sweep can stop at any point and pick up where it left off.
 *
 *   triage against the store → finished ones are reused, never run again
 *   for each unfinished run: claim (markRunning) → runExperiment → finish | fail (and go on)
 *
 * Resume: a run left `running` by a process that died counts as unfinished (the store checks
 * the owner's pid / lease) and runs again. An abort signal stops the sweep cleanly: the run in
 * progress is put back (never marked failed) and `execute` rejects with `RunsInterruptedError`.
 */
import type { RunResult } from '../plan/types.js';
import { runExperiment } from '../experiment/run.js';
import type { RunEvent } from './events.js';
import {
  RunsInterruptedError,
  type ExecuteOptions,
  type Executor,
  type RunsOutcome,
  type SweepRun,
} from './executor.js';
import { SweepLedger } from './ledger.js';

/** Runs in this process, one at a time (see the file comment). */
export function inProcess(): Executor {
  return { execute: runHere };
}

async function runHere(runs: readonly SweepRun[], options: ExecuteOptions): Promise<RunsOutcome> {
  const emit = (event: RunEvent): void => options.onEvent?.(event);
  const { store, signal } = options;
  const ledger = new SweepLedger(
    store,
    runs,
    { retryFailed: options.retryFailed, backend: options.backend, largestFirst: false },
    emit,
  );
  ledger.announce();
  const interrupted = (requeued: string[]): RunsInterruptedError => {
    emit({ kind: 'interrupted', requeued });
    return new RunsInterruptedError(requeued, ledger.outcome());
  };

  for (const [i, { id, plan }] of ledger.toRun.entries()) {
    const position = { index: i + 1, of: ledger.toRun.length };
    if (signal?.aborted) throw interrupted([]);
    if (!ledger.claim(id)) continue;
    emit({ kind: 'start', id, plan, ...position });
    let result: RunResult;
    try {
      result = await runExperiment(plan, {
        onProgress: (progress) => emit({ kind: 'progress', id, progress, ...position }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      // Not a failure: the run stays this store's until it is closed, which puts it back in the queue.
      if (signal?.aborted) throw interrupted([id]);
      const message = error instanceof Error ? error.message : String(error);
      ledger.failed({ id, message, detail: error, attempt: 1, retry: false });
      continue;
    }
    ledger.done(id, undefined, result);
  }
  return ledger.outcome();
}
