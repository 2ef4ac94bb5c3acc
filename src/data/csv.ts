/**
 * An RFC 4180 CSV reader: a header row names the columns; fields may be quoted with `"`
 * (a doubled `""` inside is one quote) and then contain delimiters and line breaks.
 * Lines end in LF or CRLF; a leading byte-order mark is dropped; a final empty line is
 * ignored. A row with a different number of fields than the header is an error.
 */
import { DataError } from './errors.js';
import type { DataRecord } from './types.js';

export interface CsvOptions {
  /** Field separator; default `,` (use `\t` for TSV). */
  delimiter?: string;
  /** Named in error messages. */
  source?: string;
}

/** Splits CSV text into rows of fields (no header handling). */
export function parseCsvRows(text: string, options: CsvOptions = {}): string[][] {
  const delimiter = options.delimiter ?? ',';
  const source = options.source ?? 'CSV input';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new DataError('bad-file', `CSV delimiter must be one character other than a quote or line break`);
  }
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let i = 0;
  const endField = (): void => {
    row.push(field);
    field = '';
  };
  const endRow = (): void => {
    endField();
    rows.push(row);
    row = [];
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === '"' && field === '') {
      // Quoted field: runs to the next lone quote.
      const startLine = line;
      i++;
      for (;;) {
        if (i >= input.length) {
          throw new DataError(
            'bad-file',
            `${source}: a quoted field opened on line ${startLine} is never closed`,
          );
        }
        const q = input[i]!;
        if (q === '"') {
          if (input[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      const after = input[i];
      if (after !== undefined && after !== delimiter && after !== '\n' && after !== '\r') {
        throw new DataError(
          'bad-file',
          `${source}, line ${line}: text after a closing quote; quote the whole field and double any quote inside it`,
        );
      }
      // An empty quoted field must still count as a field: mark it by pushing now if a delimiter/EOL follows.
      if (after === undefined) {
        endRow();
        break;
      }
      continue;
    }
    if (c === delimiter) {
      endField();
      i++;
    } else if (c === '\n' || c === '\r') {
      endRow();
      i += c === '\r' && input[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

/** Parses CSV text with a header row into records keyed by the header's column names. */
export function parseCsv(text: string, options: CsvOptions = {}): DataRecord[] {
  const source = options.source ?? 'CSV input';
  const rows = parseCsvRows(text, options);
  const header = rows[0];
  if (!header) return [];
  const records: DataRecord[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length === 1 && row[0] === '' && header.length > 1) continue; // blank line
    if (row.length !== header.length) {
      throw new DataError(
        'bad-file',
        `${source}: data row ${r} has ${row.length} fields but the header has ${header.length} (${header.join(', ')})`,
        'quote fields that contain the delimiter or line breaks',
      );
    }
    records.push(Object.fromEntries(header.map((name, i) => [name, row[i]!])));
  }
  return records;
}
