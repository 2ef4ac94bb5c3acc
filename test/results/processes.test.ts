/**
 * The store shared by real processes: a process killed half-way leaves no half result and its
 * run is handed out again (and `layercut status` says it was abandoned); two processes writing
 * the same file at once lose nothing; a pid that now names another process holds nothing.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test, type TestContext } from 'node:test';

import Database from 'better-sqlite3';

import { main } from '../../src/cli.js';
import { processStart } from '../../src/results/owner.js';
import { openStore } from '../../src/results/store.js';
import { captured } from '../helpers/console.js';
import { fakePlan } from './fake-runs.js';
import { spawnNode } from '../helpers/spawn.js';

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'store-worker.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-procs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts store-worker.ts with `args`; it ends with test `t` (test/helpers/spawn.ts). */
function startWorker(t: TestContext, ...args: string[]): ChildProcess {
  return spawnNode(t, ['--import', 'tsx', worker, ...args], { cwd: process.cwd(), name: 'store-worker' })
    .process;
}

/** Resolves with the exit code once the process is gone (and reaped: its pid no longer exists). */
function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Collects stdout lines; calls `onLine` for each. */
function lines(child: ChildProcess, onLine: (line: string) => void): { all: string[]; stderr: () => string } {
  const all: string[] = [];
  let buffer = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      all.push(line);
      onLine(line);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { all, stderr: () => err };
}

describe('results store across processes', { timeout: 60_000 }, () => {
  test('a process killed between markRunning and finish leaves its run unfinished, and it is run again', async (t) => {
    const file = path.join(dir, 'killed.db');
    const child = startWorker(t, 'hold', file, '17');
    const gone = exited(child);
    const id = await new Promise<string>((resolve) => {
      lines(child, (line) => {
        if (line.startsWith('running ')) resolve(line.slice('running '.length));
      });
    });
    // While it lives, the run is its own.
    const store = openStore(file);
    assert.equal(store.get(id)!.status, 'running');
    assert.equal(store.get(id)!.owner!.pid, child.pid);
    assert.deepEqual(store.unfinished([id]), []);

    child.kill('SIGKILL');
    assert.equal(await gone, null);
    const left = store.get(id)!;
    assert.equal(left.status, 'running');
    assert.equal(left.result, null);
    assert.deepEqual(store.unfinished([id]), [id]);
    const [again] = store.claimRuns(1);
    assert.equal(again.id, id);
    assert.equal(store.get(id)!.attempts, 2);
    assert.equal(store.get(id)!.owner!.pid, process.pid);
    store.close();
  });

  test('a process killed in the middle of finishing runs leaves each run whole or unfinished', async (t) => {
    const file = path.join(dir, 'half.db');
    const total = 30;
    const child = startWorker(t, 'finish-all', file, String(total));
    const gone = exited(child);
    const out = lines(child, (line) => {
      if (line.startsWith('finished ') && out.all.length === 5) child.kill('SIGKILL');
    });
    await gone;
    assert.ok(out.all.length >= 5 && out.all.length < total, `killed after ${out.all.length} finishes`);
    const store = openStore(file);
    const runs = store.list();
    assert.equal(runs.length, total);
    const done = runs.filter((run) => run.status === 'done');
    const unfinished = runs.filter((run) => run.status === 'running');
    assert.equal(done.length + unfinished.length, total);
    assert.ok(done.length >= 5);
    for (const run of done) {
      assert.equal(run.result!.curves.train.length, 20_000);
      assert.equal(run.result!.test.accuracy, 0.5 + (run.plan.seed % 100) / 1000);
    }
    for (const run of unfinished) assert.equal(run.result, null);
    // Every run it did not finish is handed out again.
    assert.deepEqual(
      store.unfinished(runs.map((run) => run.id)).sort(),
      unfinished.map((run) => run.id).sort(),
    );
    store.close();
  });

  test('two processes enqueueing, claiming and finishing in one file at once lose nothing and run nothing twice', async (t) => {
    const file = path.join(dir, 'shared.db');
    const goFile = path.join(dir, 'go');
    const count = 200;
    let markReady: () => void = () => undefined;
    const bothReady = new Promise<void>((resolve) => (markReady = resolve));
    let ready = 0;
    const children = ['one', 'two'].map((name) => {
      const child = startWorker(t, 'hammer', file, name, String(count), goFile);
      const out = lines(child, (line) => {
        if (line === 'ready' && ++ready === 2) markReady();
      });
      return { name, child, out, gone: exited(child) };
    });
    await bothReady;
    writeFileSync(goFile, '');
    const codes = await Promise.all(children.map((c) => c.gone));
    assert.deepEqual(codes, [0, 0], children.map((c) => c.out.stderr()).join('\n'));
    const claimedBy = children.map((c) => (JSON.parse(c.out.all.at(-1)!) as { claimed: string[] }).claimed);

    const store = openStore(file);
    const runs = store.list();
    assert.equal(runs.length, count);
    assert.deepEqual(store.counts(), { queued: 0, running: 0, done: count, failed: 0 });
    const [one, two] = claimedBy.map((ids) => new Set(ids));
    assert.equal(one.size + two.size, count);
    // Both really wrote at the same time (each took some of the runs).
    assert.ok(one.size > 0 && two.size > 0, `one took ${one.size}, two took ${two.size}`);
    for (const run of runs) {
      assert.equal(run.attempts, 1, `run ${run.id} ran more than once`);
      assert.notEqual(one.has(run.id), two.has(run.id));
      assert.equal(run.result!.versions.worker, one.has(run.id) ? 'one' : 'two');
      assert.equal(run.result!.test.accuracy, 0.6 + run.plan.seed / 1000);
    }
    store.close();
  });
});

