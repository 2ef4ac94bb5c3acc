/**
 * What a sweep spread over several processes reports while it works — the local pool
 * (`runPool`), the Redis coordinator (`runOnQueue`) and a Redis worker (`runQueueWorker`) all
 * speak these events; `SweepPrinter` turns them into lines.
 *
 *   plan                       once: how many runs, finished before, to run, skipped
 *   skipped*                   runs left alone (failed before, or held by another process)
 *   enqueued                   (Redis) jobs added, already there, or whose results were waiting
 *   worker*                    a worker (process) started, stopped or died
 *   adapter*                   a worker bound to a GPU said which device it got; `warning` when
 *                              it is not the GPU asked for, or another worker's
 *   start → progress* → done   per run, on some worker; `failed` instead of `done` when it failed
 *   stalled                    (Redis) a run's worker stopped answering; the run is back in the queue
 *   interrupted                at most once: the sweep was stopped; these runs go back to the queue
 */
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunnerEvent } from '../runner/events.js';
import type { RunProgress } from '../train/run.js';

export type SweepEvent =
  | (Extract<RunnerEvent, { kind: 'plan' }> & {
      /** Where the runs go: 'in N processes' or the queue's address. */
      where: string;
    })
  | Extract<RunnerEvent, { kind: 'skipped' }>
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
  | { kind: 'start'; id: string; plan: RunPlan; worker: string; attempt: number }
  | { kind: 'progress'; id: string; worker: string; progress: RunProgress }
  | {
      kind: 'done';
      id: string;
      worker: string;
      result: RunResult;
      /** Runs settled (done or finally failed) so far, this one included, of `of`. */
      index: number;
      of: number;
    }
  | {
      kind: 'failed';
      id: string;
      worker: string;
      /** The error's first lines. */
      error: string;
      attempt: number;
      /** True when it goes back to the queue for another attempt. */
      retry: boolean;
      index: number;
      of: number;
    }
  | { kind: 'stalled'; id: string }
  | { kind: 'interrupted'; requeued: string[]; message: string };

export type SweepEventKind = SweepEvent['kind'];
