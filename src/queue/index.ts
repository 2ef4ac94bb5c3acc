/**
 * Sweeps beyond one process. The local pool (`runPool`: N worker processes on this machine, one
 * per GPU) and the Redis queue (`runOnQueue` coordinates, `runQueueWorker` works, anywhere) run
 * compiled runs largest first; the coordinator alone writes the results store. `SweepPrinter`
 * shows their `SweepEvent`s; `RunProcess` is the child process that executes runs for both.
 *
 *   await runPool(sweepRuns(compiled.runs), { store: 'layercut.db', workers: 2, gpus: [0, 1] });
 */
export { runPool } from './pool.js';
export type { PoolOptions } from './pool.js';
export { runOnQueue } from './coordinator.js';
export type { QueueSweepOptions } from './coordinator.js';
export { runQueueWorker } from './worker.js';
export type { QueueWorkerOptions } from './worker.js';
export { largestFirst, plainSweepRuns, runCost, sweepRuns, SweepInterruptedError, triage } from './sweep.js';
export type { SweepOutcome, SweepRun, Triage } from './sweep.js';
export type { SweepEvent, SweepEventKind } from './events.js';
export { SweepPrinter, progressText } from './printer.js';
export type { SweepPrinterOptions } from './printer.js';
export { GPU_ENV, RunProcess } from './run-process.js';
export type { RunOutcome, RunProcessOptions } from './run-process.js';
export { serveRuns } from './serve-runs.js';
export { isRunProcess, RUN_PROCESS_ENV } from './messages.js';
export { checkQueueName, DEFAULT_QUEUE_NAME, jobIdOf, parseRedisUrl, runIdOfJob } from './address.js';
export type { RedisAddress, RunJobData, WorkerInfo } from './address.js';
export { formatQueueStatus, queueStatus } from './queue-status.js';
export type { QueueStatus } from './queue-status.js';
export { formatStoreStatus, storeStatus } from './store-status.js';
export type { StoreStatus } from './store-status.js';
