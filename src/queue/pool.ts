/**
 * The local pool: a sweep run by N worker processes on this machine, each bound to one GPU (or
 * to the CPU), with this process as the coordinator.
 *
 *   triage against the store → queue, largest run first
 *   each worker slot: take the next run → markRunning → its RunProcess runs it → finish | fail
 *   a run that fails (or whose process dies: crash, out of memory) is marked failed with its
 *   error and goes back to the end of the queue until it has had `retries` more attempts; a dead
 *   process is replaced by a fresh one; the sweep goes on
 *   abort signal (Ctrl-C): workers are told to stop, the runs they were on go back to the
 *   queue (not failed), `execute` rejects with RunsInterruptedError; a later call resumes
 *
 * Only this process writes the results store, so every run is stored exactly once
 * (`finish` refuses a second result for a run already done). One of the three executors
 * (src/runner/executor.ts):
 *
 *   await runSweep(sweepRuns(compiled.runs), { store: 'layercut.db', executor: workerPool({ workers: 2, gpus: [0, 1] }) });
 */
import { LayercutError } from '../errors.js';
import type { RunEvent } from '../runner/events.js';
import { RunsInterruptedError } from '../runner/executor.js';
import type { ExecuteOptions, Executor, RunsOutcome, SweepRun } from '../runner/executor.js';
import { SweepLedger } from '../runner/ledger.js';
import { bindingWarning, type GpuBinding } from '../runtime/adapter.js';
import { RunProcess } from './run-process.js';

export interface PoolOptions {
  /** Worker processes (default: one per GPU in `gpus`, else 1). */
  workers?: number;
  /** GPU indices; worker i is bound to gpus[i mod gpus.length]. Absent: workers are not bound to a GPU. */
  gpus?: readonly number[];
  /** Attempts after a run's first failure, in this call (default 1). */
  retries?: number;
  /** Each line a worker process writes to stderr (default: kept for crash reports only). */
  onWorkerStderr?: (worker: string, line: string) => void;
  /** Module the worker processes run (see RunProcessOptions.entry). */
  entry?: string;
  /** Extra environment for the worker processes. */
  env?: NodeJS.ProcessEnv;
  /** How long a stopping worker may take to leave before it is killed, ms (default 5000; see RunProcessOptions). */
  stopTimeoutMs?: number;
}

/** Checks a count option: a whole number ≥ `least`. */
function checkCount(value: number, name: string, least: number): number {
  if (!Number.isInteger(value) || value < least) {
    throw new LayercutError(`${name} must be a whole number ≥ ${least}, got ${value}`);
  }
  return value;
}

/** An executor that runs the runs on a pool of worker processes; see the file comment. Counts are checked here. */
export function workerPool(pool: PoolOptions = {}): Executor {
  const gpus = pool.gpus ?? [];
  for (const gpu of gpus) checkCount(gpu, 'a GPU index', 0);
  const workers = checkCount(pool.workers ?? (gpus.length || 1), 'the number of workers', 1);
  const retries = checkCount(pool.retries ?? 1, 'retries', 0);
  return { execute: (runs, options) => runPool(runs, { ...pool, gpus, workers, retries }, options) };
}

interface Slot {
  name: string;
  gpu: number | undefined;
  process: RunProcess | undefined;
}

