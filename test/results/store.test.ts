import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { LayercutError } from '../../src/errors.js';
import { runId } from '../../src/plan/id.js';
import { runRows } from '../../src/results/rows.js';
import { runsCsvTable, runsDisplay, runsView } from '../../src/results/runs-view.js';
import { migrations, SCHEMA_VERSION } from '../../src/results/schema.js';
import { openStore, openStoreReadOnly } from '../../src/results/store.js';
import { fakePlan, fakeResult, keepAll } from './fake-runs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => path.join(dir, `store-${files++}.db`);

describe('results store', () => {
  test('a finished run comes back whole: plan, result, status, timestamps, attempts', () => {
    const file = freshFile();
    const store = openStore(file);
    const plan = { ...fakePlan({ task: 'trec', layers: keepAll, seed: 7 }), backend: 'wasm' as const };
    const [id] = store.enqueue([plan]).ids;
    assert.equal(id, runId(plan));
    assert.equal(store.get(id)?.status, 'queued');
    assert.equal(store.get(id)?.result, null);

    assert.equal(store.markRunning(id), true);
    const running = store.get(id)!;
    assert.equal(running.status, 'running');
    assert.equal(running.attempts, 1);
    assert.equal(running.owner?.pid, process.pid);
    assert.equal(running.owner?.host, os.hostname());
    assert.ok(running.startedAt);

    const result = fakeResult(plan, { accuracy: 0.8125, macroF1: 0.8, depth: 48 });
    assert.equal(store.finish(id, result), true);
    store.close();

    // Reopen: everything is read back from the file.
    const again = openStore(file);
    const done = again.get(id)!;
    assert.equal(done.status, 'done');
    assert.equal(done.owner, null);
    assert.equal(done.error, null);
    assert.deepEqual(done.plan, plan);
    assert.deepEqual(done.result, result);
    assert.ok(Date.parse(done.finishedAt!) >= Date.parse(done.startedAt!));
    assert.ok(Date.parse(done.startedAt!) >= Date.parse(done.createdAt));
    assert.deepEqual(again.counts(), { queued: 0, running: 0, done: 1, failed: 0 });
    // A second finish of a done run changes nothing.
    assert.equal(again.finish(id, fakeResult(plan, { accuracy: 0.1 })), false);
    assert.equal(again.get(id)!.result!.test.accuracy, 0.8125);
    again.close();
  });

  test('enqueue is idempotent by id, also within one call, and keeps the first plan', () => {
    const store = openStore(freshFile());
    const a = fakePlan({ seed: 1 });
    const b = fakePlan({ seed: 2 });
    const first = store.enqueue([a, b, a]);
    assert.deepEqual(first.added, [runId(a), runId(b)]);
    assert.deepEqual(first.existing, [runId(a)]);
    // The same plan with another backend is the same run.
    const second = store.enqueue([{ ...a, backend: 'cpu' }, fakePlan({ seed: 3 })]);
    assert.deepEqual(second.existing, [runId(a)]);
    assert.equal(second.added.length, 1);
    assert.equal(store.list().length, 3);
    assert.equal(store.get(runId(a))!.plan.backend, undefined);
    // Enqueueing a finished run again does not reset it.
    store.markRunning(runId(b));
    store.finish(runId(b), fakeResult(b, { accuracy: 0.7 }));
    store.enqueue([b]);
    assert.equal(store.get(runId(b))!.status, 'done');
    assert.deepEqual(
      store.list().map((run) => run.plan.seed),
      [1, 2, 3],
    );
    store.close();
  });

  test('fail records the error; failed runs are retried unless told not to', () => {
    const store = openStore(freshFile());
    const plan = fakePlan({ seed: 4 });
    const [id] = store.enqueue([plan]).ids;
    store.markRunning(id);
    assert.equal(store.fail(id, new LayercutError('out of memory', 'use a smaller batch')), true);
    const failed = store.get(id)!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!, /out of memory/);
    assert.equal(failed.owner, null);
    assert.deepEqual(store.unfinished([id]), [id]);
    assert.deepEqual(store.unfinished([id], { retryFailed: false }), []);
    assert.deepEqual(store.claimRuns(5, { retryFailed: false }), []);
    const [again] = store.claimRuns(5);
    assert.equal(again.id, id);
    assert.equal(store.get(id)!.attempts, 2);
    assert.equal(store.get(id)!.error, null);
    store.close();
  });

  test('unfinished: missing, queued and abandoned runs, not done ones nor ones a live process holds', () => {
    const file = freshFile();
    const store = openStore(file);
    const plans = [1, 2, 3].map((seed) => fakePlan({ seed }));
    const [queued, running, done] = store.enqueue(plans).ids;
    store.markRunning(running);
    store.markRunning(done);
    store.finish(done, fakeResult(plans[2], { accuracy: 0.9 }));
    const missing = runId(fakePlan({ seed: 99 }));
    // This store holds `running` itself: a resume in this process must not start it twice.
    assert.deepEqual(store.unfinished([queued, running, done, missing]), [queued, missing]);
    // Another store in this live process holds it too.
    const other = openStore(file);
    assert.deepEqual(other.unfinished([running]), []);
    assert.equal(other.markRunning(running), false);
    other.close();
    store.close();
  });

  test('a run held by another host counts as abandoned once its lease runs out', () => {
    const file = freshFile();
    let now = new Date('2024-05-01T12:00:00Z');
    const clock = (): Date => now;
    const remote = openStore(file, { host: 'gpu-box-7', pid: 4242, leaseSeconds: 60, now: clock });
    const [id] = remote.enqueue([fakePlan({ seed: 5 })]).ids;
    assert.equal(remote.markRunning(id), true);

    const local = openStore(file, { now: clock });
    assert.deepEqual(local.unfinished([id]), []);
    now = new Date('2024-05-01T12:00:59Z');
    assert.equal(local.markRunning(id), false);
    // The remote owner renews its lease: still alive after the first minute.
    remote.heartbeat(id);
    now = new Date('2024-05-01T12:01:30Z');
    assert.deepEqual(local.unfinished([id]), []);
    now = new Date('2024-05-01T12:02:00Z');
    assert.deepEqual(local.unfinished([id]), [id]);
    const [claimed] = local.claimRuns(1);
    assert.equal(claimed.id, id);
    const taken = local.get(id)!;
    assert.equal(taken.attempts, 2);
    assert.equal(taken.owner?.host, os.hostname());
    remote.close();
    // The old owner closing does not release a run it no longer holds.
    assert.equal(local.get(id)!.status, 'running');
    local.close();
  });

  test('a dead process with our own pid (a restarted container) does not hold its run', () => {
    const file = freshFile();
    const store = openStore(file);
    const [id] = store.enqueue([fakePlan({ seed: 6 })]).ids;
    store.close();
    // Written as a crashed earlier process with the same pid and host would have left it.
    const raw = new Database(file);
    raw
      .prepare(
        `UPDATE runs SET status = 'running', attempts = 1, owner_host = ?, owner_pid = ?, owner_token = 'gone', lease_until = ? WHERE id = ?`,
      )
      .run(os.hostname(), process.pid, new Date(Date.now() + 3600_000).toISOString(), id);
    raw.close();
    const again = openStore(file);
    assert.deepEqual(again.unfinished([id]), [id]);
    again.close();
  });

  test('close puts runs this store still holds back in the queue', () => {
    const file = freshFile();
    const store = openStore(file);
    const [id] = store.enqueue([fakePlan({ seed: 8 })]).ids;
    store.markRunning(id);
    store.close();
    const again = openStore(file);
    assert.equal(again.get(id)!.status, 'queued');
    assert.equal(again.get(id)!.owner, null);
    again.close();
  });

  test('claimRuns hands out oldest first, up to the limit, only the ids asked for', () => {
    const store = openStore(freshFile());
    const ids = store.enqueue([1, 2, 3, 4].map((seed) => fakePlan({ seed }))).ids;
    assert.deepEqual(
      store.claimRuns(2).map((run) => run.id),
      ids.slice(0, 2),
    );
    assert.deepEqual(
      store.claimRuns(5, { ids: [ids[3]] }).map((run) => run.id),
      [ids[3]],
    );
    assert.deepEqual(
      store.claimRuns(5).map((run) => run.plan.seed),
      [3],
    );
    assert.deepEqual(store.claimRuns(5), []);
    assert.deepEqual(
      store
        .list({ status: 'running' })
        .map((run) => run.id)
        .sort(),
      [...ids].sort(),
    );
    store.close();
  });

  test('wrong uses are LayercutErrors that say what to do', () => {
    const store = openStore(freshFile());
    const plan = fakePlan();
    assert.throws(
      () => store.markRunning('0123456789abcdef'),
      (e: unknown) => e instanceof LayercutError && /enqueue/.test(e.message),
    );
    const [id] = store.enqueue([plan]).ids;
    const other = fakeResult(fakePlan({ seed: 99 }), { accuracy: 0.5 });
    assert.throws(() => store.finish(id, other), LayercutError);
    store.close();
    assert.throws(() => openStoreReadOnly(path.join(dir, 'absent.db')), /no results store/);
    assert.throws(() => openStore(path.join(dir, 'no-such-folder', 'x.db')), /folder does not exist/);
    const junk = path.join(dir, 'junk.db');
    writeFileSync(
      junk,
      'this is not an sqlite file, just some text that is long enough to be read'.repeat(20),
    );
    assert.throws(
      () => openStore(junk),
      (e: unknown) => e instanceof LayercutError && /not a layercut results store/.test(e.message),
    );
  });

  test('the file records its schema version, uses WAL, and refuses a newer schema', () => {
    const file = freshFile();
    openStore(file).close();
    const raw = new Database(file);
    assert.equal(
      (raw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value,
      String(SCHEMA_VERSION),
    );
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION + 1));
    raw.close();
    assert.throws(
      () => openStore(file),
      new RegExp(`schema version ${SCHEMA_VERSION + 1};[^]*upgrade layercut`),
    );
  });
});

