/**
 * The notebook's `run()` on each executor `layercut run` has: in the kernel's process, on a pool
 * of worker processes (`{ workers: 2 }`), and on a `layercut worker` through a real Redis queue
 * (`{ queue: 'redis://…' }`). The same two runs give the same numbers wherever they run, the
 * events say where they ran, and the live board counts them; usage mistakes fail before
 * anything runs. (Outside a kernel: run() prints its lines to stdout.)
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { adamw, experiment, keepFirst, lm, sweep, tasks } from '../../dsl/index.js';
import { run } from '../../src/notebook/index.js';
import type { RunEvent } from '../../src/runner/events.js';
import { startCommand, startRedis, type RedisServer } from '../queue/helpers.js';
import { testFolder } from '../runner/helpers.js';

const { dir } = testFolder('layercut-notebook-executors-');
let redis: RedisServer | undefined;
before(async () => {
  redis = await startRedis(dir);
});
after(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Two cuts of tiny-gpt2 on spam, a second or two each. */
const scan = sweep(
  experiment({
    model: { kind: 'builtin', name: 'tiny-gpt2' },
    task: tasks.spam,
    method: lm(),
    data: { trainPerClass: 4, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
    train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
    backend: 'wasm',
  }),
  { layers: [keepFirst(1), keepFirst(2)] },
);

/** Per run: its test accuracy and its training losses (the same bits wherever it ran). */
const numbers = (results: Awaited<ReturnType<typeof run>>): { accuracy?: number; losses?: number[] }[] =>
  results.stored.map((stored) => ({
    accuracy: stored.result?.test.accuracy,
    losses: stored.result?.curves.train.map((point) => point.loss),
  }));

describe('run() on every executor', { timeout: 240_000 }, () => {
  let here: ReturnType<typeof numbers> = [];

  test('in this process (the default): no worker named', async () => {
    const events: RunEvent[] = [];
    const results = await run(scan, { store: path.join(dir, 'here.db'), onEvent: (e) => events.push(e) });
    assert.deepEqual(results.counts, { total: 2, ran: 2, reused: 0, failed: 0, unfinished: 0 });
    here = numbers(results);
    assert.ok(
      here.every(({ accuracy, losses }) => accuracy! >= 0 && accuracy! <= 1 && losses!.length === 2),
      JSON.stringify(here),
    );
    const plan = events.find((e) => e.kind === 'plan');
    assert.ok(plan && plan.kind === 'plan' && plan.where === undefined);
    assert.ok(events.every((e) => !('worker' in e) || e.worker === undefined));
  });

  test('on two worker processes: both work, the numbers are those of this process', async () => {
    const events: RunEvent[] = [];
    const store = path.join(dir, 'pool.db');
    const results = await run(scan, { store, workers: 2, onEvent: (e) => events.push(e) });
    assert.deepEqual(results.counts, { total: 2, ran: 2, reused: 0, failed: 0, unfinished: 0 });
    assert.deepEqual(numbers(results), here);
    const plan = events.find((e) => e.kind === 'plan');
    assert.ok(plan?.kind === 'plan');
    assert.equal(plan.where, 'on 2 worker processes');
    const workers = events.flatMap((e) => (e.kind === 'start' ? [e.worker] : []));
    assert.deepEqual([...workers].sort(), ['w0', 'w1']);

    // Again: reused from the store, no worker process started.
    const again: RunEvent[] = [];
    const reused = await run(scan, { store, workers: 2, onEvent: (e) => again.push(e) });
    assert.deepEqual(reused.counts, { total: 2, ran: 0, reused: 2, failed: 0, unfinished: 0 });
    assert.deepEqual(
      again.map((e) => e.kind),
      ['plan'],
    );
  });

  test('on a Redis queue, run by a layercut worker: the same numbers, stored here', async (t) => {
    const worker = startCommand(
      t,
      ['worker', '--queue', redis!.url, '--name', 'N1', '--backend', 'wasm'],
      dir,
    );
    await worker.waitForLine(/^\[N1\] worker started .*waiting for runs on queue 'layercut'/);
    const events: RunEvent[] = [];
    const results = await run(scan, {
      store: path.join(dir, 'queue.db'),
      queue: redis!.url,
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(results.counts, { total: 2, ran: 2, reused: 0, failed: 0, unfinished: 0 });
    assert.deepEqual(numbers(results), here);
    assert.ok(results.stored.every((stored) => stored.status === 'done'));
    const done = events.flatMap((e) => (e.kind === 'done' ? [e.worker] : []));
    assert.deepEqual(done, ['N1', 'N1']);
    worker.process.kill('SIGTERM');
    assert.equal(await worker.exit, 0, worker.stderr());
  });

  test('mistakes fail before anything runs', async () => {
    await assert.rejects(
      run(scan, { store: path.join(dir, 'none.db'), workers: 2, queue: 'redis://127.0.0.1:1' }),
      /queue sends the runs to `layercut worker`s; workers and gpus start workers here: pick one/,
    );
    await assert.rejects(
      run(scan, { store: path.join(dir, 'none.db'), retries: 2 }),
      /retries applies to workers, gpus and queue/,
    );
    await assert.rejects(
      run(scan, { store: path.join(dir, 'none.db'), queue: 'localhost:6379' }),
      /--queue localhost:6379: expected a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});
