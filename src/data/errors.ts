/**
 * The one error type of the data loaders and samplers. Each has a `kind` (tests and
 * callers branch on it); the message names the file, column or class at fault.
 */
import { LayercutError } from '../errors.js';

export type DataErrorKind =
  /** A column the task needs is absent; the message lists the columns present. */
  | 'missing-column'
  /** A row's label is not one of the task's classes (or out of range). */
  | 'bad-label'
  /** A row lacks a value for a text column. */
  | 'missing-value'
  /** A file could not be read or parsed (CSV, JSONL, parquet). */
  | 'bad-file'
  /** A file extension no loader reads. */
  | 'unsupported-format'
  /** The hub repository has no parquet files for the requested split. */
  | 'no-split'
  /** The data is too small for the requested sample (e.g. a class without examples). */
  | 'too-small';

export class DataError extends LayercutError {
  override name = 'DataError';
  constructor(
    readonly kind: DataErrorKind,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}
