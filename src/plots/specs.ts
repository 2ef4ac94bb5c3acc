/**
 * Vega-Lite specs of the four standard plots:
 *
 *   layers   accuracy vs kept layers: a line per task (or per kind of layer selection, or
 *            whatever `colorBy` names) through the mean over seeds, a band of ± 1 std where
 *            there are several seeds, the 95 % interval as bars where there is one, the
 *            majority-class baseline dashed; every other setting that varies gets its own panel
 *   params   the same against parameters of the cut model (log x axis)
 *   curves   training loss vs optimizer step, a line per run or per value of a setting
 *   methods  bars: mean accuracy per layer selection, one bar per method, a panel per task
 *
 * Each builder takes records from plot-data.ts — conditions whose numbers are computed there —
 * and returns a plain JSON spec that draws them without aggregating anything itself; render.ts
 * turns a spec into SVG or PNG.
 */
import { LayercutError } from '../errors.js';
import { dodge, layOut, type ColorKey, type Layout } from './layout.js';
import { compareLayers } from '../results/rows.js';
import { BOTTOM_K, distinct, type CurveData, type PlotMetric, type PlotPoint } from './plot-data.js';

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

export interface AccuracyPlotOptions extends PlotOptions {
  /**
   * What colours the lines: a setting ('method' overlays methods in one panel) or 'selection'
   * (how the layers were chosen). Default: 'selection' where selections other than the bottom
   * k are drawn, else 'task'. The rest of what varies splits the plot into panels.
   */
  colorBy?: ColorKey;
}

/** Vega-Lite `config` shared by every plot: readable type, fonts resvg finds on Linux. */
export const plotConfig = {
  font: 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif',
  background: 'white',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e5e5e5' },
  // labelLimit 0: legend and panel labels are never cut short
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    labelLimit: 0,
    symbolStrokeWidth: 2,
  },
  header: {
    labelFontSize: 12,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    labelFontWeight: 'bold',
    labelLimit: 0,
  },
  title: { fontSize: 14, anchor: 'start', offset: 12, subtitleFontSize: 11, subtitleColor: '#555' },
  line: { strokeWidth: 2 },
} as const;

const metricTitle = (metric: PlotMetric): string =>
  metric === 'accuracy' ? 'Test accuracy' : 'Test macro-F1';

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A percent axis for fractions. */
function percentY(field: string, metric: PlotMetric, scale: object = { zero: false }) {
  return { field, type: 'quantitative', title: metricTitle(metric), axis: { format: '.0%' }, scale } as const;
}

