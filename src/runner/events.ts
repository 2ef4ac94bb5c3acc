/**
 * What an executor reports while it works: one vocabulary for every executor (in this process,
 * a pool of worker processes, a Redis queue) and for a Redis worker, in order:
 *
 *   plan                       once: how many runs, finished before, to run, skipped, and where
 *   skipped*                   runs left alone (failed before, or held by another process)
 *   enqueued                   (queue) jobs added, already there, or whose results were waiting
 *   worker*                    (pool, queue worker) a worker process started, stopped or died
 *   adapter*                   a worker bound to a GPU said which device it got; `warning` when
 *                              it is not the GPU asked for, or another worker's
 *   start → progress* → done   per run; `failed` instead of `done` when it failed (`retry`: it
 *                              goes back to the queue for another attempt)
 *   stalled                    (queue) a run's worker stopped answering; the run is back in the queue
 *   interrupted                at most once: the signal stopped the sweep; `requeued` went back
 *
 * A run event's `worker` names the worker process that runs it; absent, the run runs in this
 * process. `ProgressPrinter` (progress.ts) draws them on a terminal or as lines, the notebook's
 * `RunProgressBoard` as a live cell output.
 */
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunProgress } from '../experiment/run.js';

export type SkipReason = 'failed-before' | 'running-elsewhere' | 'finished-elsewhere';

/** Where a run runs: its worker (absent: this process), its attempt (absent: the first). */
export interface RunPlace {
  id: string;
  worker?: string;
  attempt?: number;
}

/** The `index`-th (1-based) of `of` runs this process takes from its queue (in-process runs). */
export interface QueuePosition {
  index?: number;
  of?: number;
}

export type RunEvent =
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
      /** Where the runs go: 'on 2 worker processes', "on queue 'q' at redis://…"; absent: this process. */
      where?: string;
    }
  | { kind: 'skipped'; id: string; reason: SkipReason; detail: string }
  | { kind: 'enqueued'; added: number; existing: number; recovered: number }
  | {
      kind: 'worker';
      worker: string;
      state: 'started' | 'exited' | 'stopped';
      pid?: number;
      gpu?: number;
      detail?: string;
    }
  | {
      kind: 'adapter';
      worker: string;
      /** The GPU asked for (LAYERCUT_GPU). */
      gpu: number;
      /** The device it got, e.g. 'webgpu vulkan adapter 0 of 2 "NVIDIA H200"' (runtime/adapter.ts). */
      adapter: string;
      /** Set when the worker did not get a GPU of its own. */
      warning?: string;
    }
  | ({ kind: 'start'; plan: RunPlan } & RunPlace & QueuePosition)
  | ({ kind: 'progress'; progress: RunProgress } & RunPlace & QueuePosition)
  | ({
      kind: 'done';
      result: RunResult;
      /** Runs settled (done or finally failed) in this call so far, this one included, of `of` to run (0: unknown, a queue worker). */
      index: number;
      of: number;
    } & RunPlace)
  | ({
      kind: 'failed';
      /** The error's message (all its lines, no stack). */
      error: string;
      /** True when the run goes back to the queue for another attempt (it has not settled). */
      retry?: boolean;
      index: number;
      of: number;
    } & RunPlace)
  | { kind: 'stalled'; id: string }
  /**
   * The signal stopped the sweep; `requeued`: the runs stopped half-way and put back in the
   * queue; `waiting` (queue): runs left on the queue, whose workers go on (only the waiting stopped).
   */
  | { kind: 'interrupted'; requeued: string[]; waiting?: string[] };

export type RunEventKind = RunEvent['kind'];
