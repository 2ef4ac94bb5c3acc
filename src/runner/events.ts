/**
 * What `runPlans` reports while it works, in order:
 *
 *   plan                       once: how many runs, how many finished before, how many to run
 *   skipped*                   runs it leaves alone (failed before, or held by another process)
 *   start → progress* → done   per run it runs; `failed` instead of `done` when the run throws
 *   interrupted                at most once, when the signal stopped the sweep
 *
 * The command line draws progress bars from these; the notebook kernel a live display.
 */
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunProgress } from '../train/run.js';

/** Where a run stands in this call's queue: the `index`-th (1-based) of `of` runs to run. */
export interface QueuePosition {
  id: string;
  index: number;
  of: number;
}

export type SkipReason = 'failed-before' | 'running-elsewhere' | 'finished-elsewhere';

export type RunnerEvent =
  | {
      kind: 'plan';
      /** Runs asked for (after `only`). */
      total: number;
      /** Finished in the store before this call: reused, not run again. */
      finished: number;
      /** Runs this call will run (queued, abandoned by a dead process, or failed with retryFailed). */
      toRun: number;
      /** Runs left alone (see the `skipped` events). */
      skipped: number;
      /** The results store file. */
      store: string;
    }
  | ({ kind: 'start'; plan: RunPlan } & QueuePosition)
  | ({ kind: 'progress'; progress: RunProgress } & QueuePosition)
  | ({ kind: 'done'; result: RunResult } & QueuePosition)
  | ({ kind: 'failed'; error: string } & QueuePosition)
  | { kind: 'skipped'; id: string; reason: SkipReason; detail: string }
  /** The signal stopped the sweep; `id` is the run put back in the queue (null: between runs). */
  | { kind: 'interrupted'; id: string | null };

export type RunnerEventKind = RunnerEvent['kind'];
