/**
 * Ctrl-C as a user meets it, on the default CPU backend (wasm), whose ops never give the event
 * loop a turn of their own: `layercut run` stops at the next training step with exit 130 and the
 * run back in the queue (not done, not failed), and the same command resumes it; so do its
 * worker processes (`--workers`); a second Ctrl-C ends the process at once, while the same
 * signal delivered twice is one Ctrl-C; and under `npm start` no process is left training.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { openStoreReadOnly, type StoredRun } from '../../src/results/store.js';
import { spawnCommand, spawnNode, type Owner, type SpawnedCommand } from '../helpers/spawn.js';
import { processExists } from '../queue/helpers.js';
import { layercutBin, repoRoot, testFolder } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { dir, cache } = testFolder('layercut-ctrl-c-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Optimizer steps of the long run: tens of seconds on wasm here, far more than the 5 s a stop may take. */
const LONG_STEPS = 120;

/** One run of `LONG_STEPS` steps on wasm (tiny-gpt2, 2 layers), no early stop, one evaluation at the end. */
function writeLongExperiment(): string {
  const file = path.join(dir, 'long.ts');
  const dsl = JSON.stringify(path.join(repoRoot, 'dsl', 'index.js'));
  writeFileSync(
    file,
    `import { adamw, experiment, keepFirst, lm, tasks } from ${dsl};
export const long = experiment({
  model: { kind: 'builtin', name: 'tiny-gpt2' },
  task: tasks.spam, method: lm(), layers: keepFirst(2), backend: 'wasm',
  data: { trainPerClass: 8, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
  train: { optimizer: adamw({ lr: 1e-3 }), batchSize: 4, steps: ${LONG_STEPS}, evalEvery: ${LONG_STEPS}, earlyStopPatience: 0 },
});
`,
  );
  return file;
}

function storedRuns(db: string): StoredRun[] {
  const store = openStoreReadOnly(db);
  try {
    return store.list();
  } finally {
    store.close();
  }
}

/** Whether any process of the group led by `pgid` is left. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `layercut run <args>` in the test folder (plain progress lines: stderr is a pipe). */
function layercutRun(t: Owner, args: string[]): SpawnedCommand {
  return spawnNode(t, [layercutBin, 'run', ...args], {
    cwd: dir,
    env: { LAYERCUT_CACHE: cache },
    name: 'layercut run',
  });
}

