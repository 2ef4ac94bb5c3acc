/**
 * `layercut run --workers 2` as a user meets it: two worker processes run a sweep at once,
 * largest runs first; a run whose model does not exist is retried once and then marked failed
 * with its error while the others finish; a worker process killed mid-run (as the kernel's
 * out-of-memory killer would) is replaced and its run retried; Ctrl-C exits with 130, puts the
 * runs in progress back in the queue, and the same command completes the sweep.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { openStoreReadOnly, type StoredRun } from '../../src/results/store.js';
import { repoRoot, testFolder, writeTinyExperiment } from '../runner/helpers.js';
import { doneIds, eventually, processExists, startCommand } from './helpers.js';

const { dir } = testFolder('layercut-pool-');
after(() => rmSync(dir, { recursive: true, force: true }));

function storedRuns(db: string): StoredRun[] {
  const store = openStoreReadOnly(db);
  try {
    return store.list();
  } finally {
    store.close();
  }
}

describe('layercut run --workers', { timeout: 120_000 }, () => {
  test('two workers; a broken run fails after its retry, a killed worker is replaced and its run retried', async (t) => {
    const file = path.join(dir, 'pool-broken.ts');
    const dsl = JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'));
    writeFileSync(
      file,
      `import { adamw, concat, experiment, keepFirst, lm, sweep, tasks } from ${dsl};
const options = {
  task: tasks.spam, method: lm(), backend: 'wasm' as const,
  data: { trainPerClass: 8, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
  train: { optimizer: adamw({ lr: 1e-3 }), epochs: 3, batchSize: 4 },
};
export const pool = concat(
  sweep(experiment({ ...options, model: { kind: 'builtin', name: 'tiny-gpt2' } }), { layers: [1, 3].map(keepFirst) }),
  experiment({ ...options, layers: keepFirst(1), model: { kind: 'local', path: './no-such-model' } }),
);
`,
    );
    const db = path.join(dir, 'pool.db');
    const run = startCommand(t, ['run', file, '--db', db, '--workers', '2', '--retries', '1'], dir);
    await run.waitForLine(/^3 runs, 3 to run on 2 worker processes/);

    // Largest first: the 3-layer run goes to the first worker; kill that worker's process mid-training.
    const started = await run.waitForLine(/^\[w0\] start [0-9a-f]{16} {2}tiny-gpt2 first 3 /);
    const killedId = /start ([0-9a-f]{16})/.exec(started)![1]!;
    const pid = Number(/pid (\d+)/.exec(await run.waitForLine(/^\[w0\] worker started \(pid \d+\)/))![1]);
    await run.waitForLine(new RegExp(`^\\[w0\\] ${killedId} train step`));
    process.kill(pid, 'SIGKILL');

    assert.equal(await run.exit, 1, run.stderr());
    const err = run.stderr();
    assert.match(
      err,
      new RegExp(
        `failed \\(attempt 1, will retry\\) ${killedId} on w0: run process w0 \\(pid ${pid}\\) was killed \\(SIGKILL`,
      ),
    );
    assert.match(err, /^\[w0\] worker exited: replaced by a new process$/m);
    assert.equal([...err.matchAll(/^\[w0\] worker started/gm)].length, 2, 'a new process for w0');
    assert.match(err, new RegExp(`^\\[w\\d\\] start ${killedId} .* \\(attempt 2\\)$`, 'm'));
    // Both workers ran runs.
    assert.match(err, /^\[w1\] start /m);
    // The broken run: two attempts, then FAILED with the reason.
    assert.match(
      err,
      /failed \(attempt 1, will retry\) [0-9a-f]{16} on w\d: no tokenizer\.json in .*no-such-model/,
    );
    assert.match(err, /FAILED [0-9a-f]{16} on w\d: no tokenizer\.json in .*no-such-model/);
    assert.match(err, /^2 of 3 runs done, 1 failed/m);

    const runs = storedRuns(db);
    assert.equal(runs.length, 3);
    const broken = runs.find((r) => r.plan.model.kind === 'local')!;
    assert.equal(broken.status, 'failed');
    assert.equal(broken.attempts, 2);
    assert.match(broken.error!, /no tokenizer\.json in .*no-such-model/);
    assert.equal(broken.result, null);
    for (const good of runs.filter((r) => r.plan.model.kind === 'builtin')) {
      assert.equal(good.status, 'done');
      assert.equal(good.result!.id, good.id);
      assert.equal(
        good.result!.test.perClass.reduce((n, c) => n + c.support, 0),
        20,
      );
      assert.equal(good.attempts, good.id === killedId ? 2 : 1);
    }
    // Stored once each.
    assert.deepEqual(
      doneIds(err).sort(),
      runs
        .filter((r) => r.status === 'done')
        .map((r) => r.id)
        .sort(),
    );
    // The table has the two good runs.
    assert.match(run.stdout(), /^\| first 1 \| (\*\*)?\d+\.\d(\*\*)? \|$/m);
    assert.match(run.stdout(), /^\| first 3 \| (\*\*)?\d+\.\d(\*\*)? \|$/m);
  });

  test('Ctrl-C: exit 130, runs in progress back in the queue and no process left; the same command completes', async (t) => {
    const file = writeTinyExperiment(dir, { layers: 2, seeds: 2, epochs: 2 });
    const db = path.join(dir, 'pool-interrupted.db');
    const first = startCommand(t, ['run', file, '--db', db, '--workers', '2'], dir);
    const pids = await Promise.all(
      ['w0', 'w1'].map(async (w) =>
        Number(/pid (\d+)/.exec(await first.waitForLine(new RegExp(`^\\[${w}\\] worker started`)))![1]),
      ),
    );
    await first.waitForLine(/^\[w\d\] [0-9a-f]{16} train step/);
    first.process.kill('SIGINT');
    assert.equal(await first.exit, 130, first.stderr());
    assert.match(
      first.stderr(),
      /^interrupted(: \d runs? put back in the queue| between runs); run the same command again to resume$/m,
    );
    assert.equal(first.stdout(), '');
    await eventually(() => pids.every((pid) => !processExists(pid)), 'the worker processes to exit');

    const between = storedRuns(db);
    assert.equal(between.length, 4);
    assert.ok(
      between.every((r) => r.status === 'queued' || r.status === 'done'),
      JSON.stringify(between.map((r) => r.status)),
    );
    const doneBefore = between.filter((r) => r.status === 'done').map((r) => r.id);
    assert.ok(doneBefore.length < 4, 'stopped before the end');

    const second = startCommand(t, ['run', file, '--db', db, '--workers', '2'], dir);
    assert.equal(await second.exit, 0, second.stderr());
    const finishedBefore = doneBefore.length ? `${doneBefore.length} finished before, ` : '';
    assert.match(
      second.stderr(),
      new RegExp(`^4 runs, ${finishedBefore}${4 - doneBefore.length} to run on 2 worker`, 'm'),
    );
    const after = storedRuns(db);
    for (const run of after) {
      assert.equal(run.status, 'done');
      assert.equal(run.result!.id, run.id);
    }
    // Each run stored once: by the first command or by the second, never both.
    const storedBy = [...doneIds(first.stderr()), ...doneIds(second.stderr())].sort();
    assert.deepEqual(storedBy, after.map((r) => r.id).sort());
    assert.match(second.stdout(), /^\| first 2 \| (\*\*)?\d+\.\d ± \d+\.\d(\*\*)? \|$/m);
  });
});
