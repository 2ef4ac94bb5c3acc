/** loadDataset / datasetFromRecords from local files, records and tables: column and label mapping, errors. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, datasetFromRecords, getTask, loadDataset } from '../../src/data/index.js';
import type { TaskSpec } from '../../src/data/index.js';
import { writeParquet } from './tiny-parquet.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layercut-load-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('sst2 from a CSV train file and a parquet test file, with the sst2 column names', async () => {
  const train = join(dir, 'train.csv');
  const test_ = join(dir, 'test.parquet');
  await writeFile(train, 'sentence,label\n"a gripping, tender film",1\nflat and dull,0\n');
  await writeFile(test_, writeParquet({ sentence: ['wonderful'], label: [1] }));
  const data = await loadDataset('sst2', { data: { train, test: test_ } });
  assert.equal(data.task.name, 'sst2');
  assert.deepEqual(data.train, [
    { text: 'a gripping, tender film', label: 1, fields: { text: 'a gripping, tender film' } },
    { text: 'flat and dull', label: 0, fields: { text: 'flat and dull' } },
  ]);
  assert.deepEqual(data.test, [{ text: 'wonderful', label: 1, fields: { text: 'wonderful' } }]);
});

test('labels may be class indices, class names or label words', () => {
  const data = datasetFromRecords(
    'agnews',
    [
      { text: 'a', label: 3 },
      { text: 'b', label: 'sports' },
      { text: 'c', label: ' Business' },
      { text: 'd', label: 'WORLD' },
      { text: 'e', label: '2' },
      { text: 'f', label: 1n },
    ],
    [],
  );
  assert.deepEqual(
    data.train.map((e) => e.label),
    [3, 1, 2, 0, 2, 1],
  );
});

test('bad labels are errors naming the row and the classes', () => {
  assert.throws(
    () =>
      datasetFromRecords(
        'sst2',
        [
          { text: 'a', label: 0 },
          { text: 'b', label: 'neutral' },
        ],
        [],
      ),
    (e: unknown) =>
      e instanceof DataError &&
      e.kind === 'bad-label' &&
      e.message.startsWith(
        "the train records, row 1: label 'neutral' is not a class of task 'sst2' (negative, positive)",
      ),
  );
  assert.throws(
    () => datasetFromRecords('sst2', [], [{ text: 'a', label: -1 }]),
    (e: unknown) =>
      e instanceof DataError &&
      e.message.includes('label -1 is not a class index') &&
      e.message.includes('unlabeled'),
  );
  assert.throws(
    () => datasetFromRecords('trec', [{ text: 'a', label: 6 }], []),
    (e: unknown) => e instanceof DataError && e.message.includes('(0..5: abbreviation, entity'),
  );
});

test('a missing column is an error listing the columns present', async () => {
  const path = join(dir, 'reviews.jsonl');
  await writeFile(path, '{"review":"fine","stars":1}\n');
  await assert.rejects(
    loadDataset('sst2', { data: { train: path, test: path } }),
    (e: unknown) =>
      e instanceof DataError &&
      e.kind === 'missing-column' &&
      e.message ===
        `${path} has no column 'sentence' or 'text' for field 'text'; its columns are: review, stars\n  hint: name the column to use, e.g. columns: { text: '<column>' }`,
  );
  await assert.rejects(
    loadDataset('sst2', { data: { train: path, test: path }, columns: { text: 'review' } }),
    (e: unknown) =>
      e instanceof DataError &&
      e.message.startsWith(`${path} has no column 'label' for the label; its columns are: review, stars`),
  );
  const data = await loadDataset('sst2', {
    data: { train: path, test: path },
    columns: { text: 'review' },
    labelColumn: 'stars',
  });
  assert.deepEqual(data.train, [{ text: 'fine', label: 1, fields: { text: 'fine' } }]);
});

test('a row without text is an error; table-like inputs (objects()) are accepted', async () => {
  assert.throws(
    () => datasetFromRecords('sst2', [{ text: null, label: 0 }], []),
    (e: unknown) =>
      e instanceof DataError &&
      e.kind === 'missing-value' &&
      e.message.includes("row 0: column 'text' has no value"),
  );
  const table = { objects: () => [{ text: 'from a table', label: 'positive' }] };
  const data = await loadDataset('sst2', { data: { train: table, test: [] } });
  assert.deepEqual(data.train, [{ text: 'from a table', label: 1, fields: { text: 'from a table' } }]);
  assert.deepEqual(data.test, []);
});

test('a task with several fields and a files source', async () => {
  const task: TaskSpec = {
    ...getTask('sst2'),
    name: 'pairs',
    fields: ['premise', 'hypothesis'],
    textField: 'premise',
    template: 'Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:{label}',
    source: {
      kind: 'files',
      train: join(dir, 'pairs.csv'),
      test: join(dir, 'pairs.csv'),
      columns: { hypothesis: ['h'] },
    },
  };
  await writeFile(join(dir, 'pairs.csv'), 'premise,h,label\nit rains,the ground is wet,positive\n');
  const data = await loadDataset(task);
  assert.deepEqual(data.train[0], {
    text: 'it rains',
    label: 1,
    fields: { premise: 'it rains', hypothesis: 'the ground is wet' },
  });
});
