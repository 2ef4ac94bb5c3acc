/**
 * Running a sweep against a results store, whatever the executor: `runSweep(runs, options)`
 * keeps one run per id, applies `only`, opens the store when given a path, and hands the runs
 * to the executor (default: in this process). `runPlans(plans, options)` is the same for bare
 * plans (no cost estimate: they keep their order). `layercut run` and the notebook's `run()`
 * are built on it; `RunEvent`s drive their progress displays.
 *
 *   const { results, failed, skipped } = await runPlans(plans, { store: 'layercut.db', onEvent });
 *   await runSweep(sweepRuns(compiled.runs), { store, executor: workerPool({ workers: 2 }) });
 */
import { LayercutError } from '../errors.js';
import type { RunPlan } from '../plan/types.js';
import type { ResultsStore } from '../results/store.js';
import {
  plainSweepRuns,
  type ExecuteOptions,
  type Executor,
  type RunsOutcome,
  type SweepRun,
} from './executor.js';
import { inProcess } from './in-process.js';
import { sweepStore } from './ledger.js';

export interface RunSweepOptions extends Omit<ExecuteOptions, 'store'> {
  /** An open results store, or the path of one (default `layercut.db`); a path is opened and closed here. */
  store?: ResultsStore | string;
  /** Only the runs whose id is, or starts with, one of these. */
  only?: readonly string[] | undefined;
  /** Where the runs run (default: in this process, one at a time). */
  executor?: Executor | undefined;
}

/** Keeps the runs whose id matches an `only` entry; an entry matching nothing is an error. */
function selectRuns(runs: readonly SweepRun[], only: readonly string[] | undefined): SweepRun[] {
  if (only === undefined || only.length === 0) return [...runs];
  const unmatched = only.filter((prefix) => !runs.some((run) => run.id.startsWith(prefix)));
  if (unmatched.length > 0) {
    throw new LayercutError(
      `no run id starts with ${unmatched.map((u) => `'${u}'`).join(', ')}`,
      `the ids here: ${runs
        .slice(0, 8)
        .map((run) => run.id)
        .join(', ')}${runs.length > 8 ? ', …' : ''} (layercut plan lists them)`,
    );
  }
  return runs.filter((run) => only.some((prefix) => run.id.startsWith(prefix)));
}

/**
 * Runs every run not already finished in the store on the executor, and returns the results of
 * all finished ones (reused and new), the runs that failed now, and the runs skipped.
 */
export async function runSweep(
  runs: readonly SweepRun[],
  options: RunSweepOptions = {},
): Promise<RunsOutcome> {
  const unique = new Map<string, SweepRun>();
  for (const run of runs) if (!unique.has(run.id)) unique.set(run.id, run);
  const selected = selectRuns([...unique.values()], options.only);
  const { store: storeOption, only: _only, executor = inProcess(), ...execute } = options;
  const { store, close } = sweepStore(storeOption);
  try {
    return await executor.execute(selected, { ...execute, store });
  } finally {
    close();
  }
}

/** `runSweep` for plans: their ids are computed here, and they run in the order given. */
export function runPlans(plans: readonly RunPlan[], options: RunSweepOptions = {}): Promise<RunsOutcome> {
  return runSweep(plainSweepRuns(plans), options);
}
