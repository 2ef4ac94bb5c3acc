/**
 * The one interface behind `layercut run` and the notebook's `run()`: an executor takes the runs
 * of a sweep and a results store, runs every run the store does not hold finished, and reports
 * `RunEvent`s while it works. Three executors, one contract:
 *
 *   inProcess()         one run at a time in this process (the default; in-process.ts)
 *   workerPool({…})     N worker processes of this machine, one per GPU (src/queue/pool.ts)
 *   redisQueue({…})     `layercut worker`s anywhere, through a BullMQ queue (src/queue/coordinator.ts)
 *
 * chooseExecutor (choose.ts) picks one from the options both callers take. In every case the
 * calling process alone writes the results store: a run's result is stored once. Finished runs
 * are reused, failed ones skipped unless `retryFailed`; an abort signal stops the sweep, puts
 * the runs in progress back in the queue (never marked failed) and rejects with
 * `RunsInterruptedError`; the same call later resumes.
 */
import { estimateRun } from '../compile/estimate.js';
import type { CompiledRun } from '../compile/compile.js';
import { LayercutError } from '../errors.js';
import { runId } from '../plan/id.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import type { ResultsStore } from '../results/store.js';
import type { BackendName } from '../runtime/backend.js';
import type { RunEvent } from './events.js';

/** One run of a sweep, as executors take it. */
export interface SweepRun {
  id: string;
  plan: RunPlan;
  /** Estimated cost (any unit; the multi-process executors start the largest first); 0 when unknown. */
  cost: number;
}

export interface ExecuteOptions {
  /** The results store; only the calling process writes it. */
  store: ResultsStore;
  /** Run on this backend (overrides each plan's; not part of a run's id). */
  backend?: BackendName | undefined;
  /** Run runs that failed before again (default false: they are skipped). */
  retryFailed?: boolean | undefined;
  /** Aborting stops the sweep: runs in progress go back to the queue. */
  signal?: AbortSignal | undefined;
  onEvent?: ((event: RunEvent) => void) | undefined;
}

export interface RunsOutcome {
  /** Results of every finished run asked for (run now or before), in the order asked. */
  results: RunResult[];
  /** Runs that failed in this call (after their retries). */
  failed: { id: string; error: string }[];
  /** Ids of runs left alone: failed before (without retryFailed), or held by another process. */
  skipped: string[];
}

export interface Executor {
  /** Runs every run of `runs` not finished in the store (see the file comment). */
  execute(runs: readonly SweepRun[], options: ExecuteOptions): Promise<RunsOutcome>;
}

/** The sweep was stopped by its abort signal; what finished so far is in `partial` (and in the store). */
export class RunsInterruptedError extends LayercutError {
  override name = 'RunsInterruptedError';
  constructor(
    /** Runs stopped half-way and put back in the queue (none: stopped between runs). */
    readonly requeued: readonly string[],
    readonly partial: RunsOutcome,
    /** (queue) Runs left on the queue, their workers going on: only the waiting for them stopped. */
    readonly waiting: readonly string[] = [],
  ) {
    super(
      waiting.length > 0
        ? `stopped waiting: ${waiting.length} run${waiting.length === 1 ? ' is' : 's are'} still on the queue and the workers go on`
        : requeued.length === 0
          ? 'interrupted between runs'
          : requeued.length === 1
            ? `interrupted: run ${requeued[0]} was put back in the queue`
            : `interrupted: ${requeued.length} runs put back in the queue`,
      waiting.length > 0
        ? 'run the same command again to collect the results'
        : 'run the same plans again to resume; finished runs are not run again',
    );
  }

  /** The run put back in the queue (the first of them), or null when none was running. */
  get runId(): string | null {
    return this.requeued[0] ?? null;
  }
}

/**
 * The estimated cost of a compiled run: the FLOPs estimate of src/compile/estimate.ts
 * (6·params·train tokens + 2·params·eval tokens) where it is known, else parameters × tokens,
 * else parameters, else tokens, else 0. Running the largest first keeps one long run from
 * starting last and finishing alone.
 */
export function runCost(run: CompiledRun): number {
  let estimate;
  try {
    estimate = estimateRun(run);
  } catch {
    return 0; // an unknown task: no estimate
  }
  if (estimate.flops) return estimate.flops.total;
  const params = estimate.params?.after;
  const tokens = estimate.tokens ? estimate.tokens.train + estimate.tokens.eval : undefined;
  if (params !== undefined && tokens !== undefined) return params * tokens;
  return params ?? tokens ?? 0;
}

/** Compiled runs as sweep runs, each with its cost. */
export function sweepRuns(runs: readonly CompiledRun[]): SweepRun[] {
  return runs.map((run) => ({ id: run.id, plan: run.plan, cost: runCost(run) }));
}

/** Plans as sweep runs with no cost known (they keep their order). */
export function plainSweepRuns(plans: readonly RunPlan[]): SweepRun[] {
  return plans.map((plan) => ({ id: runId(plan), plan, cost: 0 }));
}

/** Largest cost first; equal costs keep their order. */
export function largestFirst<T extends { cost: number }>(runs: readonly T[]): T[] {
  return runs
    .map((run, index) => ({ run, index }))
    .sort((a, b) => b.run.cost - a.run.cost || a.index - b.index)
    .map(({ run }) => run);
}
