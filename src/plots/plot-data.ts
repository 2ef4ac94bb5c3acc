/**
 * The data the plots draw, taken from run rows and stored runs: one record per finished run
 * (settings + accuracy + size), or one record per point of a training curve.
 */
import { compareValues } from '../results/paper-view.js';
import type { RunRow, SettingKey } from '../results/rows.js';
import { runRow, varyingSettings } from '../results/rows.js';
import type { StoredRun } from '../results/store.js';

export type PlotMetric = 'accuracy' | 'macroF1';

/** One finished run, as a plot sees it. */
export interface RunPoint {
  id: string;
  model: string;
  method: string;
  task: string;
  layers: string;
  keptLayers: number;
  seed: number;
  /** The metric plotted (a fraction). */
  value: number;
  params: number;
  /** Every other setting that varies, joined: tells apart runs that share the fields above. */
  condition: string;
}

/** One point of a training curve. */
export interface CurvePoint {
  /** Which line it belongs to. */
  series: string;
  task: string;
  step: number;
  loss: number;
}

/** Settings the plots show on their own channels; the rest go into `condition`. */
const plottedKeys: readonly SettingKey[] = [
  'model',
  'method',
  'task',
  'layers',
  'keptLayers',
  'seed',
  'backend',
];

/** Finished runs with the metric and a known layer count, as plot records. */
export function runPoints(rows: readonly RunRow[], metric: PlotMetric = 'accuracy'): RunPoint[] {
  const done = rows.filter((row) => row.status === 'done' && row[metric] !== null && row.keptLayers !== null);
  const others = varyingSettings(done).filter((key) => !plottedKeys.includes(key));
  return done.map((row) => ({
    id: row.id,
    model: row.model,
    method: row.method,
    task: row.task,
    layers: row.layers,
    keptLayers: row.keptLayers as number,
    seed: row.seed,
    value: row[metric] as number,
    params: row.params ?? Number.NaN,
    condition: others.map((key) => `${key}=${String(row[key])}`).join(', '),
  }));
}

/** Distinct values of a field, in first-seen order. */
export function distinct<T, K extends keyof T>(records: readonly T[], key: K): T[K][] {
  return [...new Set(records.map((record) => record[key]))];
}

export interface CurveOptions {
  /** Colour lines by run (default) or by a setting, averaging the runs that share its value. */
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
 * panel), or with `colorBy` a setting's value. Runs come sorted by those settings (layers by
 * count), so the legend reads in order.
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
    return downsample(done[i].result!.curves.train, maxPoints).map(({ step, loss }) => ({
      series,
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
