/**
 * `run(experimentOrSweep)`: compile, run every run not finished yet, and show it live.
 *
 *   compile (type-checked DSL value → run plans with content-hashed ids)
 *     → runPlans against a results store (finished runs are reused: re-running the cell
 *       trains nothing new) with a live output in the cell, redrawn at most every second
 *     → RunResults read back from the store (paper table, plots, runs)
 *
 * The runs run where `layercut run` runs them (src/runner/choose.ts): in the kernel's process
 * (default), on worker processes of this machine (`{ workers: 2 }`, `{ gpus: [0, 1] }`), or on
 * `layercut worker`s anywhere through a Redis queue (`{ queue: 'redis://host:6379' }`).
 *
 * The store is `layercut.db` in the working directory (the notebook's folder), or
 * `$LAYERCUT_DB`, or `options.store`. Interrupting the kernel stops the sweep cleanly: the run
 * in progress goes back to the queue and the next `run` picks it up.
 */
import { compile } from '../compile/compile.js';
import type { ModelCatalog } from '../compile/model-info.js';
import { layercutEnv } from '../env.js';
import type { RunPlan } from '../plan/types.js';
import { runId } from '../plan/id.js';
import { openStore, DEFAULT_DB_FILE, type ResultsStore, type StoredRun } from '../results/store.js';
import { chooseExecutor, type ExecutorChoice } from '../runner/choose.js';
import type { RunEvent } from '../runner/events.js';
import { runPlans } from '../runner/run-plans.js';
import type { BackendName } from '../runtime/backend.js';
import { kernelChannel, newDisplayId, type KernelChannel } from './kernel.js';
import { finishedLine, RunProgressBoard } from './progress.js';
import { RunResults, type RunCounts } from './results.js';

export interface NotebookRunOptions extends Omit<ExecutorChoice, 'onWorkerStderr'> {
  /** Results store: an open one, or a file (default `$LAYERCUT_DB`, else `layercut.db`). */
  store?: ResultsStore | string;
  /** Compute backend for every run (default: each plan's, else the best available). */
  backend?: BackendName;
  /** Run runs that failed before again (default false: they stay failed). */
  retryFailed?: boolean;
  /** Only the runs whose id starts with one of these. */
  only?: string[];
  /** Stops the sweep (the run in progress goes back to the queue). */
  signal?: AbortSignal;
  /** Least time between two redraws of the live output, in ms. Default 1000. */
  refreshMs?: number;
  /** Where the compiler looks up model configs (default: a catalog on the working directory). */
  catalog?: ModelCatalog;
  /** Called with every executor event (after the live output has seen it). */
  onEvent?: (event: RunEvent) => void;
}

/** Where `run()` draws its progress: a cell output updated in place, or lines on stdout. */
interface ProgressOutput {
  /** The board changed; `final` draws whatever the throttle says. */
  draw(board: RunProgressBoard, final: boolean): void;
}

/** One output in the cell, replaced in place via its display id, at most every `refreshMs`. */
function cellOutput(channel: KernelChannel, refreshMs: number): ProgressOutput {
  const displayId = newDisplayId();
  let shown = false;
  let lastDraw = -Infinity;
  return {
    draw(board, final) {
      const now = performance.now();
      if (!final && shown && now - lastDraw < refreshMs) return;
      lastDraw = now;
      const bundle = { 'text/html': board.html(), 'text/plain': board.text() };
      if (shown) channel.update(bundle, displayId);
      else channel.display(bundle, displayId);
      shown = true;
    },
  };
}

/** Outside a notebook: the summary once, then a line per finished run, then the summary again. */
function consoleOutput(): ProgressOutput {
  let printedRuns = 0;
  let printedPlan = false;
  return {
    draw(board, final) {
      if (!printedPlan && board.total > 0) {
        process.stdout.write(`${board.summary()}\n`);
        printedPlan = true;
      }
      const lines = board.finished.slice(printedRuns);
      printedRuns = board.finished.length;
      for (const run of lines) process.stdout.write(`${finishedLine(run)}\n`);
      if (final) process.stdout.write(`${board.summary()}\n`);
    },
  };
}

/** An abort signal that fires on `signal` or on the kernel's interrupt (SIGINT); `dispose` unhooks it. */
function interruptSignal(signal: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort(new Error('interrupted'));
  process.on('SIGINT', onInterrupt);
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onInterrupt);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** The runs of `plans` as the store holds them, in plan order. */
function storedRuns(store: ResultsStore, plans: readonly RunPlan[]): StoredRun[] {
  const ids = [...new Set(plans.map(runId))];
  const byId = new Map(store.list({ ids }).map((run) => [run.id, run]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

function countRuns(stored: readonly StoredRun[], board: RunProgressBoard): RunCounts {
  const failed = stored.filter((run) => run.status === 'failed').length;
  const done = stored.filter((run) => run.status === 'done').length;
  return {
    total: stored.length,
    ran: board.doneNow,
    reused: board.reused,
    failed,
    unfinished: stored.length - done - failed,
  };
}

/**
 * Runs an experiment, a sweep, or a list of them, showing progress live; returns the results
 * of all its runs (those run now and those finished before). A CompileError lists every
 * problem with the experiment before anything runs.
 */
export async function run(experimentOrSweep: unknown, options: NotebookRunOptions = {}): Promise<RunResults> {
  const executor = chooseExecutor(options);
  const plans = await compile(experimentOrSweep, options.catalog ? { catalog: options.catalog } : {});
  const storeOption = options.store ?? layercutEnv().db ?? DEFAULT_DB_FILE;
  const store = typeof storeOption === 'string' ? openStore(storeOption) : storeOption;
  const channel = kernelChannel();
  const output = channel ? cellOutput(channel, options.refreshMs ?? 1000) : consoleOutput();
  const board = new RunProgressBoard();
  const interrupt = interruptSignal(options.signal);
  try {
    await runPlans(plans, {
      store,
      executor,
      signal: interrupt.signal,
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.retryFailed !== undefined ? { retryFailed: options.retryFailed } : {}),
      ...(options.only ? { only: options.only } : {}),
      onEvent: (event) => {
        board.handle(event);
        output.draw(board, false);
        options.onEvent?.(event);
      },
    });
    const stored = storedRuns(store, plans);
    return new RunResults(stored, countRuns(stored, board), store.path);
  } finally {
    output.draw(board, true);
    interrupt.dispose();
    if (typeof storeOption === 'string') store.close();
  }
}