describe('who holds a run', { timeout: 60_000 }, () => {
  /** Starts `hold` in a worker process and resolves with the id of the run it holds. */
  async function holding(
    t: TestContext,
    file: string,
    seed: string,
  ): Promise<{ child: ChildProcess; id: string; gone: Promise<number | null> }> {
    const child = startWorker(t, 'hold', file, seed);
    const gone = exited(child);
    const id = await new Promise<string>((resolve) => {
      lines(child, (line) => {
        if (line.startsWith('running ')) resolve(line.slice('running '.length));
      });
    });
    return { child, id, gone };
  }

  test('layercut status: a holder killed with SIGKILL is shown as gone and its run as abandoned, not running', async (t) => {
    const file = path.join(dir, 'status.db');
    const { child, id, gone } = await holding(t, file, '21');
    const live = await captured(() => main(['status', '--db', file]));
    assert.equal(live.code, 0);
    assert.match(live.out, /1 runs — 0 queued, 1 running, 0 done, 0 failed/);
    assert.match(
      live.out,
      new RegExp(`^ {2}running ${id} .*\\(pid ${child.pid} on ${os.hostname()}, since `, 'm'),
    );

    child.kill('SIGKILL');
    await gone;
    const dead = await captured(() => main(['status', '--db', file]));
    assert.equal(dead.code, 0);
    assert.match(dead.out, /1 runs — 0 queued, 0 running, 1 abandoned, 0 done, 0 failed/);
    assert.match(
      dead.out,
      new RegExp(
        `^ {2}abandoned ${id} .*\\(pid ${child.pid} on ${os.hostname()} is gone, .*the next layercut run runs it again\\)`,
        'm',
      ),
    );
    const json = await captured(() => main(['status', '--db', file, '--json']));
    const status = JSON.parse(json.out) as { store: { running: { id: string; alive: boolean }[] } };
    assert.deepEqual(
      status.store.running.map((run) => [run.id, run.alive]),
      [[id, false]],
    );
  });

  test('a run recorded under a pid that now names an unrelated live process (pid reuse) is handed out again (Linux: /proc start times)', async (t) => {
    // An unrelated live process: it never opened the store.
    const unrelated = spawnNode(t, ['-e', 'setInterval(() => {}, 1000)'], {
      cwd: process.cwd(),
      name: 'unrelated',
    }).process;
    const pid = unrelated.pid!;
    const file = path.join(dir, 'reused-pid.db');
    const store = openStore(file);
    const [legacy, reused, real] = store.enqueue([31, 32, 33].map((seed) => fakePlan({ seed }))).ids;
    const hold = (id: string, start: string | null, leaseUntil: Date): void => {
      const raw = new Database(file);
      raw
        .prepare(
          `UPDATE runs SET status = 'running', attempts = 1, owner_host = ?, owner_pid = ?, owner_token = 'gone', lease_until = ? WHERE id = ?`,
        )
        .run(os.hostname(), pid, leaseUntil.toISOString(), id);
      if (start !== null) raw.prepare(`UPDATE runs SET owner_start = ? WHERE id = ?`).run(start, id);
      raw.close();
    };
    const hourAgo = new Date(Date.now() - 3600_000);
    const inAnHour = new Date(Date.now() + 3600_000);
    // Left by an older layercut, which recorded no start time: the pid lives, but the lease ran out.
    hold(legacy!, null, hourAgo);
    assert.deepEqual(store.unfinished([legacy!]), [legacy]);
    // Recorded by a process that had this pid before (another start time): the lease does not matter.
    hold(reused!, `${processStart(process.pid)?.split('/')[0] ?? 'boot'}/1`, inAnHour);
    assert.deepEqual(store.unfinished([reused!]), [reused]);
    assert.equal(store.get(reused!)!.owner!.alive, false);
    // Recorded by that very process: held.
    hold(real!, processStart(pid), hourAgo);
    assert.deepEqual(store.unfinished([real!]), []);
    assert.equal(store.get(real!)!.owner!.alive, true);
    assert.deepEqual(
      store
        .claimRuns(5)
        .map((run) => run.id)
        .sort(),
      [legacy, reused].sort(),
    );
    store.close();
  });
});
