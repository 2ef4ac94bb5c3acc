/**
 * A sweep stops when the same deterministic error repeats: three runs in a row failing with one
 * error stop `layercut run` (exit 1, the reason printed), and the runs not tried stay to do.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli.js';
import { RepeatedFailureStop } from '../../src/cli/repeated-failures.js';
import { ExitCode } from '../../src/errors.js';
import { openStoreReadOnly } from '../../src/results/store.js';
import { captured } from '../helpers/console.js';
import { repoRoot } from '../compile/helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'layercut-repeated-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the guard: three failures in a row with one error abort; a success, another error or a retry resets or is ignored', () => {
  const stop = new RepeatedFailureStop();
  const fail = (id: string, error: string, retry?: boolean) =>
    stop.handle({ kind: 'failed', id, error, ...(retry === undefined ? {} : { retry }) });
  fail('a', 'no weights\n  hint: download them');
  fail('b', 'no weights');
  stop.handle({ kind: 'done', id: 'c' });
  fail('d', 'no weights');
  fail('e', 'out of memory');
  fail('f', 'no weights');
  fail('g', 'no weights', true); // goes back to the queue for another attempt: not a final failure
  fail('h', 'no weights');
  assert.equal(stop.signal.aborted, false);
  fail('i', 'no weights');
  assert.equal(stop.signal.aborted, true);
  assert.deepEqual(stop.stopped, { error: 'no weights', ids: ['f', 'h', 'i'] });
  assert.match(stop.report(), /^layercut run: stopped: 3 runs in a row failed with the same error/);
});

test('layercut run stops after three runs fail with the same error; the rest stay to do', async () => {
  // A model folder with its config and tokenizer but no weights: compiles, and every run fails alike.
  const model = path.join(tmp, 'no-weights');
  mkdirSync(model);
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
    copyFileSync(path.join(repoRoot, 'models', 'tiny-english', file), path.join(model, file));
  const file = path.join(tmp, 'sweep.ts');
  writeFileSync(
    file,
    `import { experiment, local, sweep, tasks, verbalizer } from ${JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'))};
export const seeds = sweep(
  experiment({
    model: local(${JSON.stringify(model)}),
    task: tasks.spam,
    words: verbalizer(tasks.spam, { ham: ' ham', spam: ' spam' }, { scoring: 'mean' }),
    data: { trainPerClass: 4, demosPerClass: 0, validation: 4, test: 8, maxLength: 32 },
    train: { epochs: 1 },
    backend: 'cpu',
  }),
  { seed: [0, 1, 2, 3, 4, 5] },
);
`,
  );
  const db = path.join(tmp, 'runs.db');
  const { code, err } = await captured(() => main(['run', file, '--db', db]));
  assert.equal(code, ExitCode.failed, err);
  assert.match(
    err,
    /layercut run: stopped: 3 runs in a row failed with the same error, so the others would too:\n {2}.*safetensors/,
  );
  const store = openStoreReadOnly(db);
  try {
    assert.deepEqual(store.counts(), { queued: 3, running: 0, done: 0, failed: 3 });
  } finally {
    store.close();
  }
});
