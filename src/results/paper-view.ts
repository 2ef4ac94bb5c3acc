/**
 * The paper-style table: one row per number of kept layers (and per value of any other setting
 * that varies, e.g. method or model), one column per task, each cell the mean ± sample standard
 * deviation over seeds in percent, an Average column, and the best mean of each column marked.
 *
 *   | method | layers   | agnews     | sst2       | Average    |
 *   | lm     | first 1  | 80.2 ± 1.1 | 85.0 ± 7.1 | 82.6 ± 3.0 |
 *
 * Average: per seed, the mean over the row's columns; then mean ± std over the seeds that
 * have every column (so it is the mean of the column means when every seed is there).
 *
 * A cell holding a run whose loss exploded (rows.ts: diverged) is marked †, with a note.
 */
import * as aq from 'arquero';

import { LayercutError } from '../errors.js';
import { percentMeanStd, type DisplayCell, type DisplayTable } from './format.js';
import { settingKeys, varyingSettings, type RunRow, type SettingKey, type SettingValue } from './rows.js';

export type MetricName = 'accuracy' | 'macroF1';
export const metricNames: readonly MetricName[] = ['accuracy', 'macroF1'];

export interface PaperCell {
  /** Fractions (0.85), not percent. */
  mean: number;
  /** Sample standard deviation over seeds; null with one seed. */
  std: number | null;
  /** Seeds averaged. */
  n: number;
  /** "85.0 ± 7.1" (percent). */
  text: string;
  /** Highest mean of its column (after rounding to the shown decimals; ties all marked). */
  best: boolean;
  /** How many of its runs diverged (their loss exploded): the cell is marked † in the tables. */
  diverged: number;
}

export interface PaperRow {
  /** The row's settings, e.g. { method: 'lm', layers: 'first 2' }. */
  key: Record<string, SettingValue>;
  /** Kept layers of the row's runs (sorts the rows). */
  keptLayers: number | null;
  /** By column label; null where no run finished. */
  cells: Record<string, PaperCell | null>;
  average: PaperCell | null;
}

export interface PaperView {
  metric: MetricName;
  /** The setting spread over the columns (default 'task'). */
  columnKey: SettingKey;
  /** Settings that identify a row, outermost first; 'layers' last. */
  rowKeys: SettingKey[];
  columns: string[];
  rows: PaperRow[];
}

export interface PaperViewOptions {
  metric?: MetricName;
  /** The setting whose values become columns. Default 'task'. */
  columns?: SettingKey;
}

const layerKeys: readonly SettingKey[] = ['layers', 'keptLayers'];

/** Settings that split rows: every varying one except the columns', the seed and the backend. */
export function paperRowKeys(rows: readonly RunRow[], columnKey: SettingKey): SettingKey[] {
  const excluded = new Set<SettingKey>([columnKey, 'seed', 'backend', 'keptLayers']);
  if (layerKeys.includes(columnKey)) layerKeys.forEach((key) => excluded.add(key));
  const keys = varyingSettings(rows).filter((key) => !excluded.has(key) && key !== 'layers');
  return excluded.has('layers') ? keys : [...keys, 'layers'];
}

export function paperView(allRows: readonly RunRow[], options: PaperViewOptions = {}): PaperView {
  const metric = options.metric ?? 'accuracy';
  const columnKey = options.columns ?? 'task';
  if (!(settingKeys as readonly string[]).includes(columnKey)) {
    throw new LayercutError(
      `cannot spread '${columnKey}' over the columns`,
      `use a setting: ${settingKeys.join(', ')}`,
    );
  }
  const rows = allRows.filter((row) => row.status === 'done' && row[metric] !== null);
  const rowKeys = paperRowKeys(rows, columnKey);
  const rowId = (row: RunRow): string => JSON.stringify(rowKeys.map((key) => row[key]));

  const columns = sortedDistinct(rows, columnKey);
  const byRow = new Map<string, RunRow>();
  for (const row of rows) if (!byRow.has(rowId(row))) byRow.set(rowId(row), row);

  const values = aq.from(
    rows.map((row) => ({
      rowId: rowId(row),
      column: String(row[columnKey]),
      seed: row.seed,
      value: row[metric] as number,
      diverged: row.diverged === null ? 0 : 1,
    })),
  );
  const stats = {
    mean: aq.op.mean('value'),
    std: aq.op.stdev('value'),
    n: aq.op.count(),
    diverged: aq.op.sum('diverged'),
  };
  const cellStats = values.groupby('rowId', 'column').rollup(stats);
  // Average: first over the columns for each seed, then over the seeds having all columns.
  const perSeed = values
    .groupby('rowId', 'seed')
    .rollup({
      value: aq.op.mean('value'),
      columns: aq.op.distinct('column'),
      diverged: aq.op.sum('diverged'),
    })
    .params({ total: columns.length })
    .filter((d: { columns: number }, $: { total: number }) => d.columns === $.total);
  const averageStats = perSeed.groupby('rowId').rollup(stats);

  const cellAt = new Map<string, PaperCell>();
  for (const stat of cellStats.objects() as CellStat[])
    cellAt.set(`${stat.rowId}\u0000${stat.column}`, toCell(stat));
  const averageAt = new Map<string, PaperCell>();
  for (const stat of averageStats.objects() as CellStat[]) averageAt.set(stat.rowId, toCell(stat));

  const paperRows: PaperRow[] = [...byRow].map(([id, first]) => ({
    key: Object.fromEntries(rowKeys.map((key) => [key, first[key]])),
    keptLayers: first.keptLayers,
    cells: Object.fromEntries(columns.map((column) => [column, cellAt.get(`${id}\u0000${column}`) ?? null])),
    average: columns.length > 1 ? (averageAt.get(id) ?? null) : null,
  }));
  paperRows.sort((a, b) => compareRows(a, b, rowKeys));
  markBest(paperRows, columns);
  return { metric, columnKey, rowKeys, columns, rows: paperRows };
}

