/**
 * `layercut run` as a user meets it: usage and compile errors (exit 2), a run that fails
 * (exit 1, the others still in the table), a process killed with SIGKILL half-way through a
 * sweep and run again (every run exactly once, with a result), and Ctrl-C (exit 130, the run
 * put back, a second command completes the sweep).
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli.js';
import { openStoreReadOnly } from '../../src/results/store.js';
import { layercutBin, repoRoot, testFolder, writeTinyExperiment } from './helpers.js';
import { captured } from '../helpers/console.js';
import { spawnNode, type Owner, type SpawnedCommand } from '../helpers/spawn.js';

const { dir, cache } = testFolder('layercut-run-cli-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `layercut run <args>` (plain progress lines: stderr is a pipe); it ends with test `t`. */
function layercutRun(t: Owner, args: string[]): SpawnedCommand {
  return spawnNode(t, [layercutBin, 'run', ...args], {
    cwd: dir,
    env: { LAYERCUT_CACHE: cache },
    name: 'layercut run',
  });
}

/** Ids in the order runs started, from a command's stderr. */
const startedIds = (stderr: string): string[] =>
  [...stderr.matchAll(/^\[\d+\/\d+\] start ([0-9a-f]{16})/gm)].map((m) => m[1]!);

describe('layercut run', { timeout: 120_000 }, () => {
  test('usage mistakes and a file with errors exit with 2', async () => {
    assert.equal((await captured(() => main(['run']))).code, 2);
    const twoFiles = await captured(() => main(['run', 'a.ts', 'b.ts']));
    assert.equal(twoFiles.code, 2);
    assert.match(twoFiles.err, /one file at a time/);
    const backend = await captured(() => main(['run', 'a.ts', '--backend', 'gpu']));
    assert.equal(backend.code, 2);
    assert.match(backend.err, /unknown backend 'gpu'/);
    const mistakes = await captured(() =>
      main(['run', path.join(repoRoot, 'test/fixtures/dsl/runtime-mistakes.ts')]),
    );
    assert.equal(mistakes.code, 2);
    assert.match(mistakes.err, /runtime-mistakes\.ts:11:12 template .*unknown field \{txt\}/);
    const sweep = writeTinyExperiment(dir, { layers: 1, seeds: 1 });
    const unknownOnly = await captured(() =>
      main(['run', sweep, '--only', 'nosuchexport', '--db', path.join(dir, 'only.db')]),
    );
    assert.equal(unknownOnly.code, 2);
    assert.match(
      unknownOnly.err,
      /--only nosuchexport: no exported experiment or sweep of .*tiny-sweep\.ts is called that, and no run id starts with it\n {2}hint: exports: tiny;/,
    );
    const help = await captured(() => main(['run', '--help']));
    assert.equal(help.code, 0);
    assert.match(help.out, /examples:\n {2}layercut run examples\/quickstart\.ts/);
  });

  test('a failing run: exit 1, the error on stderr, the other run in the table', async (t) => {
    const file = path.join(dir, 'one-broken.ts');
    const dsl = JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'));
    writeFileSync(
      file,
      `import { adamw, concat, experiment, keepFirst, lm, tasks } from ${dsl};
const options = {
  task: tasks.spam, method: lm(), layers: keepFirst(1), backend: 'wasm' as const,
  data: { trainPerClass: 4, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
  train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
};
export const both = concat(
  experiment({ ...options, model: { kind: 'builtin', name: 'tiny-gpt2' } }),
  experiment({ ...options, model: { kind: 'local', path: './no-such-model' } }),
);
`,
    );
    const run = layercutRun(t, [file, '--db', 'broken.db']);
    assert.equal(await run.exit, 1);
    assert.match(run.stderr(), /^\[2\/2\] FAILED [0-9a-f]{16} {2}\.\/no-such-model first 1/m);
    assert.match(run.stderr(), /^failed: [0-9a-f]{16}: .*no-such-model/m);
    // Only the run that finished is in the table (and the majority class of its test sample).
    assert.match(
      run.stdout(),
      /^\| layers \| spam \|\n\| --- \| ---: \|\n\| first 1 \| \d+\.\d \|\n\| majority class \| \d+\.\d \|\n\n/,
    );

    // Run again: the failed run is skipped, not forgotten (still exit 1); the table is printed again.
    const again = layercutRun(t, [file, '--db', 'broken.db']);
    assert.equal(await again.exit, 1);
    assert.match(again.stderr(), /^2 runs, 1 finished before, 0 to run, 1 skipped/m);
    assert.match(again.stderr(), /^skip [0-9a-f]{16}: failed before \(--retry-failed runs it again\)/m);
    assert.equal(again.stdout(), run.stdout());
  });

  test('SIGKILL half-way through a sweep, then the same command: every run once, each with a result', async (t) => {
    const file = writeTinyExperiment(dir, { layers: 2, seeds: 2, epochs: 2 });
    const db = path.join(dir, 'killed.db');
    const first = layercutRun(t, [file, '--db', db]);
    // The first run finished and the second is training: kill it there.
    const done = await first.waitForLine(/^\[1\/4\] done /);
    await first.waitForLine(/^\[2\/4\] train step/);
    first.process.kill('SIGKILL');
    assert.equal(await first.exit, 'SIGKILL');
    const firstId = /done ([0-9a-f]{16})/.exec(done)![1]!;

    const store = openStoreReadOnly(db);
    let before;
    try {
      before = store.list();
    } finally {
      store.close();
    }
    assert.equal(before.length, 4);
    assert.equal(before.find((r) => r.id === firstId)!.status, 'done');
    const unfinished = before.filter((r) => r.status !== 'done');
    assert.ok(unfinished.length >= 2, 'killed mid-sweep');
    assert.ok(before.every((r) => r.status !== 'failed'));

    const second = layercutRun(t, [file, '--db', db]);
    assert.equal(await second.exit, 0, second.stderr());
    const finishedBefore = 4 - unfinished.length;
    assert.match(
      second.stderr(),
      new RegExp(`^4 runs, ${finishedBefore} finished before, ${unfinished.length} to run`, 'm'),
    );
    assert.deepEqual(startedIds(second.stderr()).sort(), unfinished.map((r) => r.id).sort());

    const reopened = openStoreReadOnly(db);
    try {
      const after = reopened.list();
      assert.deepEqual(after.map((r) => r.id).sort(), before.map((r) => r.id).sort());
      for (const run of after) {
        assert.equal(run.status, 'done');
        assert.equal(run.result!.id, run.id);
        assert.equal(
          run.result!.test.perClass.reduce((n, c) => n + c.support, 0),
          20,
        );
      }
      assert.equal(after.find((r) => r.id === firstId)!.attempts, 1);
    } finally {
      reopened.close();
    }
    // Paper table: 2 rows (first 1, first 2), mean ± std over the 2 seeds.
    assert.match(second.stdout(), /^\| layers \| spam \|$/m);
    assert.match(second.stdout(), /^\| first 1 \| (\*\*)?\d+\.\d ± \d+\.\d(\*\*)? \|$/m);
    assert.match(second.stdout(), /^\| first 2 \| (\*\*)?\d+\.\d ± \d+\.\d(\*\*)? \|$/m);
  });

  test('Ctrl-C (SIGINT): exit 130, the run is put back, not failed; the same command completes the sweep', async (t) => {
    const file = writeTinyExperiment(dir, { layers: 2, seeds: 2, epochs: 2 });
    const db = path.join(dir, 'interrupted.db');
    const first = layercutRun(t, [file, '--db', db]);
    await first.waitForLine(/^\[2\/4\] train step/);
    first.process.kill('SIGINT');
    assert.equal(await first.exit, 130);
    assert.match(first.stderr(), /^interrupted/m);
    assert.equal(first.stdout(), '');

    const store = openStoreReadOnly(db);
    let before;
    try {
      before = store.list();
    } finally {
      store.close();
    }
    assert.ok(
      before.every((r) => r.status === 'done' || r.status === 'queued'),
      JSON.stringify(before.map((r) => r.status)),
    );
    const queued = before.filter((r) => r.status === 'queued');
    assert.ok(queued.length >= 2);
    const putBack = /interrupted: run ([0-9a-f]{16}) was put back/.exec(first.stderr())?.[1];
    if (putBack) assert.equal(before.find((r) => r.id === putBack)!.attempts, 1);

    const second = layercutRun(t, [file, '--db', db]);
    assert.equal(await second.exit, 0, second.stderr());
    assert.deepEqual(startedIds(second.stderr()).sort(), queued.map((r) => r.id).sort());
    const reopened = openStoreReadOnly(db);
    try {
      assert.deepEqual(reopened.counts(), { queued: 0, running: 0, done: 4, failed: 0 });
    } finally {
      reopened.close();
    }
  });
});
