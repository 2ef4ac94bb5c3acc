/**
 * Vega-Lite specs of the four standard plots:
 *
 *   layers   accuracy vs kept layers: a line per task (mean over seeds) on a band of ± 1 std,
 *            one panel per model (columns) and method (rows) when there are several
 *   params   accuracy vs parameters of the cut model, log x axis, a line per task (and model)
 *   curves   training loss vs optimizer step, a line per run or per value of a setting
 *   methods  grouped bars: mean accuracy per task, one bar per method, ± 1 std error bars
 *
 * Each builder takes records from plot-data.ts and returns a plain JSON spec; render.ts
 * turns a spec into SVG or PNG.
 */
import { LayercutError } from '../errors.js';
import { distinct, type CurveData, type PlotMetric, type RunPoint } from './plot-data.js';

/**
 * A Vega-Lite spec as plain JSON. Deliberately not vega-lite's own `TopLevelSpec` type: that
 * type is reachable only through package `exports`, which tslab's TypeScript cannot resolve,
 * so it would break notebook cells that use these builders. render.ts checks nothing either:
 * vega-lite validates the spec when it compiles it.
 */
export type PlotSpec = { readonly [key: string]: unknown };

export type PlotKind = 'layers' | 'params' | 'curves' | 'methods';
export const plotKinds: readonly PlotKind[] = ['layers', 'params', 'curves', 'methods'];

export interface PlotOptions {
  title?: string;
  /** Size of one panel, in pixels. */
  width?: number;
  height?: number;
  metric?: PlotMetric;
}

/** Vega-Lite `config` shared by every plot: readable type, fonts resvg finds on Linux. */
export const plotConfig = {
  font: 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif',
  background: 'white',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e5e5e5' },
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    labelLimit: 320,
    symbolStrokeWidth: 2,
  },
  header: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal', labelFontWeight: 'bold' },
  title: { fontSize: 14, anchor: 'start', offset: 12 },
  line: { strokeWidth: 2 },
} as const;

const metricTitle = (metric: PlotMetric): string =>
  metric === 'accuracy' ? 'Test accuracy' : 'Test macro-F1';

/** A percent axis for fractions, not forced to start at zero. */
function metricY(metric: PlotMetric, aggregate?: 'mean') {
  return {
    field: 'value',
    type: 'quantitative',
    ...(aggregate ? { aggregate } : {}),
    title: metricTitle(metric),
    axis: { format: '.1~%' },
    scale: { zero: false },
  } as const;
}

function titleOf(options: PlotOptions, fallback: string): { title: { text: string } } {
  return { title: { text: options.title ?? fallback } };
}

/** Wraps a layer spec in a facet when `row`/`column` fields have several values. */
function faceted(
  values: readonly object[],
  layer: object[],
  options: PlotOptions,
  title: string,
  facets: { row?: { field: string; title: string }; column?: { field: string; title: string } },
  extra: object = {},
): PlotSpec {
  const size = { width: options.width ?? 320, height: options.height ?? 220 };
  const facet = Object.fromEntries(Object.entries(facets).filter(([, f]) => f !== undefined));
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...titleOf(options, title),
    config: plotConfig,
    data: { values },
  };
  const spec = Object.keys(facet).length
    ? { ...base, facet, spec: { ...size, layer }, ...extra }
    : { ...base, ...size, layer, ...extra };
  return spec;
}

/** The model (column) and method (row) facets, for those that take more than one value. */
function modelMethodFacets(points: readonly RunPoint[]) {
  return {
    column: distinct(points, 'model').length > 1 ? { field: 'model', title: 'Model' } : undefined,
    row: distinct(points, 'method').length > 1 ? { field: 'method', title: 'Method' } : undefined,
  };
}

/** Runs that differ in a setting not drawn otherwise (lr, template, …) get their own dashed line. */
function conditionDash(points: readonly RunPoint[]) {
  return distinct(points, 'condition').length > 1
    ? { strokeDash: { field: 'condition', type: 'nominal', title: 'Setting', legend: { labelLimit: 480 } } }
    : {};
}

/** 1, 2, 3, 5 × 10^k between low and high: readable ticks for a log axis. */
export function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(low)); power <= Math.ceil(Math.log10(high)); power++) {
    for (const m of [1, 2, 3, 5]) {
      const tick = m * 10 ** power;
      if (tick >= low && tick <= high) ticks.push(tick);
    }
  }
  return ticks;
}

