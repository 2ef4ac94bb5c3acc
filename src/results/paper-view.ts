/**
 * The paper-style table: one row per number of kept layers (and per value of any other setting
 * that varies, e.g. method or model), one column per task, each cell the mean ± sample standard
 * deviation over seeds in percent, an Average column, the best mean of each column marked, and
 * a last row with the majority-class baseline of each column.
 *
 *   | method | layers         | agnews     | sst2       | Average    |
 *   | lm     | first 1        | 80.2 ± 1.1 | 85.0 ± 7.1 | 82.6 ± 3.0 |
 *   |        | majority class | 25.0       | 50.9       | 38.0       |
 *
 * Average: per seed, the mean over the row's columns; then mean ± std over the seeds that
 * have every column (so it is the mean of the column means when every seed is there).
 *
 * Settings that only follow a compared one (a learning rate per method) do not split rows
 * (followers.ts). Each cell also carries n, a 95 % confidence interval (summary.ts) and its
 * majority baseline. A cell holding a run whose loss exploded (rows.ts: diverged) is marked †.
 */
import { LayercutError } from '../errors.js';
import { percent, percentMeanStd, type DisplayCell, type DisplayTable } from './format.js';
import { leaderKeys, mergeFollowers } from './followers.js';
import { compareLayers, compareValues, settingKeys, varyingSettings } from './rows.js';
import type { RunRow, SettingKey, SettingValue } from './rows.js';
import { mean, sampleStd, tInterval } from './stats.js';
import { summariseRuns, type MetricSummary } from './summary.js';

export type MetricName = 'accuracy' | 'macroF1';
export const metricNames: readonly MetricName[] = ['accuracy', 'macroF1'];

export interface PaperCell extends MetricSummary {
  /** "85.0 ± 7.1" (percent). */
  text: string;
  /** Highest mean of its column (after rounding to the shown decimals; ties all marked). */
  best: boolean;
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
  /** Per column (and 'Average'): the majority-class baseline of the metric; null when unknown. */
  majority: Record<string, number | null>;
  /** Which settings follow which, so do not split the rows. */
  notes: string[];
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
  const done = allRows.filter((row) => row.status === 'done' && row[metric] !== null);
  const { rows, notes } = mergeFollowers(done, [...leaderKeys, columnKey]);
  const rowKeys = paperRowKeys(rows, columnKey);
  const rowId = (row: RunRow): string => JSON.stringify(rowKeys.map((key) => row[key]));
  const columns = sortedDistinct(rows, columnKey);

  const byRow = new Map<string, RunRow[]>();
  for (const row of rows) byRow.set(rowId(row), [...(byRow.get(rowId(row)) ?? []), row]);
  const paperRows: PaperRow[] = [...byRow.values()].map((group) => {
    const inColumn = (column: string): RunRow[] => group.filter((row) => String(row[columnKey]) === column);
    return {
      key: Object.fromEntries(rowKeys.map((key) => [key, group[0]![key]])),
      keptLayers: group[0]!.keptLayers,
      cells: Object.fromEntries(
        columns.map((column) => {
          const runs = inColumn(column);
          return [column, runs.length ? toCell(summariseRuns(runs, metric)) : null];
        }),
      ),
      average: columns.length > 1 ? averageCell(group, columnKey, columns, metric) : null,
    };
  });
  paperRows.sort((a, b) => compareRows(a, b, rowKeys));
  markBest(paperRows, columns);

  const majority: Record<string, number | null> = {};
  for (const column of columns) {
    const summary = summariseRuns(
      rows.filter((row) => String(row[columnKey]) === column),
      metric,
    );
    majority[column] = summary.majority;
  }
  if (columns.length > 1) {
    const known = columns.map((column) => majority[column]);
    majority['Average'] = known.every((m) => m !== null) ? mean(known as number[]) : null;
  }
  return { metric, columnKey, rowKeys, columns, rows: paperRows, majority, notes };
}

function toCell(summary: MetricSummary): PaperCell {
  return { ...summary, text: percentMeanStd(summary.mean, summary.std), best: false };
}

/**
 * Average over the columns: per seed, the mean of the row's columns, then the mean ± std (and
 * t-interval) over the seeds that have every column.
 */
