/**
 * The shapes data takes after loading: examples with a text, a class index and the
 * task's fields, grouped into a train and a test split.
 */
import type { TaskSpec } from './tasks.js';

export interface Example {
  /** The task's main text (`fields[task.textField]`). */
  text: string;
  /** Class index into `task.labels`. */
  label: number;
  /** Every task field by name (includes the text field), for filling templates. */
  fields: Record<string, string>;
}

export interface Dataset {
  task: TaskSpec;
  train: Example[];
  test: Example[];
}

/** A raw row before it is mapped onto a task: column name → value. */
export type DataRecord = Record<string, unknown>;

/** Anything table-like that yields rows, e.g. an arquero table. */
export interface RecordTable {
  objects(): DataRecord[];
}

/** Raw data for one split: a file path (.csv .tsv .jsonl .json .parquet), rows, or a table. */
export type DataInput = string | readonly DataRecord[] | RecordTable;
