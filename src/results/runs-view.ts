/**
 * The raw runs view: one row per run with its id, status, the settings that matter (the core
 * ones and any that vary between the runs shown) and its accuracy, macro-F1 and size. A run
 * whose loss exploded has "(diverged)" beside its accuracy and a note under the table saying why.
 */
import * as aq from 'arquero';

import { humanCount, oneLine, percent, type DisplayTable } from './format.js';
import {
  coreSettingKeys,
  resultKeys,
  settingKeys,
  varyingSettings,
  type RunRow,
  type SettingKey,
} from './rows.js';

export interface RunsView {
  /** Settings shown: the core ones plus those that vary, in display order. */
  settings: SettingKey[];
  rows: RunRow[];
}

/** One run in the JSON export. */
export interface RunJson {
  id: string;
  status: RunRow['status'];
  error: string | null;
  attempts: number;
  /** The shown settings, by name. */
  [setting: string]: unknown;
  metrics: { accuracy: number | null; macroF1: number | null; validationAccuracy: number | null };
  params: number | null;
  paramsFull: number | null;
  wallSeconds: number | null;
}

export function runsView(rows: readonly RunRow[]): RunsView {
  const varying = new Set<SettingKey>(varyingSettings(rows));
  const settings = settingKeys.filter((key) => coreSettingKeys.includes(key) || varying.has(key));
  return { settings, rows: [...rows] };
}

/** The runs as an arquero table (all columns), for notebooks and further queries. */
export function runsTable(rows: readonly RunRow[]): aq.ColumnTable {
  return aq.from(rows.map((row) => ({ ...row })));
}

/** What Markdown and LaTeX show: accuracy in percent, parameter counts shortened. */
export function runsDisplay(view: RunsView): DisplayTable {
  const hasErrors = view.rows.some((row) => row.error !== null);
  const hasChosen = view.rows.some((row) => row.chosenLayers !== null);
  const headers = ['id', 'status', ...view.settings, 'accuracy (%)', 'macro-F1 (%)', 'params'];
  if (hasChosen) headers.push('chosen layers');
  if (hasErrors) headers.push('error');
  const fraction = (value: number | null): string => (value === null ? '' : percent(value));
  const rows = view.rows.map((row) => {
    const cells = [
      row.id,
      row.status,
      ...view.settings.map((key) => displayValue(row[key])),
      // a run whose loss exploded: its numbers are there, marked
      row.diverged === null ? fraction(row.accuracy) : `${fraction(row.accuracy)} (diverged)`,
      fraction(row.macroF1),
      row.params === null ? '' : humanCount(row.params),
    ];
    if (hasChosen) cells.push(row.chosenLayers ?? '');
    // the whole message on the row's one line
    if (hasErrors) cells.push(row.error === null ? '' : row.error.replace(/\s*\n\s*/g, ' '));
    return cells.map((text) => ({ text }));
  });
  const diverged = view.rows.filter((row) => row.diverged !== null);
  const numeric = headers.map((h) =>
    ['keptLayers', 'seed', 'lr', 'accuracy (%)', 'macro-F1 (%)', 'params'].includes(h),
  );
  const notes = diverged.map((row) => `diverged: ${row.id}: ${row.diverged}`);
  return { headers, rows, numeric, ...(notes.length ? { notes } : {}) };
}

/** What CSV holds: raw values (accuracy as a fraction, full parameter counts). */
export function runsCsvTable(view: RunsView): DisplayTable {
  // chosenLayers only where some run chose its layers from data (a computed selection), diverged where some run did
  const results = resultKeys.filter(
    (key) => (key !== 'chosenLayers' && key !== 'diverged') || view.rows.some((row) => row[key] !== null),
  );
  const headers = ['id', 'status', ...view.settings, ...results, 'error'];
  const rows = view.rows.map((row) =>
    headers.map((key) => ({ text: rawValue((row as unknown as Record<string, unknown>)[key]) })),
  );
  return { headers, rows };
}

export function runsJson(view: RunsView): RunJson[] {
  return view.rows.map((row) => ({
    id: row.id,
    status: row.status,
    ...Object.fromEntries(view.settings.map((key) => [key, row[key]])),
    metrics: { accuracy: row.accuracy, macroF1: row.macroF1, validationAccuracy: row.validationAccuracy },
    params: row.params,
    paramsFull: row.paramsFull,
    wallSeconds: row.wallSeconds,
    attempts: row.attempts,
    ...(row.chosenLayers ? { chosenLayers: row.chosenLayers } : {}),
    ...(row.diverged ? { diverged: row.diverged } : {}),
    error: row.error,
  }));
}

function displayValue(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value === 'string') return oneLine(value);
  return String(value);
}

function rawValue(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}
