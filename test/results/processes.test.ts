/**
 * The store shared by real processes: a process killed half-way leaves no half result and its
 * run is handed out again; two processes writing the same file at once lose nothing.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test, type TestContext } from 'node:test';

import { openStore } from '../../src/results/store.js';
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