interface CellStat {
  rowId: string;
  column?: string;
  mean: number;
  std: number | undefined;
  n: number;
  diverged: number;
}

function toCell(stat: CellStat): PaperCell {
  const std = stat.n > 1 && stat.std !== undefined ? stat.std : null;
  return {
    mean: stat.mean,
    std,
    n: stat.n,
    text: percentMeanStd(stat.mean, std),
    best: false,
    diverged: stat.diverged,
  };
}

/** Marks the highest mean per column; with one row there is nothing to compare. */
function markBest(rows: PaperRow[], columns: string[]): void {
  if (rows.length < 2) return;
  const mark = (cells: (PaperCell | null)[]): void => {
    const present = cells.filter((cell): cell is PaperCell => cell !== null);
    // Compare what is shown: 85.04 and 85.01 both read 85.0 and both are best.
    const shown = (cell: PaperCell): number => Math.round(cell.mean * 1000);
    const top = Math.max(...present.map(shown));
    for (const cell of present) cell.best = shown(cell) === top;
  };
  for (const column of columns) mark(rows.map((row) => row.cells[column]));
  mark(rows.map((row) => row.average));
}

/** Distinct values of a setting as column labels, in natural order (numbers numerically). */
function sortedDistinct(rows: readonly RunRow[], key: SettingKey): string[] {
  const firstOf = new Map<string, RunRow>();
  for (const row of rows) if (!firstOf.has(String(row[key]))) firstOf.set(String(row[key]), row);
  const entries = [...firstOf];
  entries.sort(([labelA, a], [labelB, b]) =>
    layerKeys.includes(key)
      ? compareLayers(a.keptLayers, labelA, b.keptLayers, labelB)
      : compareValues(a[key], b[key]),
  );
  return entries.map(([label]) => label);
}

export function compareValues(a: SettingValue, b: SettingValue): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/** Fewer kept layers first; among equal counts, 'first k' before 'all' before index lists. */
function compareLayers(keptA: number | null, textA: string, keptB: number | null, textB: string): number {
  const byCount = compareValues(keptA, keptB);
  return byCount !== 0 ? byCount : compareValues(textA, textB);
}

function compareRows(a: PaperRow, b: PaperRow, rowKeys: readonly SettingKey[]): number {
  for (const key of rowKeys) {
    const order =
      key === 'layers'
        ? compareLayers(a.keptLayers, String(a.key.layers), b.keptLayers, String(b.key.layers))
        : compareValues(a.key[key], b.key[key]);
    if (order !== 0) return order;
  }
  return 0;
}

/** How a row's setting is shown: 'all' gets its layer count, "all (48)". */
export function rowKeyText(row: PaperRow, key: SettingKey): string {
  const value = row.key[key];
  if (key === 'layers' && value === 'all' && row.keptLayers !== null) return `all (${row.keptLayers})`;
  return value === null ? '' : String(value);
}

/** Marks a cell with runs whose loss exploded. */
export const DIVERGED_MARK = '†';

export function paperDisplay(view: PaperView): DisplayTable {
  const hasAverage = view.rows.some((row) => row.average !== null);
  const headers = [...view.rowKeys, ...view.columns, ...(hasAverage ? ['Average'] : [])];
  const cell = (c: PaperCell | null): DisplayCell =>
    c ? { text: c.diverged ? `${c.text} ${DIVERGED_MARK}` : c.text, bold: c.best } : { text: '–' };
  const anyDiverged = view.rows.some(
    (row) => row.average?.diverged || Object.values(row.cells).some((c) => c?.diverged),
  );
  const rows = view.rows.map((row) => [
    ...view.rowKeys.map((key) => ({ text: rowKeyText(row, key) })),
    ...view.columns.map((column) => cell(row.cells[column])),
    ...(hasAverage ? [cell(row.average)] : []),
  ]);
  const numeric = headers.map((_, i) => i >= view.rowKeys.length);
  const metricText = view.metric === 'accuracy' ? 'accuracy' : 'macro-F1';
  return {
    headers,
    rows,
    numeric,
    notes: [
      `${metricText} in %, mean ± sample std over seeds; best per column in bold`,
      ...(anyDiverged
        ? [
            `${DIVERGED_MARK} some of the cell's runs diverged (their training loss exploded): not to be trusted; layercut results --view runs shows which`,
          ]
        : []),
    ],
  };
}