function averageCell(
  group: readonly RunRow[],
  columnKey: SettingKey,
  columns: readonly string[],
  metric: MetricName,
): PaperCell | null {
  const bySeed = new Map<number, RunRow[]>();
  for (const row of group) bySeed.set(row.seed, [...(bySeed.get(row.seed) ?? []), row]);
  const complete = [...bySeed.values()].filter(
    (runs) => new Set(runs.map((row) => String(row[columnKey]))).size === columns.length,
  );
  if (complete.length === 0) return null;
  const values = complete.map((runs) => mean(runs.map((row) => row[metric] as number)));
  const ci = tInterval(values);
  const std = sampleStd(values);
  return toCell({
    mean: mean(values),
    std,
    n: values.length,
    ci: ci ? { low: Math.max(0, ci.low), high: Math.min(1, ci.high), method: 't' } : null,
    majority: null,
    testExamples: null,
    diverged: complete.flat().filter((row) => row.diverged !== null).length,
  });
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

export interface PaperDisplayOptions {
  /** Show each cell's 95 % confidence interval after it: "89.7 ± 0.6 [88.2, 91.1]" (3 seeds). */
  ci?: boolean;
}

/** The note that says how the confidence intervals were computed. */
export const CI_NOTE =
  "95% confidence interval of the mean: Student's t over the seeds (n ≥ 2, clipped to 0–100); for one seed, Wilson's score interval on the run's test examples";

export function paperDisplay(view: PaperView, options: PaperDisplayOptions = {}): DisplayTable {
  const hasAverage = view.rows.some((row) => row.average !== null);
  const headers = [...view.rowKeys, ...view.columns, ...(hasAverage ? ['Average'] : [])];
  const allCells = view.rows.flatMap((row) =>
    [...Object.values(row.cells), row.average].filter((c): c is PaperCell => c !== null),
  );
  // The usual number of seeds goes in the note; cells with another number say theirs.
  const tally = new Map<number, number>();
  for (const c of allCells) tally.set(c.n, (tally.get(c.n) ?? 0) + 1);
  const usualN = [...tally].sort((x, y) => y[1] - x[1] || y[0] - x[0])[0]?.[0] ?? 1;
  const cell = (c: PaperCell | null): DisplayCell => {
    if (!c) return { text: '–' };
    const parts = [c.text];
    if (options.ci) parts.push(c.ci ? `[${percent(c.ci.low)}, ${percent(c.ci.high)}]` : '[–]');
    if (c.n !== usualN) parts.push(`(n=${c.n})`);
    if (c.diverged) parts.push(DIVERGED_MARK);
    return { text: parts.join(' '), bold: c.best };
  };
  const rows = view.rows.map((row) => [
    ...view.rowKeys.map((key) => ({ text: rowKeyText(row, key) })),
    ...view.columns.map((column) => cell(row.cells[column])),
    ...(hasAverage ? [cell(row.average)] : []),
  ]);
  const baselineColumns = [...view.columns, ...(hasAverage ? ['Average'] : [])];
  const hasMajority =
    view.rows.length > 0 && baselineColumns.some((c) => (view.majority[c] ?? null) !== null);
  if (hasMajority) {
    rows.push([
      ...view.rowKeys.map((_, i) => ({ text: i === view.rowKeys.length - 1 ? 'majority class' : '' })),
      ...baselineColumns.map((column) => {
        const value = view.majority[column] ?? null;
        return { text: value === null ? '–' : percent(value) };
      }),
    ]);
  }
  const numeric = headers.map((_, i) => i >= view.rowKeys.length);
  const metricText = view.metric === 'accuracy' ? 'accuracy' : 'macro-F1';
  const seeds = `${usualN === 1 ? '1 seed per cell (no std)' : `${usualN} seeds per cell`}${tally.size > 1 ? ', others as marked (n=…)' : ''}`;
  const anyDiverged = allCells.some((c) => c.diverged > 0);
  const notes =
    view.rows.length === 0
      ? ['no finished runs']
      : [
          `${metricText} in %, mean ± sample std over seeds (${seeds}); best per column in bold`,
          ...(options.ci ? [`[…]: ${CI_NOTE}`] : []),
          ...(hasMajority
            ? [
                `majority class: the ${metricText} of always answering the most frequent label of the test sample`,
              ]
            : []),
          ...(anyDiverged
            ? [
                `${DIVERGED_MARK} some of the cell's runs diverged (their training loss exploded): not to be trusted; layercut results --view runs shows which`,
              ]
            : []),
          ...view.notes,
        ];
  return { headers, rows, numeric, notes };
}
