/**
 * Maps raw records (rows of a file, a hub split, a table) onto a task's examples: finds
 * the column for each task field and for the label, converts values to strings, and turns
 * labels (class indices, class names or label words) into class indices.
 */
import { DataError } from './errors.js';
import type { TaskSpec } from './tasks.js';
import type { DataInput, DataRecord, Example, RecordTable } from './types.js';

export interface ColumnMapping {
  /** Task field → candidate column names; the first present is used. Default: the field's own name. */
  columns?: Record<string, readonly string[]>;
  /** Candidate label column names; default `['label']`. */
  labelColumn?: readonly string[];
  /** Where the rows came from, for messages (a file path, `train split of org/name`). */
  source?: string;
  /** All columns of the source when the rows hold only some of them (parquet read by column). */
  presentColumns?: readonly string[];
}

/** True for arquero-like tables (anything with an `objects()` method). */
export function isRecordTable(input: DataInput): input is RecordTable {
  return (
    typeof input === 'object' && !Array.isArray(input) && typeof (input as RecordTable).objects === 'function'
  );
}

/** The set of column names over the first rows (rows of a file share one schema). */
function columnsOf(records: readonly DataRecord[]): string[] {
  const names = new Set<string>();
  for (const record of records.slice(0, 100)) for (const key of Object.keys(record)) names.add(key);
  return [...names];
}

function pickColumn(
  present: string[],
  candidates: readonly string[],
  what: string,
  option: string,
  source: string,
): string {
  const found = candidates.find((c) => present.includes(c));
  if (found !== undefined) return found;
  throw new DataError(
    'missing-column',
    `${source} has no column ${candidates.map((c) => `'${c}'`).join(' or ')} for ${what}; its columns are: ${present.join(', ') || '(none)'}`,
    `name the column to use, e.g. ${option}`,
  );
}

/** The class index a raw label value stands for. */
export function labelIndex(task: TaskSpec, value: unknown, where: string): number {
  const count = task.labels.length;
  let index: number | undefined;
  if (typeof value === 'bigint') index = Number(value);
  else if (typeof value === 'number') index = value;
  else if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^-?\d+$/.test(trimmed)) index = Number(trimmed);
    else {
      const lower = trimmed.toLowerCase();
      index = task.labels.findIndex((label) => label.toLowerCase() === lower);
      if (index < 0) {
        index = task.labels.findIndex((label) =>
          (task.labelWords[label] ?? []).some((word) => word.trim().toLowerCase() === lower),
        );
      }
      if (index < 0) {
        throw new DataError(
          'bad-label',
          `${where}: label '${value}' is not a class of task '${task.name}' (${task.labels.join(', ')})`,
          'use class names, label words or class indices 0..' + (count - 1),
        );
      }
    }
  }
  if (index === undefined || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new DataError(
      'bad-label',
      `${where}: label ${String(value)} is not a class index of task '${task.name}' (0..${count - 1}: ${task.labels.join(', ')})`,
      index === -1
        ? 'a label of -1 marks unlabeled rows (e.g. a hidden test split); use a labeled split'
        : undefined,
    );
  }
  return index;
}

function textValue(value: unknown, where: string, column: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  throw new DataError(
    'missing-value',
    `${where}: column '${column}' has ${value === null || value === undefined ? 'no value' : 'a non-text value'}`,
    'drop or fill such rows before loading',
  );
}

/** Converts records to examples of `task`. */
export function recordsToExamples(
  task: TaskSpec,
  records: readonly DataRecord[],
  mapping: ColumnMapping = {},
): Example[] {
  const source = mapping.source ?? 'the data';
  if (records.length === 0) return [];
  const present = mapping.presentColumns ? [...mapping.presentColumns] : columnsOf(records);
  const fieldColumns = task.fields.map((field) => {
    const candidates = mapping.columns?.[field] ?? [field];
    return [
      field,
      pickColumn(present, candidates, `field '${field}'`, `columns: { ${field}: '<column>' }`, source),
    ] as const;
  });
  const labelColumn = pickColumn(
    present,
    mapping.labelColumn ?? ['label'],
    'the label',
    `labelColumn: '<column>'`,
    source,
  );
  return records.map((record, row) => {
    const where = `${source}, row ${row}`;
    const fields: Record<string, string> = {};
    for (const [field, column] of fieldColumns) fields[field] = textValue(record[column], where, column);
    return {
      text: fields[task.textField] ?? '',
      label: labelIndex(task, record[labelColumn], where),
      fields,
    };
  });
}
