/**
 * Running experiments: `runPlans(plans, options)` runs every plan not yet finished in a results
 * store, one at a time in this process, and resumes after a crash or Ctrl-C. `layercut run`
 * and the notebook kernel are built on it; `RunnerEvent`s drive their progress displays.
 *
 *   const { results, failed, skipped } = await runPlans(plans, { store: 'layercut.db', onEvent });
 */
export { runPlans, RunsInterruptedError } from './run-plans.js';
export type { RunPlansOptions, RunPlansOutcome } from './run-plans.js';
export type { QueuePosition, RunnerEvent, RunnerEventKind, SkipReason } from './events.js';
export { RunnerModelCatalog } from './catalog.js';
export type { RunnerCatalogOptions } from './catalog.js';
export { ProgressPrinter } from './progress.js';
export type { ProgressPrinterOptions } from './progress.js';
