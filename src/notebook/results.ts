/**
 * What `run()` returns: the runs of one experiment or sweep as the results store holds them
 * (finished now or reused from an earlier run of the cell), with the views and plots a
 * notebook shows: `show(results.paperTable())`, `await plot(results.accuracyVsLayers())`.
 */
import type * as aq from 'arquero';

import { paperDisplay, paperView, type PaperViewOptions } from '../results/paper-view.js';
import type { DisplayTable } from '../results/format.js';
import { runRows, settingKeys, type RunRow, type SettingKey } from '../results/rows.js';
import { runsDisplay, runsTable, runsView } from '../results/runs-view.js';
import type { StoredRun } from '../results/store.js';
import { curvePoints, runPoints, type CurveOptions } from '../plots/plot-data.js';
import {
  curvesSpec,
  layersSpec,
  methodsSpec,
  paramsSpec,
  type PlotOptions,
  type PlotSpec,
} from '../plots/specs.js';

/** Settings that say what is compared: the columns of the paper table, the panels and colours of plots. */
const comparedKeys: readonly SettingKey[] = ['model', 'task', 'method'];
/** Never merged: what the views lay out themselves. */
const keptKeys: readonly SettingKey[] = [...comparedKeys, 'layers', 'keptLayers', 'seed', 'backend'];

export interface MergedRows {
  rows: RunRow[];
  /** "template, labelWords follow the task" — one line per compared setting that others follow. */
  notes: string[];
}

/**
 * Rows where each setting that differs only because a compared setting does (every task has
 * its own template; every method its own learning rate) is set to one placeholder. Views then
 * show one condition per depth rather than one per template or learning rate: a sweep over
 * tasks with their default templates is a table with a row per depth and a column per task.
 * `by` are the compared settings (default model, task, method; the paper table adds its column).
 */
export function mergeFollowers(
  rows: readonly RunRow[],
  by: readonly SettingKey[] = comparedKeys,
): MergedRows {
  const followers = new Map<SettingKey, SettingKey>();
  for (const key of settingKeys) {
    if (keptKeys.includes(key) || by.includes(key)) continue;
    if (new Set(rows.map((row) => row[key])).size < 2) continue;
    const leader = by.find((lead) => {
      const seen = new Map<unknown, unknown>();
      return rows.every((row) => {
        if (seen.has(row[lead]) && seen.get(row[lead]) !== row[key]) return false;
        seen.set(row[lead], row[key]);
        return true;
      });
    });
    if (leader) followers.set(key, leader);
  }
  if (followers.size === 0) return { rows: [...rows], notes: [] };
  const merged = rows.map((row) => {
    const copy: RunRow = { ...row };
    for (const [key, leader] of followers)
      (copy as unknown as Record<string, unknown>)[key] = `per ${leader}`;
    return copy;
  });
  const notes = [...new Set(followers.values())].map((leader) => {
    const keys = [...followers].filter(([, l]) => l === leader).map(([key]) => key);
    return `${keys.join(', ')} follow${keys.length === 1 ? 's' : ''} the ${leader} (see runsSummary())`;
  });
  return { rows: merged, notes };
}

/** How the runs of one `run()` call went. */
export interface RunCounts {
  /** Runs in the experiment or sweep. */
  total: number;
  /** Trained by this call. */
  ran: number;
  /** Already finished in the store: their results were reused. */
  reused: number;
  /** Failed (in this call, or earlier and not retried). */
  failed: number;
  /** Neither finished nor failed (stopped, or run elsewhere). */
  unfinished: number;
}

export class RunResults {
  constructor(
    /** The runs in plan order, as the store holds them. */
    readonly stored: readonly StoredRun[],
    readonly counts: RunCounts,
    /** The results store's file. */
    readonly storePath: string,
  ) {}

  /** Run ids in plan order. */
  get ids(): string[] {
    return this.stored.map((run) => run.id);
  }

  /** One flat row per run: settings, status, metrics, sizes. */
  rows(): RunRow[] {
    return runRows(this.stored);
  }

  /** Every run as an arquero table (all columns), to query further or `show`. */
  runs(): aq.ColumnTable {
    return runsTable(this.rows());
  }

  /** The runs view: id, status, the settings that matter, accuracy, size (a table for `show`). */
  runsSummary(): DisplayTable {
    return runsDisplay(runsView(this.rows()));
  }

  /**
   * The paper-style table: kept layers × tasks, mean ± std over seeds, best per column in bold.
   * `columns` spreads another setting over the columns (e.g. 'method'); other settings that
   * vary become row keys.
   */
  paperTable(options: PaperViewOptions = {}): DisplayTable {
    const { rows, notes } = mergeFollowers(this.rows(), [...comparedKeys, options.columns ?? 'task']);
    const table = paperDisplay(paperView(rows, options));
    return { ...table, notes: [...(table.notes ?? []), ...notes] };
  }

  /** Vega-Lite: accuracy vs kept layers, a line per task (mean ± 1 std band over seeds). */
  accuracyVsLayers(options: PlotOptions = {}): PlotSpec {
    return layersSpec(runPoints(mergeFollowers(this.rows()).rows, options.metric), options);
  }

  /** Vega-Lite: accuracy vs parameters of the cut model (log scale), a line per task. */
  accuracyVsParams(options: PlotOptions = {}): PlotSpec {
    return paramsSpec(runPoints(mergeFollowers(this.rows()).rows, options.metric), options);
  }

  /** Vega-Lite: accuracy per task, a bar per method. */
  methodComparison(options: PlotOptions = {}): PlotSpec {
    return methodsSpec(runPoints(mergeFollowers(this.rows()).rows, options.metric), options);
  }

  /** Vega-Lite: training loss vs optimizer step, a line per run (or per value of `colorBy`). */
  trainingCurves(options: PlotOptions & CurveOptions = {}): PlotSpec {
    return curvesSpec(curvePoints(this.stored, options), options);
  }

  /** Failed runs with their errors. */
  failures(): { id: string; error: string }[] {
    return this.stored
      .filter((run) => run.status === 'failed')
      .map((run) => ({ id: run.id, error: run.error ?? 'unknown error' }));
  }
}
