/**
 * Where each thing that tells conditions apart goes in an accuracy plot: one of them colours
 * the lines (or bars), the others that vary split the plot into panels (columns: model, task;
 * rows: method, layer-selection kind, any other setting). Nothing that varies is left out, so
 * no mark ever averages two conditions.
 */
import { LayercutError } from '../errors.js';
import { compareValues, settingKeys, type SettingKey } from '../results/rows.js';
import { BOTTOM_K, type PlotPoint } from './plot-data.js';

/** What may colour an accuracy plot: a setting, or the kind of layer selection. */
export type ColorKey = SettingKey | 'selection';

/** Things a plot point is told apart by, besides its x position. */
const pointDims = ['model', 'task', 'method', 'selection', 'layers'] as const;

/** A plot point with its layout fields: `color`, and `column` / `row` panel labels. */
export type LaidOutPoint = Omit<PlotPoint, 'settings'> & {
  color: string;
  column: string;
  row: string;
  /** Where the point is drawn on the x axis (its value, or its value nudged sideways: see `dodge`). */
  x: number;
};

export interface Layout {
  values: LaidOutPoint[];
  color: { key: ColorKey; title: string; domain: string[] };
  /** Panel fields, when their labels take more than one value. */
  column?: { title: string; domain: string[] };
  row?: { title: string; domain: string[] };
}

/** The value of `dim` for a point, as text. */
export function dimValue(point: PlotPoint, dim: string): string {
  if ((pointDims as readonly string[]).includes(dim)) return String(point[dim as (typeof pointDims)[number]]);
  if (dim === 'keptLayers') return String(point.keptLayers);
  const value = point.settings[dim];
  return value === undefined || value === null ? '' : String(value);
}

const titles: Record<string, string> = {
  model: 'Model',
  task: 'Task',
  method: 'Method',
  selection: 'Layers kept',
  layers: 'Layers',
  keptLayers: 'Kept layers',
};
const titleOf = (dim: string): string => titles[dim] ?? dim;

/** Checks a `--color-by` value for the accuracy plots. */
export function colorKey(value: string): ColorKey {
  if (value === 'selection' || (settingKeys as readonly string[]).includes(value)) return value as ColorKey;
  throw new LayercutError(
    `cannot colour by '${value}'`,
    `use selection (how the layers were chosen) or a setting: ${settingKeys.join(', ')}`,
  );
}

/**
 * Lays the points out: `color` colours them, the other varying dimensions go to the panels —
 * `columns` in the columns, everything else (the remaining `pointDims` and each other setting
 * that varies) in the rows. `inMark` dimensions are drawn by the mark itself (the x axis, bars
 * side by side) and take no panel.
 */
export function layOut(
  points: readonly PlotPoint[],
  color: ColorKey,
  options: { columns: readonly string[]; inMark?: readonly string[] },
): Layout {
  const inMark = new Set([...(options.inMark ?? []), 'layers', color]);
  const settings = [...new Set(points.flatMap((p) => Object.keys(p.settings)))];
  const varies = (dim: string): boolean => new Set(points.map((p) => dimValue(p, dim))).size > 1;
  const columnDims = options.columns.filter((dim) => !inMark.has(dim) && varies(dim));
  const rowDims = [...pointDims, ...settings].filter(
    (dim) => !inMark.has(dim) && !options.columns.includes(dim) && varies(dim),
  );
  const label = (point: PlotPoint, dims: readonly string[]): string =>
    dims
      .map((dim) =>
        (pointDims as readonly string[]).includes(dim)
          ? dimValue(point, dim)
          : `${dim}=${dimValue(point, dim)}`,
      )
      .join(' · ');
  const values = points.map((point): LaidOutPoint => {
    const { settings: _settings, ...drawn } = point;
    return {
      ...drawn,
      color: dimValue(point, color),
      column: label(point, columnDims),
      row: label(point, rowDims),
      x: Number.NaN,
    };
  });
  return {
    values,
    color: { key: color, title: titleOf(color), domain: colorDomain(points, color) },
    ...(columnDims.length
      ? { column: { title: columnDims.map(titleOf).join(' · '), domain: domainOf(values, 'column') } }
      : {}),
    ...(rowDims.length
      ? { row: { title: rowDims.map(titleOf).join(' · '), domain: domainOf(values, 'row') } }
      : {}),
  };
}

/** Colour values in reading order: the bottom-k cut first, then by kept layers; settings naturally. */
function colorDomain(points: readonly PlotPoint[], color: ColorKey): string[] {
  const first = new Map<string, PlotPoint>();
  for (const point of points)
    if (!first.has(dimValue(point, color))) first.set(dimValue(point, color), point);
  return [...first.entries()]
    .sort(([a, pa], [b, pb]) => {
      if (color === 'selection') {
        if (a === BOTTOM_K || b === BOTTOM_K) return a === BOTTOM_K ? -1 : 1;
        return compareValues(pa.keptLayers, pb.keptLayers) || compareValues(a, b);
      }
      if (color === 'layers') return compareValues(pa.keptLayers, pb.keptLayers) || compareValues(a, b);
      const raw = (p: PlotPoint) =>
        color === 'keptLayers' ? p.keptLayers : (p.settings[color] ?? dimValue(p, color));
      return compareValues(raw(pa), raw(pb)) || compareValues(a, b);
    })
    .map(([value]) => value);
}

function domainOf(values: readonly LaidOutPoint[], field: 'column' | 'row'): string[] {
  return [...new Set(values.map((v) => v[field]))].sort((a, b) => compareValues(a, b));
}

/**
 * Sets each point's drawn `x` from `field`. Where several colours have a point at the same x of
 * one panel, those points are nudged sideways in legend order (on a log axis by a factor, else by
 * a share of the range), so that points and bands do not hide each other; the values themselves
 * (and the ticks) are unchanged. Returns whether anything was nudged.
 */
export function dodge(layout: Layout, field: 'keptLayers' | 'params', log: boolean): boolean {
  const at = (v: LaidOutPoint): string => `${v.row}\u0000${v.column}\u0000${v[field]}`;
  const colours = new Map<string, string[]>();
  for (const v of layout.values) {
    const here = colours.get(at(v)) ?? [];
    if (!here.includes(v.color)) here.push(v.color);
    colours.set(at(v), here);
  }
  const values = layout.values.map((v) => v[field]);
  const span = Math.max(...values) - Math.min(...values) || 1;
  let nudged = false;
  for (const v of layout.values) {
    // the colours at this x, in legend order: the point's place among them, centred on 0
    const here = layout.color.domain.filter((c) => colours.get(at(v))!.includes(c));
    const place = here.indexOf(v.color) - (here.length - 1) / 2;
    if (here.length > 1) nudged = true;
    v.x = here.length < 2 ? v[field] : log ? v[field] * 2 ** (0.06 * place) : v[field] + 0.015 * span * place;
  }
  return nudged;
}