describe('Ctrl-C', { timeout: 300_000 }, () => {
  test('layercut run on wasm: SIGINT at a training step exits 130 within 5 s, the run put back, not done; the same command resumes it', async (t) => {
    const file = writeLongExperiment();
    const db = path.join(dir, 'long.db');
    const first = layercutRun(t, [file, '--db', db]);
    await first.waitForLine(new RegExp(`^\\[1/1\\] train step 1/${LONG_STEPS},`));
    const sent = performance.now();
    first.process.kill('SIGINT');
    assert.equal(await first.exitWithin(5_000), 130, first.stderr());
    t.diagnostic(`exited ${((performance.now() - sent) / 1000).toFixed(2)} s after SIGINT`);
    const id = /^interrupted: run ([0-9a-f]{16}) was put back in the queue/m.exec(first.stderr())?.[1];
    assert.ok(id, first.stderr());
    assert.doesNotMatch(first.stderr(), /\] done /);
    assert.equal(first.stdout(), '');
    const [stopped, ...others] = storedRuns(db);
    assert.equal(others.length, 0);
    assert.equal(stopped!.id, id);
    assert.equal(stopped!.status, 'queued');
    assert.equal(stopped!.attempts, 1);
    assert.equal(stopped!.result, null);
    assert.equal(stopped!.error, null);

    const second = layercutRun(t, [file, '--db', db]);
    assert.equal(await second.exit, 0, second.stderr());
    assert.match(second.stderr(), /^1 run, 1 to run/m);
    assert.match(second.stderr(), new RegExp(`^\\[1/1\\] start ${id} `, 'm'));
    const [resumed] = storedRuns(db);
    assert.equal(resumed!.status, 'done');
    assert.equal(resumed!.attempts, 2);
    assert.equal(resumed!.result!.curves.train.length, LONG_STEPS);
    assert.equal(resumed!.result!.curves.train.at(-1)!.step, LONG_STEPS);
  });

  test('layercut run --workers 1 on wasm: the worker stops at its next step (before the 5 s kill), exit 130, the run put back', async (t) => {
    const file = writeLongExperiment();
    const db = path.join(dir, 'long-pool.db');
    const run = layercutRun(t, [file, '--db', db, '--workers', '1']);
    const pid = Number(/pid (\d+)/.exec(await run.waitForLine(/^\[w0\] worker started \(pid \d+\)/))![1]);
    await run.waitForLine(/^\[w0\] [0-9a-f]{16} train step/);
    run.process.kill('SIGINT');
    // A worker that does not read `stop` is killed after 5 s (RunProcess.stopTimeoutMs): stopping sooner shows it read it.
    assert.equal(await run.exitWithin(4_000), 130, run.stderr());
    assert.match(
      run.stderr(),
      /^interrupted: 1 run put back in the queue; run the same command again to resume$/m,
    );
    assert.equal(processExists(pid), false, 'the worker process is gone');
    const [stopped] = storedRuns(db);
    assert.equal(stopped!.status, 'queued');
    assert.equal(stopped!.result, null);
  });

  test('a second Ctrl-C a second after the first ends the process at once, mid-computation; one signal delivered twice is one Ctrl-C', async (t) => {
    const target = spawnNode(
      t,
      ['--import', import.meta.resolve('tsx/esm'), path.join(here, 'ctrl-c-target.ts')],
      {
        cwd: repoRoot,
        name: 'ctrl-c-target',
        timeoutMs: 60_000,
      },
    );
    await target.waitForLine(/^ready$/);
    // one Ctrl-C under `npm start`: the terminal signals the process group, npm forwards it again
    target.process.kill('SIGINT');
    target.process.kill('SIGINT');
    await target.waitForLine(/^first Ctrl-C$/);
    await target.waitForLine(/^computing without turns$/);
    assert.equal(target.process.exitCode, null, 'the duplicate did not end it');
    const sent = performance.now();
    target.process.kill('SIGINT');
    assert.equal(await target.exitWithin(2_000), 'SIGINT');
    t.diagnostic(`ended ${((performance.now() - sent) / 1000).toFixed(2)} s after the second Ctrl-C`);
    assert.doesNotMatch(target.stderr(), /still here/);
  });

  for (const [to, send] of [
    ["to npm's process group (a terminal's Ctrl-C)", (npm: SpawnedCommand) => npm.signalGroup('SIGINT')],
    ['to npm alone', (npm: SpawnedCommand) => npm.process.kill('SIGINT')],
  ] as const) {
    test(`npm start: SIGINT ${to} ends npm and layercut within 5 s, exit 130, no process left, the run put back`, async (t) => {
      const db = path.join(dir, `npm-start-${to.length}.db`);
      const npm = spawnCommand(t, 'npm', ['start', '--', '--db', db], {
        cwd: repoRoot,
        env: { LAYERCUT_CACHE: cache },
        name: 'npm start',
      });
      await npm.waitForLine(/^\[1\/4\] train step 1\//);
      send(npm);
      assert.equal(await npm.exitWithin(5_000), 130, npm.stderr());
      assert.match(npm.stderr(), /^interrupted: run [0-9a-f]{16} was put back in the queue/m);
      assert.equal(groupExists(npm.process.pid!), false, 'a process of npm start is still running');
      const runs = storedRuns(db);
      assert.equal(runs.length, 4);
      assert.deepEqual(
        runs.map((r) => r.status),
        ['queued', 'queued', 'queued', 'queued'],
      );
    });
  }
});
