/**
 * Reads a local data file into records, choosing the reader by extension:
 * `.csv`, `.tsv`, `.jsonl`/`.ndjson`, `.json` (an array of objects), `.parquet`.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseCsv } from './csv.js';
import { DataError } from './errors.js';
import { parseJsonArray, parseJsonl } from './jsonl.js';
import { readParquetFile } from './parquet.js';
import type { DataRecord } from './types.js';

export const dataFileExtensions = ['.csv', '.tsv', '.jsonl', '.ndjson', '.json', '.parquet'];

export async function readRecordsFile(path: string): Promise<DataRecord[]> {
  const ext = extname(path).toLowerCase();
  if (!dataFileExtensions.includes(ext)) {
    throw new DataError(
      'unsupported-format',
      `cannot read ${path}: unknown data file type '${ext || '(none)'}'`,
      `use one of ${dataFileExtensions.join(', ')}`,
    );
  }
  if (ext === '.parquet') return (await readParquetFile(path)).rows;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataError(
      'bad-file',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (ext === '.csv') return parseCsv(text, { source: path });
  if (ext === '.tsv') return parseCsv(text, { delimiter: '\t', source: path });
  if (ext === '.json') return parseJsonArray(text, path);
  return parseJsonl(text, path);
}
