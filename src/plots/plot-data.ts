/**
 * The data the plots draw. Accuracy plots draw conditions, not runs: the finished runs grouped
 * by every setting that differs between them except the seed (src/results/summary.ts; followers
 * such as a learning rate per method merged), each with its mean, std, n, 95 % interval and
 * majority-class baseline computed here — the plot only draws them, so a band is exactly mean
 * ± std of the runs its line averages. Curves plots draw one record per point of a training curve.
 */
import { oneLine } from '../results/format.js';
import {
  compareValues,
  keptIndices,
  runRow,
  varyingSettings,
  type RunRow,
  type SettingKey,
  type SettingValue,
} from '../results/rows.js';
import type { StoredRun } from '../results/store.js';
import { conditionSummaries, type IntervalMethod } from '../results/summary.js';

export type PlotMetric = 'accuracy' | 'macroF1';

/** One condition (its runs over seeds), as a plot sees it. Fractions, not percent. */
export interface PlotPoint {
  model: string;
  method: string;
  task: string;
  /** The selection as the tables print it: "first 2", "indices 0,1,6,7", "keep 2 by influence (64 examples)". */
  layers: string;
  /** The selection as an axis label: 'all' with its count, "all (8)". */
  layersLabel: string;
  keptLayers: number;
  /** How the layers were chosen: 'bottom k' (the paper's cut), 'top k', 'by influence (…)', … (see selectionFamily). */
  selection: string;
  /** Every other setting that tells conditions apart, "lr=0.001 · weightDecay=0.01"; '' when none. */
  condition: string;
  /** The settings behind `condition`, by name (for colouring by one of them). */
  settings: Record<string, SettingValue>;
  mean: number;
  std: number | null;
  n: number;
  /** mean − std and mean + std (n ≥ 2), else null: the band. */
  low: number | null;
  high: number | null;
  /** 95 % confidence interval (t over seeds, or Wilson for one run), null when none. */
  ciLow: number | null;
  ciHigh: number | null;
  ciMethod: IntervalMethod | null;
  /** The majority-class baseline of the metric on the test samples; null when unknown. */
  majority: number | null;
  testExamples: number | null;
  params: number;
  diverged: number;
  /** "0 1 2". */
  seeds: string;
}

/** The keys plot points always carry, varying or not. */
const drawnKeys: readonly SettingKey[] = ['model', 'task', 'method', 'layers', 'keptLayers'];

/** Finished runs with the metric and a known layer count, as conditions to plot. */
export function plotPoints(rows: readonly RunRow[], metric: PlotMetric = 'accuracy'): PlotPoint[] {
  const withLayers = rows.filter((row) => row.keptLayers !== null);
  const { keys, conditions } = conditionSummaries(withLayers, { metric, alwaysKeys: drawnKeys });
  const otherKeys = keys.filter((key) => !drawnKeys.includes(key));
  return conditions.map((c) => {
    const settings = Object.fromEntries(otherKeys.map((key) => [key, c.key[key] ?? null]));
    const layers = String(c.key.layers);
    return {
      model: String(c.key.model),
      method: String(c.key.method),
      task: String(c.key.task),
      layers,
      layersLabel: layers === 'all' ? `all (${c.keptLayers})` : layers,
      keptLayers: c.keptLayers!,
      selection: selectionFamily({
        layers,
        layersFull: c.layersFull,
        chosenLayers: c.chosenLayers,
      }),
      condition: otherKeys.map((key) => `${key}=${oneLine(String(c.key[key]))}`).join(' · '),
      settings,
      mean: c.mean,
      std: c.std,
      n: c.n,
      low: c.std === null ? null : c.mean - c.std,
      high: c.std === null ? null : c.mean + c.std,
      ciLow: c.ci?.low ?? null,
      ciHigh: c.ci?.high ?? null,
      ciMethod: c.ci?.method ?? null,
      majority: c.majority,
      testExamples: c.testExamples,
      params: c.params ?? Number.NaN,
      diverged: c.diverged,
      seeds: c.seeds.join(' '),
    };
  });
}

/** The paper's cut: the bottom k layers. */
export const BOTTOM_K = 'bottom k';

/**
 * How a selection chose its layers, so that selections of one kind join up into a line over the
 * kept-layer count and different kinds never share a point: 'bottom k' ('first k', 'all'),
 * 'top k' (the last k layers), 'by influence (64 examples)', 'by angular distance (64 examples)',
 * and any other list of layers as itself ('indices 0,1,6,7').
 */
