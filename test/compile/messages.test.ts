/**
 * What the compiler's messages show of a value: NaN and ±Infinity as themselves (JSON would
 * say null), and an experiment file that fails to import with its whole error (esbuild's
 * "Transform failed with 1 error:" says nothing until the line after it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { adamw, experiment, keepFirst, sgd, tasks } from '../../dsl/index.js';
import { compileFile } from '../../src/compile/file.js';
import { compileValues } from '../../src/compile/compile.js';
import { show } from '../../src/compile/shape.js';
import { main } from '../../src/cli.js';
import { captured } from '../helpers/console.js';
import { offlineCatalog, repoRoot } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-messages-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('show: NaN and ±Infinity as themselves, at the top and inside objects and lists', () => {
  assert.equal(show(NaN), 'NaN');
  assert.equal(show(-Infinity), '-Infinity');
  assert.equal(show({ lr: NaN, betas: [0.9, Infinity] }), '{"lr":NaN,"betas":[0.9,Infinity]}');
  assert.equal(show('NaN'), '"NaN"', 'a string stays a string');
  assert.equal(show(5e-5), '0.00005');
});

test('an experiment with lr NaN, Infinity or keepFirst(NaN) is refused with the value as written', async () => {
  const model = { kind: 'hub', repo: 'openai-community/gpt2' } as const;
  const { issues } = await compileValues(
    [
      {
        name: 'nanLr',
        value: experiment({ model, task: tasks.sst2, train: { optimizer: adamw({ lr: NaN }) } }),
      },
      {
        name: 'infiniteLr',
        value: experiment({ model, task: tasks.sst2, train: { optimizer: sgd({ lr: Infinity }) } }),
      },
      { name: 'nanLayers', value: experiment({ model, task: tasks.sst2, layers: keepFirst(NaN) }) },
    ],
    { catalog: offlineCatalog() },
  );
  const messages = issues.map((issue) => `${issue.exportName}: ${issue.message}`);
  assert.ok(
    messages.includes('nanLr: the learning rate must be a positive number, got NaN'),
    messages.join('\n'),
  );
  assert.ok(
    messages.includes('infiniteLr: the learning rate must be a positive number, got Infinity'),
    messages.join('\n'),
  );
  assert.ok(
    messages.includes('nanLayers: keepFirst needs a whole number of layers (0 or more), got NaN'),
    messages.join('\n'),
  );
  assert.ok(!messages.some((m) => m.includes('got null')), messages.join('\n'));
});

test('a syntax error in an experiment file: the whole esbuild error, indented under the first line', async () => {
  const file = path.join(dir, 'broken.ts');
  writeFileSync(
    file,
    `import { experiment } from ${JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'))};\nexport const x = experiment({ model: ;\n`,
  );
  await assert.rejects(compileFile(file), (error: Error) => {
    assert.equal(
      error.message,
      `${file}:2:37 importing the experiment file failed: Transform failed with 1 error:\n    ${file}:2:37: ERROR: Unexpected ";"`,
    );
    return true;
  });
  const { code, err } = await captured(() => main(['run', file, '--db', path.join(dir, 'never.db')]));
  assert.equal(code, 2);
  assert.match(err, /Transform failed with 1 error:\n {4}.*broken\.ts:2:37: ERROR: Unexpected ";"/);
});