/** 1, 2, 3, 5 × 10^k between low and high (or finer steps where those give fewer than 3 ticks). */
export function logTicks(low: number, high: number): number[] {
  let ticks: number[] = [];
  for (const mantissas of [
    [1, 2, 3, 5],
    [1, 1.5, 2, 3, 4, 5, 6, 8],
    [1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9],
  ]) {
    ticks = [];
    for (let power = Math.floor(Math.log10(low)); power <= Math.ceil(Math.log10(high)); power++) {
      for (const m of mantissas) {
        const tick = Number((m * 10 ** power).toPrecision(12));
        if (tick >= low && tick <= high) ticks.push(tick);
      }
    }
    if (ticks.length >= 3) return ticks;
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

/**
 * The subtitle: how many seeds each mark averages and what the band, bars and dashed line are
 * (so a reader never has to guess whether a band is a std or an interval).
 */
export function uncertaintyNote(
  points: readonly PlotPoint[],
  spread: 'band' | 'bars',
  dodged = false,
): string[] {
  const counts = points.map((p) => p.n);
  const [least, most] = [Math.min(...counts), Math.max(...counts)];
  const seeds = least === most ? `${least} seed${least === 1 ? '' : 's'}` : `${least}–${most} seeds`;
  const lines: string[] = [];
  const wilson = points.filter((p) => p.n === 1 && p.ciMethod === 'wilson');
  const examples = [...new Set(wilson.map((p) => p.testExamples))];
  const wilsonText = `95% Wilson interval on ${examples.length === 1 ? `${examples[0]} ` : ''}test examples`;
  if (most === 1) {
    lines.push(`1 seed per point; bars: ${wilson.length ? wilsonText : 'none'}`);
  } else {
    const mean = least === most ? `mean of ${seeds}` : `mean of ${seeds} (n per point in the tooltip)`;
    const spreadText = `${spread}: ± 1 std over seeds${least === 1 ? ' where n ≥ 2' : ''}`;
    lines.push(
      `${mean}; ${spreadText}${least === 1 && wilson.length ? `; thin bars where n = 1: ${wilsonText}` : ''}`,
    );
  }
  const extras: string[] = [];
  if (points.some((p) => p.majority !== null)) extras.push('dashed: majority class');
  if (points.some((p) => p.diverged > 0)) extras.push('†: some runs diverged (loss exploded)');
  if (dodged) extras.push('points at one x nudged apart for legibility');
  if (extras.length) lines.push(extras.join('; '));
  return lines;
}

function titled(options: PlotOptions, text: string, subtitle: string[]) {
  return { title: { text: options.title ?? text, subtitle } };
}

/** Panels for the layout's row and column labels, around `layer`; a single view when there are none. */
function paneled(
  layout: Layout,
  layer: object[],
  title: object,
  size: { width: unknown; height: number },
  extra: object = {},
): PlotSpec {
  const facet = {
    ...(layout.row ? { row: { field: 'row', title: layout.row.title, sort: layout.row.domain } } : {}),
    ...(layout.column
      ? { column: { field: 'column', title: layout.column.title, sort: layout.column.domain } }
      : {}),
  };
  const base = { $schema: schema, ...title, config: plotConfig, data: { values: layout.values } };
  return Object.keys(facet).length
    ? { ...base, facet, spec: { ...size, layer }, ...extra }
    : { ...base, ...size, layer, ...extra };
}

function colorEncoding(layout: Layout) {
  return {
    field: 'color',
    type: 'nominal',
    title: layout.color.title,
    sort: layout.color.domain,
    scale: {
      domain: layout.color.domain,
      scheme: layout.color.domain.length > 10 ? 'tableau20' : 'tableau10',
    },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  };
}

/** The default colour: the kind of selection where several are drawn, else the task. */
function defaultColor(points: readonly PlotPoint[]): ColorKey {
  return points.some((p) => p.selection !== BOTTOM_K) ? 'selection' : 'task';
}

/**
 * The marks of a line plot over `x`: the ± std band (n ≥ 2), the 95 % interval bars (n = 1), the
 * majority baseline per panel (dashed, with a label), the mean line with its points, † on
 * conditions with diverged runs.
 */
function lineLayers(x: object, layout: Layout, metric: PlotMetric, tooltip: object[]): object[] {
  const color = colorEncoding(layout);
  const y = percentY('mean', metric);
  const baselineBy = ['row', 'column', 'task'];
  const severalTasksInPanel = layout.color.key === 'task' && layout.color.domain.length > 1;
  return [
    {
      transform: [{ filter: 'datum.n >= 2 && datum.low != null' }],
      mark: { type: 'area', opacity: 0.2 },
      encoding: { x, y: percentY('low', metric), y2: { field: 'high' }, color },
    },
    {
      transform: [{ filter: 'datum.n == 1 && datum.ciLow != null' }],
      mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 },
      encoding: { x, y: percentY('ciLow', metric), y2: { field: 'ciHigh' }, color },
    },
    {
      transform: [
        { filter: 'datum.majority != null' },
        { aggregate: [{ op: 'mean', field: 'majority', as: 'majority' }], groupby: baselineBy },
      ],
      mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.5, color: '#777' },
      encoding: { y: percentY('majority', metric) },
    },
    {
      transform: [
        { filter: 'datum.majority != null' },
        { aggregate: [{ op: 'mean', field: 'majority', as: 'majority' }], groupby: baselineBy },
        {
          calculate: severalTasksInPanel ? "'majority class (' + datum.task + ')'" : "'majority class'",
          as: 'label',
        },
      ],
      mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -2, fontSize: 10, color: '#666' },
      encoding: { x: { value: 0 }, y: percentY('majority', metric), text: { field: 'label' } },
    },
    {
      mark: { type: 'line', point: { filled: true, size: 45 } },
      encoding: { x, y, color, tooltip },
    },
    {
      transform: [{ filter: 'datum.diverged > 0' }],
      mark: { type: 'text', text: '†', dy: -10, fontSize: 13 },
      encoding: { x, y, color },
    },
  ];
}

