/**
 * Tables a notebook can show, brought to one form (`DisplayTable`: headers + rows of text
 * cells, from src/results/format.ts) and written as HTML (notebook) or Markdown (console):
 *
 *   DisplayTable            the results views (paperTable(), runsDisplay(...), …)
 *   a view                  paperView(…), compareView(…), conditionSummaries(…): shown as the
 *                           command line shows them
 *   arquero table           anything with columnNames() and objects() (runs(), queries on it)
 *   array of plain objects  one row per object, columns in order of first appearance
 */
import { LayercutError } from '../errors.js';
import { compareDisplay, type CompareView } from '../results/compare-view.js';
import { oneLine, toMarkdown, type DisplayCell, type DisplayTable } from '../results/format.js';
import { paperDisplay, type PaperView } from '../results/paper-view.js';
import { summaryDisplay, type Conditions } from '../results/summary.js';

/** What `show` needs of an arquero table (so any version, or a look-alike, works). */
export interface ColumnTableLike {
  columnNames(): string[];
  numRows(): number;
  objects(options?: { limit?: number }): object[];
}

export type Showable =
  DisplayTable | PaperView | CompareView | Conditions | ColumnTableLike | readonly object[];

export interface TableOptions {
  /** Rows shown at most; the rest are counted in a note. Default 100. */
  maxRows?: number;
}

function isDisplayTable(value: unknown): value is DisplayTable {
  const table = value as Partial<DisplayTable> | null;
  return (
    typeof table === 'object' && table !== null && Array.isArray(table.headers) && Array.isArray(table.rows)
  );
}

const hasFields = (value: unknown, fields: readonly string[]): boolean =>
  typeof value === 'object' && value !== null && fields.every((field) => field in value);

/** A results view as the command line shows it, or undefined for anything else. */
function viewDisplay(value: unknown): DisplayTable | undefined {
  if (hasFields(value, ['columnKey', 'rowKeys', 'columns', 'rows'])) return paperDisplay(value as PaperView);
  if (hasFields(value, ['setting', 'a', 'b', 'groups'])) return compareDisplay(value as CompareView);
  if (hasFields(value, ['keys', 'conditions'])) return summaryDisplay(value as Conditions);
  return undefined;
}

function isColumnTable(value: unknown): value is ColumnTableLike {
  const table = value as Partial<ColumnTableLike> | null;
  return (
    typeof table === 'object' &&
    table !== null &&
    typeof table.columnNames === 'function' &&
    typeof table.objects === 'function' &&
    typeof table.numRows === 'function'
  );
}

/** How one value reads in a cell: numbers to 4 significant digits, objects as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
    return Math.abs(value) >= 1000 ? value.toFixed(1) : String(Number(value.toPrecision(4)));
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows of objects as a DisplayTable; columns are the keys in order of first appearance. */
function fromObjects(
  records: readonly object[],
  total: number,
  maxRows: number,
  columns?: string[],
): DisplayTable {
  const shown = records.slice(0, maxRows) as readonly Record<string, unknown>[];
  const headers = columns ?? [...new Set(shown.flatMap((record) => Object.keys(record)))];
  const rows = shown.map((record) => headers.map((key) => ({ text: cellText(record[key]) })));
  const numeric = headers.map((key) => {
    const values = shown.map((record) => record[key]).filter((v) => v !== null && v !== undefined);
    return values.length > 0 && values.every((v) => typeof v === 'number');
  });
  const table: DisplayTable = { headers, rows, numeric };
  if (total > shown.length) table.notes = [`… ${total - shown.length} more rows (${total} in all)`];
  return table;
}

/** Any showable table as a DisplayTable (at most `maxRows` rows). */
export function toDisplayTable(table: Showable, options: TableOptions = {}): DisplayTable {
  const maxRows = options.maxRows ?? 100;
  const view = viewDisplay(table);
  if (view) return toDisplayTable(view, options);
  if (isDisplayTable(table)) {
    if (table.rows.length <= maxRows) return table;
    const more = `… ${table.rows.length - maxRows} more rows (${table.rows.length} in all)`;
    return { ...table, rows: table.rows.slice(0, maxRows), notes: [...(table.notes ?? []), more] };
  }
  if (isColumnTable(table)) {
    return fromObjects(table.objects({ limit: maxRows }), table.numRows(), maxRows, table.columnNames());
  }
  if (Array.isArray(table)) return fromObjects(table, table.length, maxRows);
  const got =
    table === null || typeof table !== 'object'
      ? String(table === null ? 'null' : typeof table)
      : `an object with ${Object.keys(table).slice(0, 8).join(', ') || 'no fields'}`;
  throw new LayercutError(
    'show() takes a table: a results view (results.paperTable(), paperView(…), compareView(…)), an arquero table, or an array of objects',
    `got ${got}`,
  );
}

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);
}

function htmlCell(tag: 'td' | 'th', cell: DisplayCell, numeric: boolean): string {
  const text = escapeHtml(oneLine(cell.text));
  const content = cell.bold && text !== '' ? `<b>${text}</b>` : text;
  return `<${tag} style="text-align:${numeric ? 'right' : 'left'}">${content}</${tag}>`;
}

/** The table as an HTML `<table>` (class `layercut-table`), notes below it in small type. */
export function htmlTable(table: DisplayTable): string {
  const numeric = table.numeric ?? [];
  const head = table.headers.map((h, i) => htmlCell('th', { text: h }, numeric[i] ?? false)).join('');
  const body = table.rows
    .map((row) => `<tr>${row.map((cell, i) => htmlCell('td', cell, numeric[i] ?? false)).join('')}</tr>`)
    .join('\n');
  const notes = (table.notes ?? []).map((note) => `<p><small>${escapeHtml(note)}</small></p>`).join('');
  return `<table class="layercut-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>${notes}`;
}

/** The table as Markdown (what `show` prints outside a notebook). */
export function markdownTable(table: DisplayTable): string {
  return toMarkdown(table);
}