async function runPool(
  runs: readonly SweepRun[],
  pool: PoolOptions & { gpus: readonly number[]; workers: number; retries: number },
  options: ExecuteOptions,
): Promise<RunsOutcome> {
  const emit = (event: RunEvent): void => options.onEvent?.(event);
  const { gpus, workers, retries } = pool;
  const ledger = new SweepLedger(options.store, runs, options, emit);
  const slots: Slot[] = Array.from({ length: Math.min(workers, ledger.toRun.length) }, (_, i) => ({
    name: `w${i}`,
    gpu: gpus.length ? gpus[i % gpus.length] : undefined,
    process: undefined,
  }));
  const gpuText = gpus.length ? ` (GPU${gpus.length > 1 ? 's' : ''} ${gpus.join(', ')})` : '';
  ledger.announce(`on ${slots.length} worker process${slots.length === 1 ? '' : 'es'}${gpuText}`);

  const queue = [...ledger.toRun];
  const attempts = new Map<string, number>();
  const requeued: string[] = [];
  let stopping = options.signal?.aborted ?? false;
  let fatal: unknown;

  const stopAll = (): void => {
    stopping = true;
    for (const slot of slots) void slot.process?.stop();
  };
  options.signal?.addEventListener('abort', stopAll, { once: true });

  // The device each worker said it got: two workers on one device is worth a warning.
  const bindings = new Map<string, GpuBinding>();
  const onBinding = (worker: string, binding: GpuBinding): void => {
    bindings.delete(worker); // a replaced process reports again
    const warning = bindingWarning(binding, bindings);
    bindings.set(worker, binding);
    const adapter = `${binding.backend} ${binding.adapter}`;
    emit({ kind: 'adapter', worker, gpu: binding.gpu, adapter, ...(warning ? { warning } : {}) });
  };

  const startProcess = async (slot: Slot): Promise<RunProcess> => {
    const child = await RunProcess.start({
      name: slot.name,
      onBinding: (binding) => onBinding(slot.name, binding),
      ...(slot.gpu !== undefined ? { gpu: slot.gpu } : {}),
      ...(pool.entry ? { entry: pool.entry } : {}),
      ...(pool.env ? { env: pool.env } : {}),
      ...(pool.stopTimeoutMs !== undefined ? { stopTimeoutMs: pool.stopTimeoutMs } : {}),
      ...(pool.onWorkerStderr ? { onStderr: (line: string) => pool.onWorkerStderr!(slot.name, line) } : {}),
    });
    emit({
      kind: 'worker',
      worker: slot.name,
      state: 'started',
      pid: child.pid,
      ...(slot.gpu !== undefined ? { gpu: slot.gpu } : {}),
    });
    return child;
  };

  const work = async (slot: Slot): Promise<void> => {
    while (!stopping) {
      const next = queue.shift();
      if (!next) break;
      const { id, plan } = next;
      if (!ledger.claim(id)) continue; // another process took it, or finished it, since the triage
      if (!slot.process?.alive) {
        try {
          slot.process = await startProcess(slot);
        } catch (error) {
          if (stopping) {
            requeued.push(id); // stopped while it started: not a failure
            break;
          }
          // A worker that cannot even start will not start next time either: stop the sweep.
          fatal ??= error;
          stopAll();
          break;
        }
        if (stopping) {
          requeued.push(id); // the store puts it back in the queue when it is closed
          break;
        }
      }
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      emit({ kind: 'start', id, plan, worker: slot.name, attempt });
      const outcome = await slot.process.run(id, plan, (progress) =>
        emit({ kind: 'progress', id, worker: slot.name, progress }),
      );
      switch (outcome.kind) {
        case 'done':
          ledger.done(id, slot.name, outcome.result);
          break;
        case 'stopped':
          requeued.push(id);
          break;
        case 'failed':
        case 'crashed': {
          if (outcome.kind === 'crashed') {
            slot.process = undefined;
            emit({
              kind: 'worker',
              worker: slot.name,
              state: 'exited',
              detail: 'replaced by a new process',
            });
          }
          const detail = outcome.kind === 'failed' ? outcome.detail : outcome.message;
          const retry = attempt <= retries && !stopping;
          ledger.failed({ id, worker: slot.name, message: outcome.message, detail, attempt, retry });
          if (retry) queue.push(next);
          break;
        }
      }
    }
  };

  try {
    await Promise.all(slots.map(work));
  } finally {
    options.signal?.removeEventListener('abort', stopAll);
    await Promise.all(slots.map((slot) => slot.process?.stop()));
  }
  if (fatal !== undefined) throw fatal;

  if (stopping && (requeued.length > 0 || queue.length > 0)) {
    emit({ kind: 'interrupted', requeued });
    throw new RunsInterruptedError(requeued, ledger.outcome());
  }
  return ledger.outcome();
}
