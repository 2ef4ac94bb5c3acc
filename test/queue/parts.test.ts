/**
 * The parts of the multi-process schedulers, one by one: Redis addresses and job ids, costs and
 * the largest-first order, the triage against the store, the sweep printer, a run process
 * (a run that fails, a process that cannot start), and the commands' usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { keepFirst } from '../../dsl/index.js';
import { main } from '../../src/cli.js';
import { statusCommand } from '../../src/cli/status.js';
import { workerCommand } from '../../src/cli/worker.js';
import { compileValues } from '../../src/compile/compile.js';
import type { RunPlan } from '../../src/plan/types.js';
import { openStore } from '../../src/results/store.js';
import { ModelCatalog as RunnerModelCatalog } from '../../src/compile/model-info.js';
import { checkQueueName, jobIdOf, parseRedisUrl, runIdOfJob } from '../../src/queue/address.js';
import { parseCount, parseGpuList } from '../../src/cli/options.js';
import { ProgressPrinter as SweepPrinter } from '../../src/runner/progress.js';
import { RunProcess } from '../../src/queue/run-process.js';
import type { RunEvent as SweepEvent } from '../../src/runner/events.js';
import { largestFirst, plainSweepRuns, sweepRuns } from '../../src/runner/executor.js';
import { SweepLedger, sweepStore, triage } from '../../src/runner/ledger.js';
import { captured } from '../helpers/console.js';
import { fakePlan, fakeResult } from '../results/fake-runs.js';
import { tinyPlans } from '../runner/helpers.js';
import { freePort } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-queue-parts-'));
process.env['LAYERCUT_CACHE'] = path.join(dir, 'cache');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('addresses, job ids, options', () => {
  test('redis URLs: host, port, password hidden, db, TLS; mistakes say what to write', () => {
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380'), {
      host: '10.0.0.5',
      port: 6380,
      tls: false,
      display: 'redis://10.0.0.5:6380',
    });
    const full = parseRedisUrl('rediss://me:s%40cret@cache.local/3');
    assert.equal(full.port, 6379);
    assert.equal(full.username, 'me');
    assert.equal(full.password, 's@cret');
    assert.equal(full.db, 3);
    assert.equal(full.tls, true);
    assert.equal(full.display, 'rediss://me:***@cache.local/3');
    assert.throws(
      () => parseRedisUrl('localhost:6379'),
      /expected a redis:\/\/ or rediss:\/\/ URL\n {2}hint: write it as redis:\/\/host:6379/,
    );
    assert.throws(() => parseRedisUrl('redis://h:6379/x'), /the database after \/ must be a number/);
    assert.throws(() => parseRedisUrl('not a url'), /--queue not a url: not a URL/);
    assert.equal(checkQueueName('paper-sweep_2'), 'paper-sweep_2');
    assert.throws(() => checkQueueName('a:b'), /use letters, digits/);
  });

  test('job ids map one-to-one to run ids, also for a run id that reads as a number', () => {
    assert.equal(jobIdOf('0123456789abcdef'), 'run-0123456789abcdef');
    assert.equal(jobIdOf('1234567890123456'), 'run-1234567890123456');
    assert.equal(runIdOfJob('run-1234567890123456'), '1234567890123456');
    assert.equal(runIdOfJob('42'), undefined);
    assert.equal(runIdOfJob(undefined), undefined);
  });

  test('counts and GPU lists', () => {
    assert.deepEqual(parseGpuList('0,1, 3'), [0, 1, 3]);
    assert.throws(() => parseGpuList('0,0'), /a GPU is listed twice/);
    assert.throws(() => parseGpuList('0,x'), /--gpus x: expected a whole number ≥ 0/);
    assert.equal(parseCount('2', '--workers', 1), 2);
    assert.throws(() => parseCount('0', '--workers', 1), /--workers 0: expected a whole number ≥ 1/);
    assert.throws(() => parseCount('1.5', '--retries', 0), /expected a whole number/);
  });
});

describe('costs and order', () => {
  test('more kept layers cost more; the largest run comes first, equal costs keep their order', async () => {
    const { runs } = await compileValues([{ name: 'tiny', value: await tinySweepValue() }], {
      catalog: new RunnerModelCatalog(),
    });
    const swept = sweepRuns(runs);
    assert.equal(swept.length, 3);
    const [one, two, three] = swept;
    assert.ok(one!.cost > 0);
    assert.ok(one!.cost < two!.cost && two!.cost < three!.cost, swept.map((r) => r.cost).join(' < '));
    assert.deepEqual(
      largestFirst(swept).map((r) => r.plan.layers),
      [keepFirst(3), keepFirst(2), keepFirst(1)],
    );
    // No estimate (plans alone): the order stays.
    const unknown = plainSweepRuns(await tinyPlans(3));
    assert.deepEqual(
      largestFirst(unknown).map((r) => r.id),
      unknown.map((r) => r.id),
    );
  });
});

/** The tiny sweep of the runner tests as a DSL value (layers 1..3). */
async function tinySweepValue(): Promise<unknown> {
  const { adamw, experiment, lm, sweep, tasks } = await import('../../dsl/index.js');
  const base = experiment({
    model: { kind: 'builtin', name: 'tiny-gpt2' },
    task: tasks.spam,
    method: lm(),
    data: { trainPerClass: 4, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
    train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
    backend: 'wasm',
  });
  return sweep(base, { layers: [1, 2, 3].map(keepFirst) });
}

describe('triage against the store', () => {
  test('finished runs are reused, failed ones skipped unless asked, the rest run largest first', () => {
    const store = openStore(path.join(dir, 'triage.db'));
    try {
      const plans = [1, 2, 3, 4].map((seed) => fakePlan({ seed }));
      const runs = plainSweepRuns(plans).map((run, i) => ({ ...run, cost: i }));
      store.enqueue(plans);
      const [done, failed] = runs;
      assert.ok(store.markRunning(done!.id));
      store.finish(done!.id, fakeResult(done!.plan, { accuracy: 0.7 }));
      assert.ok(store.markRunning(failed!.id));
      store.fail(failed!.id, new Error('out of memory'));

      const first = triage(store, [...runs, runs[3]!], { backend: 'cpu' });
      assert.deepEqual([...first.finished.keys()], [done!.id]);
      assert.equal(first.finished.get(done!.id)!.test.accuracy, 0.7);
      assert.deepEqual(first.skips, [
        { id: failed!.id, reason: 'failed-before', detail: 'Error: out of memory' },
      ]);
      assert.deepEqual(
        first.toRun.map((r) => r.id),
        [runs[3]!.id, runs[2]!.id],
      );
      assert.ok(first.toRun.every((r) => r.plan.backend === 'cpu'));

      const again = triage(store, runs, { retryFailed: true });
      assert.deepEqual(
        again.toRun.map((r) => r.id),
        [runs[3]!.id, runs[2]!.id, failed!.id],
      );
    } finally {
      store.close();
    }
  });

  test('the ledger: one result stored per run, failures settle unless retried, the outcome in the order asked', () => {
    const { store, close } = sweepStore(path.join(dir, 'ledger.db'));
    try {
      const plans = [1, 2, 3, 4].map((seed) => fakePlan({ seed }));
      const [before, a, b, c] = plainSweepRuns(plans);
      store.enqueue([before!.plan]);
      assert.ok(store.markRunning(before!.id));
      store.finish(before!.id, fakeResult(before!.plan, { accuracy: 0.5 }));

      const events: SweepEvent[] = [];
      const ledger = new SweepLedger(store, [a!, before!, b!, c!, a!], {}, (e) => events.push(e));
      assert.deepEqual(
        ledger.toRun.map((r) => r.id),
        [a!.id, b!.id, c!.id],
      );
      ledger.announce('here');
      assert.deepEqual(events.shift(), {
        kind: 'plan',
        total: 4,
        finished: 1,
        toRun: 3,
        skipped: 0,
        store: store.path,
        where: 'here',
      });
      // a result stored elsewhere first wins over this one
      store.markRunning(b!.id);
      store.finish(b!.id, fakeResult(b!.plan, { accuracy: 0.9 }));
      ledger.done(b!.id, 'w1', fakeResult(b!.plan, { accuracy: 0.1 }));
      ledger.failed({
        id: c!.id,
        worker: 'w0',
        message: 'boom',
        detail: 'boom\n  at x',
        attempt: 1,
        retry: true,
      });
      ledger.failed({
        id: c!.id,
        worker: 'w0',
        message: 'boom',
        detail: 'boom\n  at y',
        attempt: 2,
        retry: false,
      });
      ledger.done(a!.id, 'w0', fakeResult(a!.plan, { accuracy: 0.7 }));
      assert.deepEqual(
        events.map((e) =>
          e.kind === 'done' || e.kind === 'failed' ? [e.kind, e.id, e.index, e.of] : e.kind,
        ),
        [
          ['done', b!.id, 1, 3],
          ['failed', c!.id, 1, 3],
          ['failed', c!.id, 2, 3],
          ['done', a!.id, 3, 3],
        ],
      );
      assert.equal(store.get(b!.id)!.result!.test.accuracy, 0.9);
      assert.equal(store.get(c!.id)!.status, 'failed');
      assert.match(store.get(c!.id)!.error!, /at y/);
      const outcome = ledger.outcome();
      assert.deepEqual(
        outcome.results.map((r) => [r.id, r.test.accuracy]),
        [
          [a!.id, 0.7],
          [before!.id, 0.5],
          [b!.id, 0.9],
        ],
      );
      assert.deepEqual(outcome.failed, [{ id: c!.id, error: 'boom' }]);
      assert.deepEqual(outcome.skipped, []);
    } finally {
      close();
    }
  });
});

describe('the sweep printer', () => {
  test('plain lines tagged with the worker: start, training, evaluations, done, failures and retries', () => {
    let written = '';
    const printer = new SweepPrinter({ stream: { write: (text: string) => (written += text) }, live: false });
    const plan: RunPlan = { ...fakePlan({ seed: 0 }), model: { kind: 'builtin', name: 'tiny-gpt2' } };
    const id = '0123456789abcdef';
    printer.handle({
      kind: 'plan',
      total: 3,
      finished: 1,
      toRun: 2,
      skipped: 0,
      store: '/x.db',
      where: 'on 2 worker processes',
    });
    printer.handle({ kind: 'worker', worker: 'w0', state: 'started', pid: 42, gpu: 1 });
    printer.handle({ kind: 'start', id, plan, worker: 'w0', attempt: 1 });
    printer.handle({
      kind: 'progress',
      id,
      worker: 'w0',
      progress: { phase: 'train', kind: 'step', step: 1, totalSteps: 8, epoch: 0, loss: 0.7, lr: 1e-3 },
    });
    printer.handle({
      kind: 'progress',
      id,
      worker: 'w0',
      progress: { phase: 'train', kind: 'step', step: 2, totalSteps: 8, epoch: 0, loss: 0.6, lr: 1e-3 },
    });
    printer.handle({
      kind: 'progress',
      id,
      worker: 'w0',
      progress: { phase: 'train', kind: 'eval', step: 4, epoch: 0, accuracy: 0.625, loss: 0.5, best: true },
    });
    printer.handle({
      kind: 'failed',
      id,
      worker: 'w0',
      error: 'verbalizer has 1 error:\n  - labels clash\n  hint: look',
      attempt: 1,
      retry: true,
      index: 0,
      of: 2,
    });
    printer.handle({
      kind: 'done',
      id,
      worker: 'w1',
      result: { ...fakeResult(plan, { accuracy: 0.875 }), id },
      index: 1,
      of: 2,
    });
    printer.finish();
    assert.equal(
      written,
      [
        '3 runs, 1 finished before, 2 to run on 2 worker processes (results store /x.db)',
        '[w0] worker started (pid 42) on GPU 1',
        `[w0] start ${id}  tiny-gpt2 first 2 · sst2 · lm · seed 0`,
        `[w0] ${id} train step 1/8`,
        `[w0] ${id} eval at step 4 (epoch 1): validation accuracy 62.5%`,
        // a message of several lines comes whole, indented under its first line
        `[0/2] failed (attempt 1, will retry) ${id} on w0: verbalizer has 1 error:`,
        '      - labels clash',
        '      hint: look',
        `[1/2] done ${id} on w1  tiny-gpt2 first 2 · sst2 · lm · seed 0: test accuracy 87.5%, macro-F1 ${(
          fakeResult(plan, { accuracy: 0.875 }).test.macroF1 * 100
        ).toFixed(1)}% (${fakeResult(plan, { accuracy: 0.875 }).timings.wallSeconds.toFixed(1)} s)`,
        '',
      ].join('\n'),
    );
  });
});

describe('a run process', { timeout: 60_000 }, () => {
  test('a run that throws is a failed outcome with its message; the process lives on and stops when told', async (t) => {
    const [plan] = await tinyPlans(1);
    const broken: RunPlan = { ...plan!, model: { kind: 'local', path: path.join(dir, 'no-such-model') } };
    const child = await RunProcess.start({ name: 't0' });
    t.after(() => child.kill()); // however the test ends
    try {
      assert.ok(child.alive);
      const outcome = await child.run('0123456789abcdef', broken);
      assert.equal(outcome.kind, 'failed');
      assert.match(outcome.kind === 'failed' ? outcome.message : '', /no tokenizer\.json in .*no-such-model/);
      assert.match(
        outcome.kind === 'failed' ? outcome.detail : '',
        /^LayercutError: no tokenizer\.json[^]*\n {4}at /,
      );
      assert.ok(child.alive);
    } finally {
      await child.stop();
    }
    assert.equal(child.alive, false);
  });

  test('a process that cannot start is an error with what it printed; the GPU is in its environment', async () => {
    const entry = path.join(dir, 'broken-entry.mjs');
    writeFileSync(
      entry,
      'const env = process.env;\n' +
        'console.error(`cannot load: missing piece (GPU ${env.LAYERCUT_GPU}, CUDA ${env.CUDA_VISIBLE_DEVICES}, child ${env.LAYERCUT_RUN_PROCESS})`);\n' +
        'process.exit(3);\n',
    );
    await assert.rejects(
      RunProcess.start({ name: 'w9', entry, gpu: 1 }),
      /run process w9 exited with code 3 before it was ready:\ncannot load: missing piece \(GPU 1, CUDA 1, child 1\)/,
    );
  });
});

describe('usage mistakes', () => {
  test('run: --queue with --workers, --retries alone, a bad address, Redis not there', async () => {
    const both = await captured(() => main(['run', 'x.ts', '--queue', 'redis://h:1', '--workers', '2']));
    assert.equal(both.code, 2);
    assert.match(
      both.err,
      /--queue sends the runs to `layercut worker`s; --workers and --gpus start workers here: pick one/,
    );
    const retries = await captured(() => main(['run', 'x.ts', '--retries', '2']));
    assert.equal(retries.code, 2);
    assert.match(retries.err, /--retries applies to --workers, --gpus and --queue/);
    const address = await captured(() => main(['run', 'x.ts', '--queue', 'http://h:6379']));
    assert.equal(address.code, 2);
    assert.match(address.err, /--queue http:\/\/h:6379: expected a redis:\/\/ or rediss:\/\/ URL/);
    const workers = await captured(() => main(['run', 'x.ts', '--workers', '0']));
    assert.match(workers.err, /--workers 0: expected a whole number ≥ 1/);

    const port = await freePort();
    await assert.rejects(
      statusCommand.run(['--queue', `redis://127.0.0.1:${port}`, '--db', path.join(dir, 'none.db')]),
      /no results store at/,
    );
    await assert.rejects(
      statusCommand.run(['--queue', `redis://127.0.0.1:${port}`]),
      new RegExp(
        `cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*\\n {2}hint: start redis-server there`,
      ),
    );
  });

  test('worker: --queue is required; a bad --gpu says so', async () => {
    await assert.rejects(workerCommand.run([]), /--queue is required/);
    await assert.rejects(
      workerCommand.run(['--queue', 'redis://h:6379', '--gpu', 'x']),
      /--gpu x: expected a whole number ≥ 0/,
    );
  });
});
