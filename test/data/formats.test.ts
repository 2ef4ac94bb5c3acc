/** CSV, JSONL/JSON and parquet readers, and the file-type dispatch. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataError,
  parseCsv,
  parseCsvRows,
  parseJsonl,
  readParquetFile,
  readRecordsFile,
} from '../../src/data/index.js';
import { writeParquet } from './tiny-parquet.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layercut-formats-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('CSV: quoted fields keep commas, line breaks and doubled quotes; CRLF and BOM are handled', () => {
  const text =
    '\uFEFFsentence,label\r\n"great, really",1\r\n"line one\nline two",0\r\n"she said ""no""",0\r\nplain,1\r\n"",0\r\n';
  assert.deepEqual(parseCsv(text), [
    { sentence: 'great, really', label: '1' },
    { sentence: 'line one\nline two', label: '0' },
    { sentence: 'she said "no"', label: '0' },
    { sentence: 'plain', label: '1' },
    { sentence: '', label: '0' },
  ]);
  assert.deepEqual(parseCsvRows('a\tb\n1\t"x\ty"', { delimiter: '\t' }), [
    ['a', 'b'],
    ['1', 'x\ty'],
  ]);
  assert.deepEqual(parseCsvRows('a,b\n1,'), [
    ['a', 'b'],
    ['1', ''],
  ]);
});

test('CSV: wrong field counts and unclosed quotes are errors with the line', () => {
  assert.throws(
    () => parseCsv('text,label\nfine,1\nbroken, with comma,0\n', { source: 'train.csv' }),
    (e: unknown) =>
      e instanceof DataError &&
      e.kind === 'bad-file' &&
      e.message.startsWith('train.csv: data row 2 has 3 fields but the header has 2'),
  );
  assert.throws(
    () => parseCsv('text,label\n"open,1\nmore,0\n', { source: 'x.csv' }),
    (e: unknown) =>
      e instanceof DataError && e.message === 'x.csv: a quoted field opened on line 2 is never closed',
  );
  assert.throws(
    () => parseCsv('text,label\n"quoted"tail,1\n'),
    (e: unknown) => e instanceof DataError && e.message.includes('line 2: text after a closing quote'),
  );
});

test('JSONL: one object per line, blank lines skipped, bad lines named', () => {
  assert.deepEqual(parseJsonl('{"text":"a","label":0}\n\n{"text":"b","label":1}\n'), [
    { text: 'a', label: 0 },
    { text: 'b', label: 1 },
  ]);
  assert.throws(
    () => parseJsonl('{"text":"a"}\n{oops}\n', 'd.jsonl'),
    (e: unknown) => e instanceof DataError && e.message.startsWith('d.jsonl, line 2: not valid JSON'),
  );
  assert.throws(
    () => parseJsonl('[1,2]\n', 'd.jsonl'),
    (e: unknown) => e instanceof DataError && e.message === 'd.jsonl, line 1: expected a JSON object',
  );
});

test('parquet: reads string and int64 columns, optionally only some columns', async () => {
  const path = join(dir, 'tiny.parquet');
  await writeFile(
    path,
    writeParquet({ sentence: ['good film', 'bad film', 'ünïcode ✓'], label: [1, 0, 1], idx: [10, 11, 12] }),
  );
  const all = await readParquetFile(path);
  assert.deepEqual(all.columns, ['sentence', 'label', 'idx']);
  assert.deepEqual(all.rows[2], { sentence: 'ünïcode ✓', label: 1n, idx: 12n });
  const some = await readParquetFile(path, ['sentence', 'absent']);
  assert.deepEqual(some.rows, [
    { sentence: 'good film' },
    { sentence: 'bad film' },
    { sentence: 'ünïcode ✓' },
  ]);
  await writeFile(join(dir, 'broken.parquet'), 'not parquet at all');
  await assert.rejects(
    readParquetFile(join(dir, 'broken.parquet')),
    (e: unknown) => e instanceof DataError && e.kind === 'bad-file',
  );
});

test('readRecordsFile picks the reader by extension', async () => {
  await writeFile(join(dir, 'a.csv'), 'text,label\nx,0\n');
  await writeFile(join(dir, 'a.tsv'), 'text\tlabel\nx, y\t1\n');
  await writeFile(join(dir, 'a.jsonl'), '{"text":"x","label":0}\n');
  await writeFile(join(dir, 'a.json'), '[{"text":"x","label":0}]');
  await writeFile(join(dir, 'a.parquet'), writeParquet({ text: ['x'], label: [0] }));
  assert.deepEqual(await readRecordsFile(join(dir, 'a.csv')), [{ text: 'x', label: '0' }]);
  assert.deepEqual(await readRecordsFile(join(dir, 'a.tsv')), [{ text: 'x, y', label: '1' }]);
  assert.deepEqual(await readRecordsFile(join(dir, 'a.jsonl')), [{ text: 'x', label: 0 }]);
  assert.deepEqual(await readRecordsFile(join(dir, 'a.json')), [{ text: 'x', label: 0 }]);
  assert.deepEqual(await readRecordsFile(join(dir, 'a.parquet')), [{ text: 'x', label: 0n }]);
  await assert.rejects(
    readRecordsFile(join(dir, 'a.xlsx')),
    (e: unknown) =>
      e instanceof DataError && e.kind === 'unsupported-format' && e.message.includes("'.xlsx'"),
  );
  await assert.rejects(
    readRecordsFile(join(dir, 'missing.csv')),
    (e: unknown) => e instanceof DataError && e.kind === 'bad-file' && e.message.includes('ENOENT'),
  );
});
