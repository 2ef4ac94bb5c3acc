/**
 * Task data from Hugging Face datasets, against a loopback hub serving parquet files in the
 * hub's layouts (data/{split}-NNNNN-of-NNNNN.parquet on main; {config}/{split}/NNNN.parquet
 * on refs/convert/parquet).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DataError, loadDataset, selectSplitFiles } from '../../src/data/index.js';
import { HubError } from '../../src/hub/index.js';
import type { HubSettings } from '../../src/hub/index.js';
import { LoopbackHub } from '../helpers/hub-server.js';
import { writeParquet } from './tiny-parquet.js';

for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_HUB_OFFLINE', 'HF_ENDPOINT'])
  delete process.env[name];

let hub: LoopbackHub;
let root: string;
let settings: Partial<HubSettings>;

async function writeTree(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layercut-hubdata-'));
  hub = await LoopbackHub.start();
  // SST-2 as pushed with `datasets`: two train shards, validation, an unlabeled test split.
  await writeTree(join(root, 'sst2'), {
    'README.md': '# sst2 mini',
    'data/train-00000-of-00002.parquet': writeParquet({
      idx: [0, 1],
      sentence: ['a joy', 'a bore'],
      label: [1, 0],
    }),
    'data/train-00001-of-00002.parquet': writeParquet({ idx: [2], sentence: ['moving'], label: [1] }),
    'data/validation-00000-of-00001.parquet': writeParquet({ idx: [0], sentence: ['dull'], label: [0] }),
    'data/test-00000-of-00001.parquet': writeParquet({ idx: [0], sentence: ['hidden'], label: [-1] }),
  });
  hub.serve({ repoType: 'dataset', repo: 'org/sst2-mini', dir: join(root, 'sst2') });
  // TREC as a script dataset: parquet only on the hub's conversion branch.
  await writeTree(join(root, 'trec-main'), { 'README.md': '# trec', 'trec.py': '# loading script' });
  await writeTree(join(root, 'trec-parquet'), {
    'default/train/0000.parquet': writeParquet({
      text: ['Who wrote Hamlet ?', 'What does NASA stand for ?'],
      coarse_label: [3, 0],
      fine_label: [29, 1],
    }),
    'default/test/0000.parquet': writeParquet({
      text: ['Where is Rome ?'],
      coarse_label: [4],
      fine_label: [32],
    }),
  });
  hub.serve({ repoType: 'dataset', repo: 'org/trec-mini', dir: join(root, 'trec-main') });
  hub.serve({
    repoType: 'dataset',
    repo: 'org/trec-mini',
    dir: join(root, 'trec-parquet'),
    revision: 'refs/convert/parquet',
  });
  // A dataset whose columns do not fit the task.
  await writeTree(join(root, 'odd'), {
    'data/train.parquet': writeParquet({ review: ['x'], stars: [1] }),
    'data/validation.parquet': writeParquet({ review: ['y'], stars: [0] }),
  });
  hub.serve({ repoType: 'dataset', repo: 'org/odd', dir: join(root, 'odd') });
});

after(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  const cache = await mkdtemp(join(root, 'cache-'));
  settings = {
    endpoint: hub.url,
    cacheDir: join(cache, 'hub'),
    layercutCacheDir: join(cache, 'layercut'),
    offline: false,
  };
  hub.reset();
});

describe('hub datasets', () => {
  test('sst2: train shards in order, validation serves as test, cached for the next load', async () => {
    const data = await loadDataset('sst2', { repo: 'org/sst2-mini', hub: settings });
    assert.deepEqual(
      data.train.map((e) => [e.text, e.label]),
      [
        ['a joy', 1],
        ['a bore', 0],
        ['moving', 1],
      ],
    );
    assert.deepEqual(
      data.test.map((e) => [e.text, e.label]),
      [['dull', 0]],
    );
    assert.equal(hub.requestsMatching('/datasets/org/sst2-mini/resolve/').length, 3);
    assert.equal(hub.requestsMatching('test-00000').length, 0, 'the unlabeled test split is not downloaded');

    hub.requests.length = 0;
    const again = await loadDataset('sst2', { repo: 'org/sst2-mini', hub: settings });
    assert.equal(hub.requests.length, 0, 'second load makes no request');
    assert.deepEqual(again.train, data.train);

    const offline = await loadDataset('sst2', { repo: 'org/sst2-mini', hub: { ...settings, offline: true } });
    assert.deepEqual(offline.test, data.test);
    assert.equal(hub.requests.length, 0);
  });

  test('trec: falls back to refs/convert/parquet and reads coarse_label', async () => {
    const data = await loadDataset('trec', { repo: 'org/trec-mini', hub: settings });
    assert.deepEqual(
      data.train.map((e) => [e.text, e.label]),
      [
        ['Who wrote Hamlet ?', 3],
        ['What does NASA stand for ?', 0],
      ],
    );
    assert.deepEqual(data.test[0], {
      text: 'Where is Rome ?',
      label: 4,
      fields: { text: 'Where is Rome ?' },
    });
    assert.ok(
      hub.requestsMatching('/resolve/refs%2Fconvert%2Fparquet/').length === 0,
      'files are fetched by commit',
    );
    assert.equal(
      hub.requestsMatching(`/resolve/${hub.commitOf('dataset', 'org/trec-mini', 'refs/convert/parquet')}/`)
        .length,
      2,
    );
  });

  test('offline without a cache, missing splits and columns are clear errors', async () => {
    await assert.rejects(
      loadDataset('sst2', { repo: 'org/sst2-mini', hub: { ...settings, offline: true } }),
      (e: unknown) =>
        e instanceof HubError &&
        e.kind === 'offline-miss' &&
        e.message.includes("dataset repository 'org/sst2-mini'"),
    );
    assert.equal(hub.requests.length, 0);
    await assert.rejects(
      loadDataset('emoc', { repo: 'org/odd', hub: settings }),
      (e: unknown) =>
        e instanceof DataError &&
        e.kind === 'missing-column' &&
        e.message.startsWith(
          "split 'train' of dataset 'org/odd' has no column 'text' for field 'text'; its columns are: review, stars",
        ),
    );
    await assert.rejects(
      loadDataset('emoc', {
        repo: 'org/odd',
        hub: settings,
        columns: { text: 'review' },
        labelColumn: 'stars',
      }),
      (e: unknown) =>
        e instanceof DataError &&
        e.message ===
          "dataset 'org/odd' has no parquet files for split 'test' (looked at revisions main)\n  hint: its parquet files: data/train.parquet, data/validation.parquet",
    );
    await assert.rejects(
      loadDataset('emoc', { repo: 'org/trec-mini', hub: settings, config: 'emo2019' }),
      (e: unknown) =>
        e instanceof DataError &&
        e.kind === 'no-split' &&
        e.message.includes("split 'train' in config 'emo2019'") &&
        e.message.includes('main, refs/convert/parquet') &&
        e.message.includes('default/train/0000.parquet'),
    );
    await assert.rejects(
      loadDataset('sst2', { repo: 'org/missing', hub: settings }),
      (e: unknown) =>
        e instanceof HubError &&
        e.kind === 'repo-not-found' &&
        e.message.includes("dataset repository 'org/missing'"),
    );
  });
});

describe('hub datasets from a hostile mirror', () => {
  const LIMIT = { timeout: 10_000 };

  test('a listed split file whose path climbs out of the snapshot is refused', LIMIT, async () => {
    const bad = 'data/../../../../train-00000-of-00001.parquet';
    hub.hostile.listing = (entries) =>
      entries.map((e) => (e.path.startsWith('data/train-00000') ? { ...e, path: bad } : e));
    await assert.rejects(
      loadDataset('sst2', { repo: 'org/sst2-mini', hub: settings }),
      (e: unknown) =>
        e instanceof HubError &&
        e.kind === 'unsafe-path' &&
        e.message.includes(`${hub.url}/api/datasets/org/sst2-mini/tree/`) &&
        e.message.includes(JSON.stringify(bad)),
    );
    assert.equal(hub.requestsMatching('/resolve/').length, 0, 'nothing was downloaded');
  });

  test('a stalled conversion-branch listing is a timeout, not a missing split', LIMIT, async () => {
    hub.stall(`/revision/${encodeURIComponent('refs/convert/parquet')}`);
    await assert.rejects(
      loadDataset('trec', { repo: 'org/trec-mini', hub: { ...settings, etagTimeoutSeconds: 0.3 } }),
      (e: unknown) =>
        e instanceof HubError &&
        e.kind === 'timeout' &&
        e.message.includes('refs%2Fconvert%2Fparquet') &&
        e.message.includes('HF_HUB_ETAG_TIMEOUT'),
    );
    // Once the mirror answers, the same load succeeds.
    const data = await loadDataset('trec', { repo: 'org/trec-mini', hub: settings });
    assert.equal(data.train.length, 2);
  });
});

describe('selectSplitFiles', () => {
  const paths = [
    'README.md',
    'data/test-00000-of-00001.parquet',
    'data/train-00001-of-00002.parquet',
    'data/train-00000-of-00002.parquet',
    'data/validation-00000-of-00001.parquet',
  ];
  test('recognises the hub layouts', () => {
    assert.deepEqual(selectSplitFiles(paths, 'train'), [
      'data/train-00000-of-00002.parquet',
      'data/train-00001-of-00002.parquet',
    ]);
    assert.deepEqual(selectSplitFiles(paths, 'validation'), ['data/validation-00000-of-00001.parquet']);
    assert.deepEqual(
      selectSplitFiles(['default/train/0000.parquet', 'default/partial-train/0000.parquet'], 'train'),
      ['default/train/0000.parquet'],
    );
    assert.deepEqual(selectSplitFiles(['train.parquet', 'test.parquet'], 'test'), ['test.parquet']);
    assert.deepEqual(selectSplitFiles(['emo2019/train/0000.parquet'], 'train'), [
      'emo2019/train/0000.parquet',
    ]);
  });
  test('several configs: default wins, else the config must be named', () => {
    const multi = ['cola/train/0000.parquet', 'sst2/train/0000.parquet'];
    assert.deepEqual(selectSplitFiles(multi, 'train', 'sst2'), ['sst2/train/0000.parquet']);
    assert.deepEqual(selectSplitFiles([...multi, 'default/train/0000.parquet'], 'train'), [
      'default/train/0000.parquet',
    ]);
    assert.throws(
      () => selectSplitFiles(multi, 'train', undefined, "dataset 'glue'"),
      (e: unknown) =>
        e instanceof DataError &&
        e.message ===
          "dataset 'glue' has split 'train' in several configs: cola, sst2\n  hint: choose one with the `config` option",
    );
  });
});
