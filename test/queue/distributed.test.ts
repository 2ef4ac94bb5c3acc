/**
 * A sweep over a real Redis: a coordinator (`layercut run --queue`) and two workers
 * (`layercut worker`) as separate processes. One worker is killed with SIGKILL while it trains
 * a run; BullMQ's stalled-job check (short lock and check interval here) hands that run to the
 * other worker, and every run ends up stored exactly once, with its result, in the
 * coordinator's store. `layercut status` then shows the store and the surviving worker, and
 * SIGTERM stops that worker cleanly.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { openStoreReadOnly } from '../../src/results/store.js';
import type { Owner, SpawnedCommand } from '../helpers/spawn.js';
import { testFolder, writeTinyExperiment } from '../runner/helpers.js';
import { doneIds, eventually, processExists, startCommand, startRedis, type RedisServer } from './helpers.js';

const { dir } = testFolder('layercut-queue-');
let redis: RedisServer;

before(async () => {
  redis = await startRedis(dir);
});
after(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A `layercut worker` on the test's Redis, ended with test `t`. */
function worker(t: Owner, name: string): SpawnedCommand {
  return startCommand(
    t,
    [
      'worker',
      '--queue',
      redis.url,
      '--name',
      name,
      '--backend',
      'wasm',
      '--lock-ms',
      '2000',
      '--stalled-ms',
      '1000',
      '--heartbeat-ms',
      '500',
    ],
    dir,
  );
}

describe('layercut run --queue with layercut workers', { timeout: 120_000 }, () => {
  test('a worker killed mid-run: its run goes to the other worker; every run stored once, with its result', async (t) => {
    const file = writeTinyExperiment(dir, { layers: 2, seeds: 2, epochs: 3 });
    const db = path.join(dir, 'queue.db');
    const [a, b] = [worker(t, 'A'), worker(t, 'B')];
    // Both wait for runs, each with its run process ready.
    const childOfA = Number(
      /pid (\d+)/.exec(await a.waitForLine(/^\[A\] worker started \(pid \d+\): run process ready/))![1],
    );
    await a.waitForLine(/^\[A\] worker started .*waiting for runs on queue 'layercut'/);
    await b.waitForLine(/^\[B\] worker started .*waiting for runs on queue 'layercut'/);

    const coordinator = startCommand(t, ['run', file, '--db', db, '--queue', redis.url], dir);
    await coordinator.waitForLine(/^4 runs, 4 to run on queue 'layercut' at redis:\/\/127\.0\.0\.1:\d+/);

    // A trains its first run: kill it there (no chance to say anything).
    const startedOnA = await a.waitForLine(/^\[A\] start [0-9a-f]{16}/);
    const killedId = /start ([0-9a-f]{16})/.exec(startedOnA)![1]!;
    await a.waitForLine(new RegExp(`^\\[A\\] ${killedId} train step`));
    a.process.kill('SIGKILL');
    assert.equal(await a.exit, 'SIGKILL');
    // Its run process notices and leaves: no orphan keeps training.
    await eventually(() => !processExists(childOfA), "worker A's run process to exit");

    assert.equal(await coordinator.exit, 0, coordinator.stderr());
    const err = coordinator.stderr();
    assert.match(
      err,
      new RegExp(
        `^run ${killedId}: its worker stopped answering; back in the queue for another worker$`,
        'm',
      ),
    );
    assert.match(err, new RegExp(`^\\[\\d/4\\] done ${killedId} on B `, 'm'));
    assert.match(err, /^4 of 4 runs done · results in /m);

    const store = openStoreReadOnly(db);
    let runs;
    try {
      runs = store.list();
    } finally {
      store.close();
    }
    assert.equal(runs.length, 4);
    for (const run of runs) {
      assert.equal(run.status, 'done');
      assert.equal(run.attempts, 1); // marked running once by the coordinator, finished once
      assert.equal(run.result!.id, run.id);
      assert.equal(
        run.result!.test.perClass.reduce((n, c) => n + c.support, 0),
        20,
      );
      assert.equal(run.result!.backend, 'wasm');
    }
    // The coordinator stored each run exactly once.
    assert.deepEqual(doneIds(err).sort(), runs.map((r) => r.id).sort());
    // B ran every run (A finished none before it died).
    assert.equal([...b.stderr().matchAll(/^\[B\] done [0-9a-f]{16} /gm)].length, 4);
    assert.match(coordinator.stdout(), /^\| first 2 \| (\*\*)?\d+\.\d ± \d+\.\d(\*\*)? \|$/m);

    // The whole picture: the store, an empty queue, and B alone (A's announcement expired).
    const status = startCommand(t, ['status', '--queue', redis.url, '--db', db], dir);
    assert.equal(await status.exit, 0, status.stderr());
    assert.match(
      status.stdout(),
      /^results store .*queue\.db: 4 runs — 0 queued, 0 running, 4 done, 0 failed$/m,
    );
    assert.match(
      status.stdout(),
      /^queue 'layercut' at redis:\/\/127\.0\.0\.1:\d+: 0 waiting, 0 running, 0 delayed, 0 done/m,
    );
    assert.match(
      status.stdout(),
      /^1 worker:\n {2}B {2}\S+ pid \d+ {2}idle {2}· 4 done, 0 failed$/m,
      `worker B's stderr:\n${b.stderr()}\ncoordinator's stderr:\n${err}`,
    );

    b.process.kill('SIGTERM');
    assert.equal(await b.exit, 0, b.stderr());
    assert.match(b.stderr(), /^\[B\] worker stopped: 4 done, 0 failed$/m);
  });
});
