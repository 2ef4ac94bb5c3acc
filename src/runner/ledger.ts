/**
 * The bookkeeping every executor shares: the triage of a sweep against the results store, and
 * every run that settles after it — a run claimed, a result stored once, a failure stored with
 * its error, a run skipped — each written to the store, counted, and reported as a `RunEvent`;
 * at the end, the sweep's outcome.
 *
 *   const ledger = new SweepLedger(store, runs, { retryFailed, backend }, emit);
 *   ledger.announce('on 2 worker processes');
 *   for (const run of ledger.toRun) if (ledger.claim(run.id)) … ledger.done(id, worker, result) | ledger.failed({ id, … })
 *   return ledger.outcome();
 *
 * Only the coordinating process keeps a ledger, so only it writes results to the store.
 */
import os from 'node:os';

import type { RunResult } from '../plan/types.js';
import {
  DEFAULT_DB_FILE,
  errorMessage,
  openStore,
  type ResultsStore,
  type StoredRun,
} from '../results/store.js';
import type { BackendName } from '../runtime/backend.js';
import type { RunEvent, SkipReason } from './events.js';
import { largestFirst, type RunsOutcome, type SweepRun } from './executor.js';

/** What an executor does with a run it was asked for (`decide`). */
export type Decision =
  | { action: 'reuse'; result: RunResult }
  | { action: 'run' }
  | { action: 'skip'; reason: SkipReason; detail: string };

/** What to do with a run, from its row in the store. */
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

export interface TriageOptions {
  /** Run runs that failed before again (default false: they are skipped). */
  retryFailed?: boolean | undefined;
  /** Run on this backend (overrides each plan's; the store keeps the plan as it runs). */
  backend?: BackendName | undefined;
  /** Sort the runs to run largest first (default true; one process runs them in the order given). */
  largestFirst?: boolean;
}

export interface Triage {
  /** Runs to run (largest first unless told otherwise), with the backend override applied. */
  toRun: SweepRun[];
  /** Results of runs finished before. */
  finished: Map<string, RunResult>;
  skips: { id: string; reason: SkipReason; detail: string }[];
}

/**
 * Adds the runs to the store (as queued, when new) and sorts them: finished ones are reused,
 * failed ones skipped unless `retryFailed`, those held by a live process skipped, the rest run.
 */
export function triage(store: ResultsStore, runs: readonly SweepRun[], options: TriageOptions = {}): Triage {
  const unique = new Map<string, SweepRun>();
  for (const run of runs) {
    if (unique.has(run.id)) continue;
    unique.set(run.id, options.backend ? { ...run, plan: { ...run.plan, backend: options.backend } } : run);
  }
  store.enqueue([...unique.values()].map((run) => run.plan));
  const result: Triage = { toRun: [], finished: new Map(), skips: [] };
  for (const run of unique.values()) {
    const decision = decide(store.get(run.id), options.retryFailed ?? false);
    if (decision.action === 'reuse') result.finished.set(run.id, decision.result);
    else if (decision.action === 'skip')
      result.skips.push({ id: run.id, reason: decision.reason, detail: decision.detail });
    else result.toRun.push(run);
  }
  if (options.largestFirst ?? true) result.toRun = largestFirst(result.toRun);
  return result;
}

/** A failure to record: `message` for people (and the outcome), `detail` (the error, or its text with the stack) for the store. */
export interface RunFailure {
  id: string;
  /** The worker process it failed on (absent: this process). */
  worker?: string | undefined;
  message: string;
  detail: unknown;
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
  /** Runs to run, with the backend override applied. */
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
    options: TriageOptions,
    private readonly emit: (event: RunEvent) => void,
  ) {
    const { toRun, finished, skips } = triage(store, runs, options);
    this.toRun = toRun;
    this.results = new Map(finished);
    this.finishedBefore = finished.size;
    this.skipsFound = skips;
  }

  /** Reports the triage: a `plan` event (`where`: where the runs go; absent: this process), then each run left alone. */
  announce(where?: string): void {
    this.emit({
      kind: 'plan',
      total: this.finishedBefore + this.toRun.length + this.skipsFound.length,
      finished: this.finishedBefore,
      toRun: this.toRun.length,
      skipped: this.skipsFound.length,
      store: this.store.path,
      ...(where === undefined ? {} : { where }),
    });
    for (const skip of this.skipsFound) this.skip(skip);
  }

  /**
   * Takes a run for this sweep (the store marks it running); false — and the run is skipped —
   * when another process took it or finished it since the triage.
   */
  claim(id: string): boolean {
    if (this.store.markRunning(id)) return true;
    const now = this.store.get(id);
    if (now?.status === 'done' && now.result) {
      this.skip({ id, reason: 'finished-elsewhere', detail: 'another process finished it' }, now.result);
    } else {
      this.skip({ id, reason: 'running-elsewhere', detail: 'another process took it' });
    }
    return false;
  }

  /** A run left alone; `result` when another process finished it (it counts as a result). */
  skip(skip: { id: string; reason: SkipReason; detail: string }, result?: RunResult): void {
    if (result) this.results.set(skip.id, result);
    this.skipped.push(skip.id);
    this.emit({ kind: 'skipped', ...skip });
  }

  /** Stores a run's result (the first one stored wins: a second is never written) and reports it. */
  done(id: string, worker: string | undefined, result: RunResult): void {
    const stored = this.store.finish(id, result) ? result : (this.store.get(id)?.result ?? result);
    this.results.set(id, stored);
    this.emit({
      kind: 'done',
      id,
      ...(worker === undefined ? {} : { worker }),
      result: stored,
      index: ++this.settled,
      of: this.toRun.length,
    });
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
      ...(worker === undefined ? {} : { worker }),
      error: message,
      attempt,
      retry,
      index: this.settled,
      of: this.toRun.length,
    });
  }

  /** Results of every finished run asked for, in the order asked; the failures and skips of this sweep. */
  outcome(): RunsOutcome {
    const ids = new Set(this.runs.map((run) => run.id));
    return {
      results: [...ids].flatMap((id) => this.results.get(id) ?? []),
      failed: this.failures,
      skipped: this.skipped,
    };
  }
}
