/**
 * Parquet files through `hyparquet` (snappy-compressed and uncompressed files, the kind the
 * Hugging Face hub serves). INT64 columns arrive as bigint; the record mapper converts them.
 */
import { readFile } from 'node:fs/promises';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { DataError } from './errors.js';
import type { DataRecord } from './types.js';

/** Column names of a parquet file's top-level schema. */
function topLevelColumns(file: ArrayBuffer): string[] {
  return parquetSchema(parquetMetadata(file)).children.map((child) => child.element.name);
}

/**
 * Reads the rows of a parquet file, keeping only `columns` when given; a missing column is
 * left out (the record mapper reports it with the columns present).
 */
export async function readParquetFile(
  path: string,
  columns?: string[],
): Promise<{ columns: string[]; rows: DataRecord[] }> {
  let file: ArrayBuffer;
  let present: string[];
  try {
    const bytes = await readFile(path);
    file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    present = topLevelColumns(file);
  } catch (error) {
    throw new DataError('bad-file', `cannot read parquet file ${path}: ${(error as Error).message}`);
  }
  const wanted = columns ? columns.filter((c) => present.includes(c)) : undefined;
  try {
    const rows = await parquetReadObjects({ file, columns: wanted });
    return { columns: present, rows };
  } catch (error) {
    throw new DataError(
      'bad-file',
      `cannot decode parquet file ${path}: ${(error as Error).message}`,
      'hyparquet reads uncompressed and snappy files; re-save others with snappy compression',
    );
  }
}