function needPoints(points: readonly unknown[], what: string): void {
  if (points.length === 0)
    throw new LayercutError(
      `nothing to plot: no finished runs ${what}`,
      'check --db and --filter; see layercut results',
    );
}

/** Accuracy vs number of kept layers: a line per task, mean over seeds, band = mean ± 1 std. */
export function layersSpec(points: readonly RunPoint[], options: PlotOptions = {}): PlotSpec {
  needPoints(points, 'to plot');
  const metric = options.metric ?? 'accuracy';
  // Layer counts are usually doublings (1, 2, 4, … 48): a log₂ axis spaces them evenly.
  const counts = points.map((p) => p.keptLayers).filter((k) => k > 0);
  const logScale = counts.length > 0 && Math.max(...counts) / Math.min(...counts) >= 8;
  const x = {
    field: 'keptLayers',
    type: 'quantitative',
    title: logScale ? 'Kept layers (bottom k, log scale)' : 'Kept layers (bottom k)',
    // Ticks at the counts that were run, so the full depth (48, 24) is labelled too.
    axis: { values: [...new Set(counts)].sort((a, b) => a - b), format: 'd', labelOverlap: 'greedy' },
    scale: logScale
      ? { type: 'log', base: 2, nice: false, padding: 10 }
      : { zero: false, nice: false, padding: 10 },
  };
  // Both layers carry the same legend, drawn as lines (the band layer alone would give pale squares).
  const color = {
    field: 'task',
    type: 'nominal',
    title: 'Task',
    legend: { symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 },
  };
  const dash = conditionDash(points);
  const layer = [
    {
      mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 },
      // an area has no strokeDash: `detail` gives each setting its own band instead of one over all
      encoding: {
        x,
        y: { ...metricY(metric), title: metricTitle(metric) },
        color,
        ...(dash.strokeDash ? { detail: { field: 'condition', type: 'nominal' } } : {}),
      },
    },
    {
      mark: { type: 'line', point: true },
      encoding: {
        x,
        y: metricY(metric, 'mean'),
        color,
        ...dash,
        tooltip: [
          { field: 'task', type: 'nominal', title: 'Task' },
          { field: 'keptLayers', type: 'quantitative', title: 'Kept layers' },
          { field: 'value', aggregate: 'mean', type: 'quantitative', title: 'Mean', format: '.1%' },
          { field: 'value', aggregate: 'count', type: 'quantitative', title: 'Seeds' },
        ],
      },
    },
  ];
  const facets = modelMethodFacets(points);
  // Models differ in depth: each model's panels get their own x range.
  const extra = facets.column ? { resolve: { scale: { x: 'independent' } } } : {};
  return faceted(
    points,
    layer,
    options,
    `${metricTitle(metric)} vs kept layers (mean ± 1 std over seeds)`,
    facets,
    extra,
  );
}

/** Accuracy vs parameters of the cut model (log scale): a line per task and model, ± 1 std bars. */
export function paramsSpec(points: readonly RunPoint[], options: PlotOptions = {}): PlotSpec {
  const withParams = points.filter((p) => Number.isFinite(p.params) && p.params > 0);
  needPoints(withParams, 'with a parameter count');
  const metric = options.metric ?? 'accuracy';
  const sizes = withParams.map((p) => p.params);
  const [low, high] = [Math.min(...sizes) / 1.15, Math.max(...sizes) * 1.15];
  const x = {
    field: 'params',
    type: 'quantitative',
    title: 'Parameters (kept layers + embeddings)',
    scale: { type: 'log', domain: [low, high] },
    // Ticks at 1, 2, 3, 5 × 10^k; SI prefixes, but billions as B: 200M, 1.5B.
    axis: {
      values: logTicks(low, high),
      labelExpr: "replace(format(datum.value, '.3~s'), 'G', 'B')",
      labelOverlap: 'greedy',
    },
  };
  const severalModels = distinct(withParams, 'model').length > 1;
  const encoding = {
    x,
    color: { field: 'task', type: 'nominal', title: 'Task' },
    ...conditionDash(withParams),
    detail: { field: 'model', type: 'nominal' },
  };
  const layer = [
    {
      mark: { type: 'errorbar', extent: 'stdev' },
      encoding: { ...encoding, y: { ...metricY(metric), title: metricTitle(metric) } },
    },
    {
      mark: { type: 'line', point: { size: 50 } },
      encoding: {
        ...encoding,
        ...(severalModels ? { shape: { field: 'model', type: 'nominal', title: 'Model' } } : {}),
        y: metricY(metric, 'mean'),
        tooltip: [
          { field: 'task', type: 'nominal', title: 'Task' },
          { field: 'model', type: 'nominal', title: 'Model' },
          { field: 'keptLayers', type: 'quantitative', title: 'Kept layers', aggregate: 'min' },
          { field: 'params', type: 'quantitative', title: 'Parameters', format: ',' },
          { field: 'value', aggregate: 'mean', type: 'quantitative', title: 'Mean', format: '.1%' },
        ],
      },
    },
  ];
  const facets = {
    row: distinct(withParams, 'method').length > 1 ? { field: 'method', title: 'Method' } : undefined,
  };
  return faceted(
    withParams,
    layer,
    options,
    `${metricTitle(metric)} vs model size (mean ± 1 std over seeds)`,
    facets,
  );
}