describe('results store: computed layer selections and old files', () => {
  test('the layers a computed selection chose are stored with the result and shown as chosenLayers', () => {
    const file = freshFile();
    const store = openStore(file);
    const plan = fakePlan({
      task: 'sst2',
      layers: { kind: 'computed', by: 'influence', keep: 3, calibration: { examples: 64 } },
      seed: 1,
    });
    const [id] = store.enqueue([plan]).ids;
    store.markRunning(id!);
    const result = { ...fakeResult(plan, { accuracy: 0.75 }), keptLayers: [0, 4, 11] };
    store.finish(id!, result);
    store.close();
    const again = openStore(file);
    assert.deepEqual(again.get(id!)!.result!.keptLayers, [0, 4, 11]);
    const [row] = runRows(again.list());
    assert.equal(row!.chosenLayers, '0,4,11');
    assert.equal(row!.keptLayers, 3);
    assert.equal(row!.precision, 'fp32');
    again.close();
  });

  test('a version-1 file is migrated: its runs stay, its new column is empty', () => {
    const file = freshFile();
    const raw = new Database(file);
    raw.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    migrations[0]!(raw);
    raw.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', '1')`).run();
    const plan = fakePlan({ task: 'trec', layers: keepAll, seed: 3 });
    raw
      .prepare(`INSERT INTO runs (id, plan, status, created_at) VALUES (?, ?, 'queued', ?)`)
      .run(runId(plan), JSON.stringify(plan), new Date().toISOString());
    raw.close();
    const store = openStore(file);
    assert.equal(store.get(runId(plan))?.status, 'queued');
    store.markRunning(runId(plan));
    store.finish(runId(plan), fakeResult(plan, { accuracy: 0.5 }));
    assert.equal(store.get(runId(plan))!.result!.keptLayers, undefined);
    store.close();
    const check = new Database(file);
    assert.equal(
      (check.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value,
      String(SCHEMA_VERSION),
    );
    check.close();
  });
});

test('runs tables show a chosen-layers column only when a run chose its layers from data', () => {
  const store = openStore(freshFile());
  const fixed = fakePlan({ task: 'sst2', layers: keepAll, seed: 1 });
  const computed = fakePlan({
    task: 'sst2',
    layers: { kind: 'computed', by: 'influence', keep: 2, calibration: { examples: 64 } },
    seed: 1,
  });
  for (const [plan, kept] of [
    [fixed, undefined],
    [computed, [0, 7]],
  ] as const) {
    const [id] = store.enqueue([plan]).ids;
    store.markRunning(id!);
    store.finish(id!, { ...fakeResult(plan, { accuracy: 0.5 }), ...(kept ? { keptLayers: [...kept] } : {}) });
  }
  const rows = runRows(store.list());
  const both = runsDisplay(runsView(rows));
  assert.ok(both.headers.includes('chosen layers'));
  assert.deepEqual(both.rows.map((cells) => cells[both.headers.indexOf('chosen layers')]!.text).sort(), [
    '',
    '0,7',
  ]);
  assert.ok(runsCsvTable(runsView(rows)).headers.includes('chosenLayers'));
  const fixedOnly = rows.filter((row) => row.chosenLayers === null);
  assert.ok(!runsDisplay(runsView(fixedOnly)).headers.includes('chosen layers'));
  assert.ok(!runsCsvTable(runsView(fixedOnly)).headers.includes('chosenLayers'));
  store.close();
});
