/**
 * What `run()` returns: the runs of one experiment or sweep as the results store holds them
 * (finished now or reused from an earlier run of the cell), with the views and plots a
 * notebook shows: `show(results.paperTable())`, `await plot(results.accuracyVsLayers())`.
 */
import type * as aq from 'arquero';

import {
  paperDisplay,
  paperView,
  type PaperDisplayOptions,
  type PaperViewOptions,
} from '../results/paper-view.js';
import type { DisplayTable } from '../results/format.js';
import { runRows, type RunRow } from '../results/rows.js';
import { runsDisplay, runsTable, runsView } from '../results/runs-view.js';
import type { StoredRun } from '../results/store.js';
import { conditionSummaries, summaryDisplay } from '../results/summary.js';
import { compareDisplay, compareView, type CompareOptions } from '../results/compare-view.js';
import { curvePoints, plotPoints, type CurveOptions } from '../plots/plot-data.js';
import {
  curvesSpec,
  layersSpec,
  methodsSpec,
  paramsSpec,
  type AccuracyPlotOptions,
  type PlotOptions,
  type PlotSpec,
} from '../plots/specs.js';

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
   * The paper-style table: kept layers × tasks, mean ± std over seeds, best per column in bold,
   * the majority class below. `columns` spreads another setting over the columns (e.g.
   * 'method'); other settings that vary become row keys (not those that follow a compared one,
   * such as a learning rate per method); `ci` adds each cell's 95 % interval.
   */
  paperTable(options: PaperViewOptions & PaperDisplayOptions = {}): DisplayTable {
    return paperDisplay(paperView(this.rows(), options), options);
  }

  /** One row per condition with mean, std, n, 95 % interval and majority baseline (percent). */
  summary(options: { metric?: PaperViewOptions['metric'] } = {}): DisplayTable {
    return summaryDisplay(conditionSummaries(this.rows(), options));
  }

  /** The paired comparison of two conditions, e.g. `{ setting: 'method', a: 'lm', b: 'cls' }`. */
  comparison(options: CompareOptions): DisplayTable {
    return compareDisplay(compareView(this.rows(), options));
  }

  /** Vega-Lite: accuracy vs kept layers, a line per task (or `colorBy`), ± 1 std band over seeds. */
  accuracyVsLayers(options: AccuracyPlotOptions = {}): PlotSpec {
    return layersSpec(plotPoints(this.rows(), options.metric), options);
  }

  /** Vega-Lite: accuracy vs parameters of the cut model (log scale), a line per task. */
  accuracyVsParams(options: AccuracyPlotOptions = {}): PlotSpec {
    return paramsSpec(plotPoints(this.rows(), options.metric), options);
  }

  /** Vega-Lite: accuracy per layer selection, a bar per method, a panel per task. */
  methodComparison(options: PlotOptions = {}): PlotSpec {
    return methodsSpec(plotPoints(this.rows(), options.metric), options);
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
