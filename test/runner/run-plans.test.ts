/**
 * runPlans in this process: each result stored once, finished runs reused on a second call, a
 * failing run marked failed while the others run, `only` by id prefix, and an abort signal that
 * puts the current run back in the queue instead of failing it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LayercutError } from '../../src/errors.js';
import { runId } from '../../src/plan/id.js';
import type { RunPlan } from '../../src/plan/types.js';
import { openStore } from '../../src/results/store.js';
import { runPlans, RunsInterruptedError, type RunEvent as RunnerEvent } from '../../src/runner/index.js';
import { testFolder, tinyPlans } from './helpers.js';

const { dir } = testFolder('layercut-runner-');
after(() => rmSync(dir, { recursive: true, force: true }));

let plans: RunPlan[];
let ids: string[];
before(async () => {
  plans = await tinyPlans(3);
  ids = plans.map(runId);
});

const db = (name: string): string => path.join(dir, name);
const kinds = (events: RunnerEvent[]) => events.map((e) => e.kind).filter((k) => k !== 'progress');

describe('runPlans', { timeout: 120_000 }, () => {
  test('runs each plan once, stores each result once, and reuses finished runs on a second call', async () => {
    const file = db('twice.db');
    const events: RunnerEvent[] = [];
    const first = await runPlans(plans, { store: file, onEvent: (e) => events.push(e) });
    assert.deepEqual(first.failed, []);
    assert.deepEqual(first.skipped, []);
    assert.deepEqual(
      first.results.map((r) => r.id),
      ids,
    );
    assert.deepEqual(
      first.results.map((r) => r.size.layersAfter),
      [1, 2, 3],
    );
    for (const result of first.results) {
      assert.ok(result.test.accuracy >= 0 && result.test.accuracy <= 1);
      assert.equal(
        result.test.perClass.reduce((n, c) => n + c.support, 0),
        20,
      );
      assert.equal(result.backend, 'wasm');
    }
    assert.deepEqual(kinds(events), ['plan', 'start', 'done', 'start', 'done', 'start', 'done']);
    assert.deepEqual(events[0], { kind: 'plan', total: 3, finished: 0, toRun: 3, skipped: 0, store: file });
    const steps = events.filter(
      (e) => e.kind === 'progress' && e.progress.phase === 'train' && e.progress.kind === 'step',
    );
    assert.equal(steps.length, 3 * 2); // 8 training emails, batch 4, 1 epoch: 2 steps per run
    const starts = events.filter((e): e is Extract<RunnerEvent, { kind: 'start' }> => e.kind === 'start');
    assert.deepEqual(
      starts.map((e) => [e.index, e.of]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    );

    const store = openStore(file);
    try {
      const stored = store.list();
      assert.deepEqual(
        stored.map((r) => [r.id, r.status, r.attempts]),
        ids.map((id) => [id, 'done', 1]),
      );
      assert.deepEqual(
        stored.map((r) => r.result!.test.accuracy),
        first.results.map((r) => r.test.accuracy),
      );
    } finally {
      store.close();
    }

    const again: RunnerEvent[] = [];
    const second = await runPlans(plans, { store: file, onEvent: (e) => again.push(e) });
    assert.deepEqual(kinds(again), ['plan']);
    assert.deepEqual(again[0], { kind: 'plan', total: 3, finished: 3, toRun: 0, skipped: 0, store: file });
    assert.deepEqual(second.results, first.results);

    const reopened = openStore(file);
    try {
      assert.deepEqual(
        reopened.list().map((r) => r.attempts),
        [1, 1, 1],
      );
    } finally {
      reopened.close();
    }
  });

  test('only: runs whose id starts with a prefix; a prefix matching nothing is an error', async () => {
    const file = db('only.db');
    const outcome = await runPlans(plans, { store: file, only: [ids[1]!.slice(0, 6)] });
    assert.deepEqual(
      outcome.results.map((r) => r.id),
      [ids[1]],
    );
    const store = openStore(file);
    try {
      assert.deepEqual(
        store.list().map((r) => r.id),
        [ids[1]],
      );
    } finally {
      store.close();
    }
    await assert.rejects(runPlans(plans, { store: file, only: ['zzzz'] }), (error: unknown) => {
      assert.ok(error instanceof LayercutError);
      assert.match(error.message, /no run id starts with 'zzzz'/);
      return true;
    });
  });

  test('a failing run is marked failed with its error, the others still run; it is skipped later unless retried', async () => {
    const file = db('failing.db');
    const missing = path.join(dir, 'no-such-model');
    const broken: RunPlan = { ...plans[1]!, model: { kind: 'local', path: missing } };
    const brokenId = runId(broken);
    const mixed = [plans[0]!, broken, plans[2]!];
    const events: RunnerEvent[] = [];
    const outcome = await runPlans(mixed, { store: file, onEvent: (e) => events.push(e) });
    assert.deepEqual(
      outcome.results.map((r) => r.id),
      [ids[0], ids[2]],
    );
    assert.equal(outcome.failed.length, 1);
    assert.equal(outcome.failed[0]!.id, brokenId);
    assert.match(outcome.failed[0]!.error, /no-such-model/);
    assert.deepEqual(kinds(events), ['plan', 'start', 'done', 'start', 'failed', 'start', 'done']);

    const store = openStore(file);
    try {
      const failed = store.get(brokenId)!;
      assert.equal(failed.status, 'failed');
      assert.match(failed.error!, /no-such-model/);
      assert.equal(failed.result, null);
      assert.deepEqual(store.counts(), { queued: 0, running: 0, done: 2, failed: 1 });
    } finally {
      store.close();
    }

    const skippedEvents: RunnerEvent[] = [];
    const later = await runPlans(mixed, { store: file, onEvent: (e) => skippedEvents.push(e) });
    assert.deepEqual(later.skipped, [brokenId]);
    assert.deepEqual(later.failed, []);
    assert.equal(later.results.length, 2);
    const skip = skippedEvents.find((e) => e.kind === 'skipped');
    assert.ok(skip && skip.kind === 'skipped');
    assert.equal(skip.reason, 'failed-before');
    assert.match(skip.detail, /no-such-model/);

    const retried = await runPlans(mixed, { store: file, retryFailed: true });
    assert.deepEqual(
      retried.failed.map((f) => f.id),
      [brokenId],
    );
    const reopened = openStore(file);
    try {
      assert.equal(reopened.get(brokenId)!.attempts, 2);
      assert.equal(reopened.get(ids[0]!)!.attempts, 1);
    } finally {
      reopened.close();
    }
  });

  test('an abort puts the current run back in the queue (not failed); the next call resumes it', async () => {
    const file = db('abort.db');
    const controller = new AbortController();
    const events: RunnerEvent[] = [];
    const onEvent = (event: RunnerEvent): void => {
      events.push(event);
      // Abort during the second run's first training step.
      if (event.kind === 'progress' && event.index === 2 && event.progress.phase === 'train')
        controller.abort();
    };
    await assert.rejects(
      runPlans(plans, { store: file, onEvent, signal: controller.signal }),
      (error: unknown) => {
        assert.ok(error instanceof RunsInterruptedError);
        assert.equal(error.runId, ids[1]);
        assert.deepEqual(
          error.partial.results.map((r) => r.id),
          [ids[0]],
        );
        return true;
      },
    );
    assert.deepEqual(kinds(events), ['plan', 'start', 'done', 'start', 'interrupted']);

    const store = openStore(file);
    try {
      assert.deepEqual(
        store.list().map((r) => [r.status, r.attempts, r.error]),
        [
          ['done', 1, null],
          ['queued', 1, null],
          ['queued', 0, null],
        ],
      );
    } finally {
      store.close();
    }

    const resumed: RunnerEvent[] = [];
    const outcome = await runPlans(plans, { store: file, onEvent: (e) => resumed.push(e) });
    assert.deepEqual(resumed[0], { kind: 'plan', total: 3, finished: 1, toRun: 2, skipped: 0, store: file });
    assert.deepEqual(
      outcome.results.map((r) => r.id),
      ids,
    );
  });

  test('with a store the caller keeps open, an interrupted run stays claimed by it and the next call runs it', async () => {
    const store = openStore(db('open-store.db'));
    try {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        runPlans(plans.slice(0, 1), { store, signal: controller.signal }),
        RunsInterruptedError,
      );
      // Aborted before it started: nothing ran, nothing failed.
      assert.equal(store.get(ids[0]!)!.status, 'queued');

      const second = new AbortController();
      const onEvent = (event: RunnerEvent): void => {
        if (event.kind === 'progress' && event.progress.phase === 'train') second.abort();
      };
      await assert.rejects(
        runPlans(plans.slice(0, 1), { store, onEvent, signal: second.signal }),
        RunsInterruptedError,
      );
      assert.equal(store.get(ids[0]!)!.status, 'running');

      const outcome = await runPlans(plans.slice(0, 1), { store });
      assert.deepEqual(
        outcome.results.map((r) => r.id),
        [ids[0]],
      );
      assert.equal(store.get(ids[0]!)!.status, 'done');
    } finally {
      store.close();
    }
  });
});