/** Training loss vs optimizer step; a line per series (per run, or averaged per setting value). */
export function curvesSpec(curves: CurveData, options: PlotOptions = {}): PlotSpec {
  const { points } = curves;
  needPoints(points, 'with a training curve');
  const encoding = {
    x: { field: 'step', type: 'quantitative', title: 'Optimizer step' },
    // The mean matters only when several runs share a series (colour by a setting).
    y: {
      field: 'loss',
      type: 'quantitative',
      aggregate: 'mean',
      title: 'Training loss',
      scale: { zero: false },
    },
    // Legend in the order of the points (curvePoints sorts the runs), not alphabetical.
    // More than 10 lines: a 20-colour palette, so no two share a colour.
    color: {
      field: 'series',
      type: 'nominal',
      title: curves.seriesTitle,
      sort: null,
      scale: { scheme: distinct(points, 'series').length > 10 ? 'tableau20' : 'tableau10' },
    },
  };
  const layer = [{ mark: { type: 'line', strokeWidth: 1.5 }, encoding }];
  const severalTasks = curves.panelPerTask;
  const facets = severalTasks ? { column: { field: 'task', title: 'Task' } } : {};
  return faceted(
    points,
    layer,
    options,
    'Training loss',
    facets,
    severalTasks ? { resolve: { scale: { y: 'independent' } } } : {},
  );
}

/** Grouped bars: per task, one bar per method (mean over seeds) with ± 1 std error bars. */
export function methodsSpec(points: readonly RunPoint[], options: PlotOptions = {}): PlotSpec {
  needPoints(points, 'to compare');
  const metric = options.metric ?? 'accuracy';
  const base = {
    x: { field: 'task', type: 'nominal', title: 'Task', axis: { labelAngle: 0 } },
    xOffset: { field: 'method', type: 'nominal' },
  };
  const layer = [
    {
      mark: { type: 'bar' },
      encoding: {
        ...base,
        y: { ...metricY(metric, 'mean'), scale: { zero: true, domain: [0, 1] } },
        color: { field: 'method', type: 'nominal', title: 'Method' },
        tooltip: [
          { field: 'task', type: 'nominal', title: 'Task' },
          { field: 'method', type: 'nominal', title: 'Method' },
          { field: 'value', aggregate: 'mean', type: 'quantitative', title: 'Mean', format: '.1%' },
          { field: 'value', aggregate: 'stdev', type: 'quantitative', title: 'Std', format: '.1%' },
          { field: 'value', aggregate: 'count', type: 'quantitative', title: 'Seeds' },
        ],
      },
    },
    {
      mark: { type: 'errorbar', extent: 'stdev', ticks: { size: 10 }, color: '#333' },
      encoding: { ...base, y: { field: 'value', type: 'quantitative', title: metricTitle(metric) } },
    },
  ];
  // One panel per model and other varying setting (rows) and per layer selection (columns).
  const severalModels = distinct(points, 'model').length > 1;
  const panels = points.map((p) => ({
    ...p,
    panel: [severalModels ? p.model : '', p.condition].filter(Boolean).join(' · '),
  }));
  const facets = {
    column:
      distinct(points, 'layers').length > 1
        ? { field: 'layers', title: 'Kept layers', sort: { field: 'keptLayers', op: 'min' } }
        : undefined,
    row:
      distinct(panels, 'panel').length > 1
        ? { field: 'panel', title: severalModels ? 'Model' : 'Setting' }
        : undefined,
  };
  return faceted(
    panels,
    layer,
    options,
    `${metricTitle(metric)} by method (mean ± 1 std over seeds)`,
    facets,
  );
}