export function selectionFamily(row: Pick<RunRow, 'layers' | 'layersFull' | 'chosenLayers'>): string {
  if (row.layers === 'all' || /^first \d+$/.test(row.layers)) return BOTTOM_K;
  const computed = /^(?:keep \d+ (by influence)|drop \d+ (by angular distance)) (\(.*\))$/.exec(row.layers);
  if (computed) return `${computed[1] ?? computed[2]} ${computed[3]}`;
  const kept = keptIndices({ ...row, chosenLayers: null });
  if (
    kept &&
    row.layersFull !== null &&
    kept.every((index, i) => index === row.layersFull! - kept.length + i)
  )
    return 'top k';
  return row.layers;
}

/** Distinct values of a field, in first-seen order. */
export function distinct<T, K extends keyof T>(records: readonly T[], key: K): T[K][] {
  return [...new Set(records.map((record) => record[key]))];
}

/** One point of a training curve. */
export interface CurvePoint {
  /** Its colour: the run, or the value of the colouring setting. */
  series: string;
  /** Its line: the series and every other setting that varies but the seed (runs of one line are averaged). */
  line: string;
  task: string;
  step: number;
  loss: number;
}

export interface CurveOptions {
  /**
   * Colour lines by run (default) or by a setting: then the runs that share its value and every
   * other setting but the seed are one line, their mean.
   */
  colorBy?: 'run' | SettingKey;
  /** Longest curve drawn per run; longer ones are averaged over equal chunks of steps. Default 400. */
  maxPoints?: number;
}

/** What the curves plot draws: points, and the legend's title. */
export interface CurveData {
  points: CurvePoint[];
  /** e.g. "layers · seed", or the colour setting's name. */
  seriesTitle: string;
  /** Draw one panel per task (losses of different tasks are not comparable). */
  panelPerTask: boolean;
}

/**
 * Training-loss points of finished runs. A series is one run, labelled by the settings that
 * vary between the runs ("first 2 · seed 1"; the task is left out when each task gets its own
 * panel), or with `colorBy` a setting's value — runs that differ in anything else but the seed
 * keep lines of their own. Runs come sorted by those settings (layers by count), so the legend
 * reads in order.
 */
export function curvePoints(runs: readonly StoredRun[], options: CurveOptions = {}): CurveData {
  const colorBy = options.colorBy ?? 'run';
  const maxPoints = options.maxPoints ?? 400;
  const done = runs.filter((run) => run.result !== null && run.result.curves.train.length > 0);
  const rows = done.map(runRow);
  const panelPerTask = new Set(rows.map((row) => row.task)).size > 1 && colorBy !== 'task';
  const labelKeys = varyingSettings(rows).filter(
    (key) => key !== 'keptLayers' && key !== 'backend' && !(panelPerTask && key === 'task'),
  );
  const sortKeys: SettingKey[] = colorBy === 'run' ? labelKeys : [colorBy];
  const order = done
    .map((_, i) => i)
    .sort((i, j) => {
      for (const key of sortKeys) {
        const byKey =
          key === 'layers'
            ? compareValues(rows[i].keptLayers, rows[j].keptLayers) ||
              compareValues(rows[i].layers, rows[j].layers)
            : compareValues(rows[i][key], rows[j][key]);
        if (byKey !== 0) return byKey;
      }
      return 0;
    });
  const points = order.flatMap((i) => {
    const row = rows[i];
    const series =
      colorBy === 'run'
        ? labelKeys.map((key) => (key === 'seed' ? `seed ${row.seed}` : String(row[key]))).join(' · ') ||
          row.id
        : String(row[colorBy]);
    const line =
      colorBy === 'run'
        ? row.id
        : [
            series,
            ...labelKeys.filter((key) => key !== 'seed' && key !== colorBy).map((key) => String(row[key])),
          ].join(' · ');
    return downsample(done[i].result!.curves.train, maxPoints).map(({ step, loss }) => ({
      series,
      line,
      task: row.task,
      step,
      loss,
    }));
  });
  const seriesTitle = colorBy !== 'run' ? colorBy : labelKeys.length ? labelKeys.join(' · ') : 'Run';
  return { points, seriesTitle, panelPerTask };
}

/** At most `max` points: chunks of consecutive points replaced by their mean step and loss. */
export function downsample<P extends { step: number; loss: number }>(
  points: readonly P[],
  max: number,
): { step: number; loss: number }[] {
  if (points.length <= max) return points.map(({ step, loss }) => ({ step, loss }));
  const chunk = points.length / max;
  const out: { step: number; loss: number }[] = [];
  for (let i = 0; i < max; i++) {
    const part = points.slice(Math.floor(i * chunk), Math.floor((i + 1) * chunk));
    out.push({
      step: part.reduce((sum, p) => sum + p.step, 0) / part.length,
      loss: part.reduce((sum, p) => sum + p.loss, 0) / part.length,
    });
  }
  return out;
}
