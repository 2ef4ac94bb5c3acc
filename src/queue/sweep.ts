/**
 * What the multi-process schedulers share: the runs of a sweep with their estimated cost,
 * largest first; the triage of a sweep against the results store (reuse finished runs, skip
 * failed ones unless asked, run the rest); the outcome; and the error of an interrupted sweep.
 *
 * Cost: the FLOPs estimate of src/compile/estimate.ts (6·params·train tokens + 2·params·eval
 * tokens) where it is known, else parameters × tokens, else parameters, else tokens, else 0.
 * Running the largest first keeps one long run from starting last and finishing alone.
 */
import { estimateRun } from '../compile/estimate.js';
import type { CompiledRun } from '../compile/compile.js';
import { LayercutError } from '../errors.js';
import { runId } from '../plan/id.js';
import type { RunPlan, RunResult } from '../plan/types.js';
import type { ResultsStore } from '../results/store.js';
import type { BackendName } from '../runtime/backend.js';
import type { SkipReason } from '../runner/events.js';
import { decide } from '../runner/run-plans.js';

/** One run of a sweep, as the schedulers take it. */
export interface SweepRun {
  id: string;
  plan: RunPlan;
  /** Estimated cost (any unit, larger runs first); 0 when unknown. */
  cost: number;
}

/** The estimated cost of a compiled run (see the file comment). */
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

export interface SweepOutcome {
  /** Results of every finished run asked for (run now or before), in the order asked. */
  results: RunResult[];
  /** Runs that failed in this call (after their retries). */
  failed: { id: string; error: string }[];
  /** Runs left alone: failed before (without retryFailed), or held by another process. */
  skipped: string[];
}

/** The sweep was stopped (Ctrl-C); runs in progress went back to the queue. */
export class SweepInterruptedError extends LayercutError {
  override name = 'SweepInterruptedError';
  constructor(
    /** Runs stopped half-way and put back in the queue. */
    readonly requeued: string[],
    readonly partial: SweepOutcome,
    message = requeued.length
      ? `interrupted: ${requeued.length} run${requeued.length === 1 ? '' : 's'} put back in the queue`
      : 'interrupted between runs',
  ) {
    super(message, 'run the same command again to resume; finished runs are not run again');
  }
}

export interface Triage {
  /** Runs to run, largest first, with the backend override applied. */
  toRun: SweepRun[];
  /** Results of runs finished before. */
  finished: Map<string, RunResult>;
  skips: { id: string; reason: SkipReason; detail: string }[];
}

/**
 * Adds the runs to the store (as queued, when new) and sorts them: finished ones are reused,
 * failed ones skipped unless `retryFailed`, those held by a live process skipped, the rest run.
 */
export function triage(
  store: ResultsStore,
  runs: readonly SweepRun[],
  options: { retryFailed?: boolean; backend?: BackendName | undefined } = {},
): Triage {
  const unique = new Map<string, SweepRun>();
  for (const run of runs) if (!unique.has(run.id)) unique.set(run.id, run);
  store.enqueue([...unique.values()].map((run) => run.plan));
  const result: Triage = { toRun: [], finished: new Map(), skips: [] };
  for (const run of unique.values()) {
    const decision = decide(store.get(run.id), options.retryFailed ?? false);
    if (decision.action === 'reuse') result.finished.set(run.id, decision.result);
    else if (decision.action === 'skip')
      result.skips.push({ id: run.id, reason: decision.reason, detail: decision.detail });
    else
      result.toRun.push(options.backend ? { ...run, plan: { ...run.plan, backend: options.backend } } : run);
  }
  result.toRun = largestFirst(result.toRun);
  return result;
}

/** The first lines of an error text (the store keeps it whole). */
export function shortError(text: string, lines = 3): string {
  return text.split('\n').slice(0, lines).join('\n');
}