/** The tooltip of a condition. */
function pointTooltip(metric: PlotMetric): object[] {
  return [
    { field: 'task', title: 'Task' },
    { field: 'method', title: 'Method' },
    { field: 'layers', title: 'Layers' },
    { field: 'condition', title: 'Settings' },
    { field: 'mean', title: `Mean ${metricTitle(metric).toLowerCase()}`, format: '.1%' },
    { field: 'std', title: 'Std over seeds', format: '.1%' },
    { field: 'n', title: 'Seeds' },
    { field: 'ciLow', title: '95% CI low', format: '.1%' },
    { field: 'ciHigh', title: '95% CI high', format: '.1%' },
    { field: 'majority', title: 'Majority class', format: '.1%' },
  ];
}

/** A tenth of the range of `values` (half a unit when they are all one). */
const margin = (values: readonly number[]): number => (Math.max(...values) - Math.min(...values)) / 10 || 0.5;

/** Accuracy vs number of kept layers (see the file's header). */
export function layersSpec(points: readonly PlotPoint[], options: AccuracyPlotOptions = {}): PlotSpec {
  needPoints(points, 'to plot');
  const metric = options.metric ?? 'accuracy';
  const layout = layOut(points, options.colorBy ?? defaultColor(points), {
    columns: ['model', 'task'],
    inMark: ['keptLayers'],
  });
  // Layer counts are usually doublings (1, 2, 4, … 48): a log₂ axis spaces them evenly.
  const counts = points.map((p) => p.keptLayers).filter((k) => k > 0);
  const logScale = counts.length > 0 && Math.max(...counts) / Math.min(...counts) >= 8;
  const bottomOnly = points.every((p) => p.selection === BOTTOM_K);
  const notes = [bottomOnly ? 'bottom k' : '', logScale ? 'log scale' : ''].filter(Boolean);
  const dodged = dodge(layout, 'keptLayers', logScale);
  const x = {
    field: 'x',
    type: 'quantitative',
    title: `Kept layers${notes.length ? ` (${notes.join(', ')})` : ''}`,
    // Ticks at the counts that were run, so the full depth (48, 24) is labelled too.
    axis: { values: [...new Set(counts)].sort((a, b) => a - b), format: 'd', labelOverlap: 'greedy' },
    // a margin beyond the first and last count, so nudged points keep the ticks inside
    scale: logScale
      ? {
          type: 'log',
          base: 2,
          nice: false,
          domain: [Math.min(...counts) / 1.25, Math.max(...counts) * 1.25],
        }
      : {
          zero: false,
          nice: false,
          domain: [Math.min(...counts) - margin(counts), Math.max(...counts) + margin(counts)],
        },
  };
  const severalModels = distinct(points, 'model').length > 1;
  return paneled(
    layout,
    lineLayers(x, layout, metric, [...pointTooltip(metric), { field: 'keptLayers', title: 'Kept layers' }]),
    titled(options, `${metricTitle(metric)} vs kept layers`, uncertaintyNote(points, 'band', dodged)),
    { width: options.width ?? 320, height: options.height ?? 220 },
    // Models differ in depth: each model's panels get their own x range.
    severalModels && layout.column ? { resolve: { scale: { x: 'independent' } } } : {},
  );
}

