/**
 * Names and tags of runs (not part of their ids), kept in the results store and filterable, and
 * `layercut forget <file> --stale` for the runs an older version of a file left behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { experiment, hf, keepFirst, sweep, tasks } from '../../dsl/index.js';
import { main } from '../../src/cli.js';
import { compileValues } from '../../src/compile/compile.js';
import { compileFile } from '../../src/compile/file.js';
import { filterRows, parseFilters, runRows } from '../../src/results/rows.js';
import { openStore, openStoreReadOnly } from '../../src/results/store.js';
import { captured } from '../helpers/console.js';
import { fakeResult } from '../results/fake-runs.js';
import { offlineCatalog, repoRoot } from '../compile/helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'layercut-labels-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const gpt2 = hf('openai-community/gpt2');

test('name and tags: in the plan’s labels, not in its id; a sweep’s name wins, tags add up', async () => {
  const base = experiment({ model: gpt2, task: tasks.sst2, name: 'base', tags: ['gpt2'] });
  const labeled = sweep(
    base,
    { layers: [1, 2].map(keepFirst) },
    { name: 'depths', tags: ['ablation', 'gpt2'] },
  );
  const plain = sweep(experiment({ model: gpt2, task: tasks.sst2 }), { layers: [1, 2].map(keepFirst) });
  const [a, b] = await Promise.all(
    [labeled, plain].map((value) => compileValues([{ name: 'x', value }], { catalog: offlineCatalog() })),
  );
  assert.deepEqual(a!.issues, []);
  assert.deepEqual(
    a!.runs.map((r) => r.plan.labels),
    [
      { name: 'depths', tags: ['ablation', 'gpt2'] },
      { name: 'depths', tags: ['ablation', 'gpt2'] },
    ],
  );
  assert.deepEqual(
    a!.runs.map((r) => r.id),
    b!.runs.map((r) => r.id),
    'labels are not part of the id',
  );
  const bad = await compileValues(
    [
      {
        name: 'x',
        value: experiment({ model: gpt2, task: tasks.sst2, tags: ['', 3] as unknown as string[] }),
      },
    ],
    { catalog: offlineCatalog() },
  );
  assert.deepEqual(
    bad.issues.map((i) => i.message),
    ['tags must be a list of non-empty strings, got ["",3]'],
  );
});

test('the store keeps the latest name and tags and every file; results filter by name and by one tag', async () => {
  const db = path.join(tmp, 'labels.db');
  const first = await compileValues(
    [
      {
        name: 'x',
        value: sweep(
          experiment({ model: gpt2, task: tasks.sst2 }),
          { seed: [0, 1] },
          { name: 'old', tags: ['a'] },
        ),
      },
    ],
    { catalog: offlineCatalog() },
  );
  const again = await compileValues(
    [
      {
        name: 'x',
        value: sweep(
          experiment({ model: gpt2, task: tasks.sst2 }),
          { seed: [0] },
          { name: 'new', tags: ['b', 'c'] },
        ),
      },
    ],
    { catalog: offlineCatalog() },
  );
  const store = openStore(db);
  try {
    store.enqueue(first.runs.map((r) => ({ ...r.plan, labels: { ...r.plan.labels, files: ['/x/a.ts'] } })));
    store.enqueue(again.runs.map((r) => ({ ...r.plan, labels: { ...r.plan.labels, files: ['/x/b.ts'] } })));
    assert.deepEqual(
      store.list().map((r) => r.plan.labels),
      [
        { name: 'new', tags: ['b', 'c'], files: ['/x/a.ts', '/x/b.ts'] },
        { name: 'old', tags: ['a'], files: ['/x/a.ts'] },
      ],
    );
    const rows = runRows(store.list());
    assert.deepEqual(
      filterRows(rows, parseFilters(['tags=c'])).map((r) => r.seed),
      [0],
    );
    assert.deepEqual(
      filterRows(rows, parseFilters(['name=old'])).map((r) => r.seed),
      [1],
    );
    assert.deepEqual(
      filterRows(rows, parseFilters(['tags=a', 'tags=b'])).map((r) => r.seed),
      [0, 1],
    );
  } finally {
    store.close();
  }
});

test('forget --stale lists the runs a file no longer defines, removes them only with --yes, keeps shared ones', async () => {
  const file = path.join(tmp, 'study.ts');
  const other = path.join(tmp, 'other.ts');
  const dsl = JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'));
  const write = (target: string, seeds: number[]): void =>
    writeFileSync(
      target,
      `import { experiment, hf, sweep, tasks } from ${dsl};\nexport const study = sweep(experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2 }), { seed: ${JSON.stringify(seeds)} });\n`,
    );
  write(file, [0, 1, 2, 3]);
  write(other, [3]);
  const db = path.join(tmp, 'forget.db');
  const v1 = await compileFile(file, { catalog: offlineCatalog() });
  const shared = await compileFile(other, { catalog: offlineCatalog() });
  const store = openStore(db);
  store.enqueue(v1.runs.map((r) => r.plan));
  store.enqueue(shared.runs.map((r) => r.plan));
  const seed2 = v1.runs[2]!;
  store.markRunning(seed2.id);
  store.finish(seed2.id, fakeResult(seed2.plan, { accuracy: 0.9 }));
  store.close();

  write(file, [0, 1]); // the file no longer has seeds 2 and 3
  const dry = await captured(() => main(['forget', file, '--stale', '--db', db]));
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /: 2 run\(s\) now; .* holds 4 run\(s\) it defined, 2 of them no longer/);
  assert.match(
    dry.out,
    new RegExp(
      `would be forgotten \\(add --yes\\):\\n {2}${seed2.id} {2}done .*seed 2 · test accuracy 90\\.0%`,
    ),
  );
  assert.match(dry.out, new RegExp(`kept \\(another file defines them too\\):\\n {2}${v1.runs[3]!.id} `));
  const counted = (): number => {
    const reader = openStoreReadOnly(db);
    try {
      return reader.list().length;
    } finally {
      reader.close();
    }
  };
  assert.equal(counted(), 4, 'a dry run changes nothing');

  const real = await captured(() => main(['forget', file, '--stale', '--db', db, '--yes']));
  assert.equal(real.code, 0, real.err);
  assert.match(real.out, /1 run\(s\) removed from/);
  const reader = openStoreReadOnly(db);
  try {
    assert.deepEqual(
      reader.list().map((r) => r.plan.seed),
      [0, 1, 3],
    );
  } finally {
    reader.close();
  }
  const noFlag = await captured(() => main(['forget', file, '--db', db]));
  assert.equal(noFlag.code, 2);
});
