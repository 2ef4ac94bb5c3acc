/**
 * JSON Lines: one JSON object per line; blank lines are skipped. Also plain JSON files
 * holding an array of objects.
 */
import { DataError } from './errors.js';
import type { DataRecord } from './types.js';

function isRecord(value: unknown): value is DataRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSONL text; `source` is named in errors (with the line number). */
export function parseJsonl(text: string, source = 'JSONL input'): DataRecord[] {
  const records: DataRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DataError(
        'bad-file',
        `${source}, line ${i + 1}: not valid JSON (${(error as Error).message})`,
      );
    }
    if (!isRecord(value)) throw new DataError('bad-file', `${source}, line ${i + 1}: expected a JSON object`);
    records.push(value);
  }
  return records;
}

/** Parses a JSON array of objects. */
export function parseJsonArray(text: string, source = 'JSON input'): DataRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError('bad-file', `${source}: not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value) || !value.every(isRecord)) {
    throw new DataError(
      'bad-file',
      `${source}: expected a JSON array of objects`,
      'use JSON Lines (.jsonl) for one object per line',
    );
  }
  return value;
}
