/**
 * What a run process (a child that executes runs, see serve-runs.ts) and the process that
 * started it (run-process.ts) say to each other over Node's IPC channel. Plain JSON.
 *
 *   parent → child   run {id, plan}        execute this run (one at a time)
 *                    stop                  abort the current run at its next training step, then exit
 *   child → parent   ready {pid}           loaded, waiting for runs
 *                    progress {id, …}      the run's progress (throttled)
 *                    done {id, result}     the run finished
 *                    failed {id, …}        the run threw
 *                    stopped {id | null}   stopped by `stop`; `id` is the run it abandoned (null: was idle)
 */
import { layercutEnv, variables } from '../env.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import type { RunProgress } from '../experiment/run.js';

/** Set in a run process's environment; the entry module checks it (see `isRunProcess`). */
export const RUN_PROCESS_ENV = variables.runProcess.name;

export type ToRunProcess = { type: 'run'; id: string; plan: RunPlan } | { type: 'stop' };

export type FromRunProcess =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; id: string; progress: RunProgress }
  | {
      type: 'done';
      id: string;
      result: RunResult;
      /** What computed it: the backend with its adapter or threads (describeBackend()). */
      backendDetail: string;
    }
  | {
      type: 'failed';
      id: string;
      /** The error's message (what a user reads). */
      message: string;
      /** The message with the stack (what the results store keeps). */
      detail: string;
    }
  | { type: 'stopped'; id: string | null };

/** True in a process started by `RunProcess` (its entry should call `serveRuns()`). */
export function isRunProcess(env: NodeJS.ProcessEnv = process.env): boolean {
  return layercutEnv(env).runProcess;
}

/** Narrows an IPC message from a run process (anything else is ignored by the parent). */
export function isFromRunProcess(value: unknown): value is FromRunProcess {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return (
    type === 'ready' || type === 'progress' || type === 'done' || type === 'failed' || type === 'stopped'
  );
}

/** Narrows an IPC message to a run process. */
export function isToRunProcess(value: unknown): value is ToRunProcess {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as { type?: unknown; id?: unknown; plan?: unknown };
  if (message.type === 'stop') return true;
  return message.type === 'run' && typeof message.id === 'string' && typeof message.plan === 'object';
}
