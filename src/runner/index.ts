/**
 * Running experiments: an `Executor` (in this process, a pool of worker processes, a Redis
 * queue) runs every run not yet finished in a results store and resumes after a crash or
 * Ctrl-C. `layercut run` and the notebook kernel are built on it; `RunEvent`s drive their
 * progress displays.
 *
 *   const { results, failed, skipped } = await runPlans(plans, { store: 'layercut.db', onEvent });
 *   await runPlans(plans, { store, executor: chooseExecutor({ workers: 2 }) });
 */
export { runPlans, runSweep } from './run-plans.js';
export type { RunSweepOptions } from './run-plans.js';
export { largestFirst, plainSweepRuns, runCost, RunsInterruptedError, sweepRuns } from './executor.js';
export type { ExecuteOptions, Executor, RunsOutcome, SweepRun } from './executor.js';
export { chooseExecutor } from './choose.js';
export type { ExecutorChoice } from './choose.js';
export { inProcess } from './in-process.js';
export type { QueuePosition, RunEvent, RunEventKind, RunPlace, SkipReason } from './events.js';
export { ProgressPrinter } from './progress.js';
export type { ProgressPrinterOptions } from './progress.js';
