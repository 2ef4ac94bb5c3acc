/**
 * The bookkeeping the local pool (`runPool`) and the Redis coordinator (`runOnQueue`) share:
 * the triage of a sweep against the results store, and every run that settles after it — a
 * result stored once, a failure stored with its error, a run skipped — each written to the
 * store, counted, and reported as a `SweepEvent`; at the end, the sweep's outcome.
 *
 *   const { store, close } = sweepStore(options.store);
 *   const ledger = new SweepLedger(store, runs, { retryFailed, backend }, emit);
 *   ledger.announce('on 2 worker processes');
 *   for (const run of ledger.toRun) … ledger.done(id, worker, result) | ledger.failed({ id, … })
 *   return ledger.outcome();   // and close() when done
 *
 * Only the coordinating process keeps a ledger, so only it writes results to the store.
 */
import type { RunResult } from '../plan/types.js';
import { DEFAULT_DB_FILE, openStore, type ResultsStore } from '../results/store.js';
import type { BackendName } from '../runtime/backend.js';
import type { SkipReason } from '../runner/events.js';
import type { SweepEvent } from './events.js';
import { triage, type SweepOutcome, type SweepRun, type Triage } from './sweep.js';

export interface SweepLedgerOptions {
  /** Run runs that failed before again (default false: they are skipped). */
  retryFailed?: boolean | undefined;
  /** Run on this backend (overrides each plan's). */
  backend?: BackendName | undefined;
}

/** A failure to record: `message` for people (and the outcome), `detail` (with the stack) for the store. */
export interface RunFailure {
  id: string;
  worker: string;
  message: string;
  detail: string;
  attempt: number;
  /** True when the run goes back to the queue for another attempt (it is not settled yet). */
  retry: boolean;
}

/** The sweep's results store: the one given, or the one at a path (default `layercut.db`); `close` closes only a store opened here. */
export function sweepStore(given: ResultsStore | string | undefined): {
  store: ResultsStore;
  close: () => void;
} {
  if (typeof given === 'object') return { store: given, close: () => undefined };
  const store = openStore(given ?? DEFAULT_DB_FILE);
  return { store, close: () => store.close() };
}

export class SweepLedger {
  /** Runs to run, largest first, with the backend override applied. */
  readonly toRun: readonly SweepRun[];
  private readonly results: Map<string, RunResult>;
  private readonly failures: { id: string; error: string }[] = [];
  private readonly skipped: string[] = [];
  /** Runs done or finally failed in this sweep. */
  private settled = 0;
  /** What the triage found: runs finished before, and runs to leave alone. */
  private readonly finishedBefore: number;
  private readonly skipsFound: Triage['skips'];

  /** Triages `runs` against the store (adding new ones to it as queued); `announce` reports it. */
  constructor(
    private readonly store: ResultsStore,
    private readonly runs: readonly SweepRun[],
    options: SweepLedgerOptions,
    private readonly emit: (event: SweepEvent) => void,
  ) {
    const { toRun, finished, skips } = triage(store, runs, options);
    this.toRun = toRun;
    this.results = new Map(finished);
    this.finishedBefore = finished.size;
    this.skipsFound = skips;
  }

  /** Reports the triage: a `plan` event (`where`: where the runs go), then each run left alone. */
  announce(where: string): void {
    this.emit({
      kind: 'plan',
      total: this.finishedBefore + this.toRun.length + this.skipsFound.length,
      finished: this.finishedBefore,
      toRun: this.toRun.length,
      skipped: this.skipsFound.length,
      store: this.store.path,
      where,
    });
    for (const skip of this.skipsFound) this.skip(skip);
  }

  /** A run left alone; `result` when another process finished it (it counts as a result). */
  skip(skip: { id: string; reason: SkipReason; detail: string }, result?: RunResult): void {
    if (result) this.results.set(skip.id, result);
    this.skipped.push(skip.id);
    this.emit({ kind: 'skipped', ...skip });
  }

  /** Stores a run's result (the first one stored wins: a second is never written) and reports it. */
  done(id: string, worker: string, result: RunResult): void {
    const stored = this.store.finish(id, result) ? result : (this.store.get(id)?.result ?? result);
    this.results.set(id, stored);
    this.emit({ kind: 'done', id, worker, result: stored, index: ++this.settled, of: this.toRun.length });
  }

  /** Stores a run's failure and reports it; unless it is retried, the run has settled as failed. */
  failed(failure: RunFailure): void {
    const { id, worker, message, detail, attempt, retry } = failure;
    this.store.fail(id, detail);
    if (!retry) {
      this.failures.push({ id, error: message });
      this.settled++;
    }
    this.emit({
      kind: 'failed',
      id,
      worker,
      error: message,
      attempt,
      retry,
      index: this.settled,
      of: this.toRun.length,
    });
  }

  /** Results of every finished run asked for, in the order asked; the failures and skips of this sweep. */
  outcome(): SweepOutcome {
    const ids = new Set(this.runs.map((run) => run.id));
    return {
      results: [...ids].flatMap((id) => this.results.get(id) ?? []),
      failed: this.failures,
      skipped: this.skipped,
    };
  }
}