/** Accuracy vs parameters of the cut model (log scale): a line per colour and model. */
export function paramsSpec(points: readonly PlotPoint[], options: AccuracyPlotOptions = {}): PlotSpec {
  const withParams = points.filter((p) => Number.isFinite(p.params) && p.params > 0);
  needPoints(withParams, 'with a parameter count');
  const metric = options.metric ?? 'accuracy';
  // Models share the panel (their sizes are the point); each model's line is its own.
  const layout = layOut(withParams, options.colorBy ?? defaultColor(withParams), {
    columns: ['task'],
    inMark: ['keptLayers', 'model'],
  });
  const sizes = withParams.map((p) => p.params);
  const [low, high] = [Math.min(...sizes) / 1.15, Math.max(...sizes) * 1.15];
  const dodged = dodge(layout, 'params', true);
  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'Parameters of the cut model (log scale)',
    scale: { type: 'log', domain: [low, high], nice: false },
    // SI prefixes, but billions as B: 200M, 1.5B.
    axis: {
      values: logTicks(low, high),
      labelExpr: "replace(format(datum.value, '.3~s'), 'G', 'B')",
      labelOverlap: 'greedy',
    },
  };
  const layer = lineLayers(x, layout, metric, [
    ...pointTooltip(metric),
    { field: 'model', title: 'Model' },
    { field: 'params', title: 'Parameters', format: ',' },
  ]);
  if (distinct(withParams, 'model').length > 1) {
    for (const mark of layer as { encoding: Record<string, unknown> }[])
      mark.encoding['detail'] = { field: 'model' };
    const line = layer[4] as { encoding: Record<string, unknown> };
    line.encoding['shape'] = { field: 'model', type: 'nominal', title: 'Model' };
  }
  return paneled(
    layout,
    layer,
    titled(options, `${metricTitle(metric)} vs model size`, uncertaintyNote(withParams, 'band', dodged)),
    { width: options.width ?? 360, height: options.height ?? 220 },
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
    detail: { field: 'line' },
  };
  const layer = [{ mark: { type: 'line', strokeWidth: 1.5 }, encoding }];
  const base = {
    $schema: schema,
    title: { text: options.title ?? 'Training loss' },
    config: plotConfig,
    data: { values: points },
  };
  const size = { width: options.width ?? 320, height: options.height ?? 220 };
  // Losses of different tasks are not comparable: a panel each, with its own y scale.
  return curves.panelPerTask
    ? {
        ...base,
        facet: { column: { field: 'task', title: 'Task' } },
        spec: { ...size, layer },
        resolve: { scale: { y: 'independent' } },
      }
    : { ...base, ...size, layer };
}

/**
 * Bars: per layer selection (x, in kept-layer order), one bar per method (mean over seeds),
 * ± 1 std as a bar where there are several seeds, the 95 % interval where there is one, the
 * majority-class baseline dashed; a panel per task (and model, and any other varying setting).
 */
export function methodsSpec(points: readonly PlotPoint[], options: PlotOptions = {}): PlotSpec {
  needPoints(points, 'to compare');
  const metric = options.metric ?? 'accuracy';
  const layout = layOut(points, 'method', {
    columns: ['model', 'task'],
    inMark: ['keptLayers', 'selection', 'layers'],
  });
  const categories = [
    ...new Set(
      [...points]
        .sort((a, b) => compareLayers(a.keptLayers, a.layers, b.keptLayers, b.layers))
        .map((p) => p.layersLabel),
    ),
  ];
  const longest = Math.max(...categories.map((c) => c.length));
  const x = {
    field: 'layersLabel',
    type: 'nominal',
    title: 'Layers kept',
    sort: categories,
    axis: { labelAngle: longest > 8 || categories.length > 6 ? -35 : 0, labelLimit: 180 },
  };
  const offset = { xOffset: { field: 'color', type: 'nominal', sort: layout.color.domain } };
  const color = colorEncoding(layout);
  const { legend: _legend, ...barColor } = color;
  const scale = { zero: true, domain: [0, 1] };
  const layer = [
    {
      mark: { type: 'bar' },
      encoding: {
        x,
        ...offset,
        y: percentY('mean', metric, scale),
        color: { ...barColor, legend: {} },
        tooltip: pointTooltip(metric),
      },
    },
    {
      transform: [{ filter: 'datum.n >= 2 && datum.low != null' }],
      mark: { type: 'rule', color: '#333', strokeWidth: 1.5 },
      encoding: { x, ...offset, y: percentY('low', metric, scale), y2: { field: 'high' } },
    },
    {
      transform: [{ filter: 'datum.n == 1 && datum.ciLow != null' }],
      mark: { type: 'rule', color: '#333', strokeWidth: 1 },
      encoding: { x, ...offset, y: percentY('ciLow', metric, scale), y2: { field: 'ciHigh' } },
    },
    {
      transform: [
        { filter: 'datum.majority != null' },
        { aggregate: [{ op: 'mean', field: 'majority', as: 'majority' }], groupby: ['row', 'column'] },
      ],
      mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.5, color: '#555' },
      encoding: { y: percentY('majority', metric, scale) },
    },
  ];
  const bars = categories.length * Math.max(1, layout.color.domain.length);
  return paneled(
    layout,
    layer,
    titled(options, `${metricTitle(metric)} by method`, uncertaintyNote(points, 'bars')),
    {
      width: options.width ?? Math.max(160, Math.min(520, bars * 14 + categories.length * 8)),
      height: options.height ?? 220,
    },
    // each panel lists only the selections run for it
    layout.column ? { resolve: { scale: { x: 'independent' } } } : {},
  );
}
