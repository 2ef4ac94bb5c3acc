/**
 * A separate process for the store tests: opens the results store given on the command line
 * and does one job, printing a line per step so the test knows when to kill it.
 *
 *   hold DB SEED           enqueue one run, mark it running, print "running ID", then wait forever
 *   finish-all DB N        enqueue N runs, claim them, finish them one by one printing "finished ID"
 *   hammer DB NAME N GO    print "ready", wait until the file GO exists, enqueue the same N runs
 *                          as the other hammer, claim and finish one at a time until none is
 *                          left, then print {"claimed": [...]} as JSON
 */
import { existsSync } from 'node:fs';

import { openStore } from '../../src/results/store.js';
import { fakePlan, fakeResult } from './fake-runs.js';

const [mode, db, ...rest] = process.argv.slice(2);
const store = openStore(db, { busyTimeoutMs: 30_000 });

if (mode === 'hold') {
  const plan = fakePlan({ seed: Number(rest[0]) });
  const [id] = store.enqueue([plan]).ids;
  if (!store.markRunning(id)) throw new Error(`could not take ${id}`);
  process.stdout.write(`running ${id}\n`);
  setInterval(() => undefined, 1000);
} else if (mode === 'finish-all') {
  const count = Number(rest[0]);
  const plans = Array.from({ length: count }, (_, i) => fakePlan({ seed: 1000 + i }));
  store.enqueue(plans);
  const claimed = store.claimRuns(count);
  for (const { id, plan } of claimed) {
    // Long curves make each finish a big write, so a kill can land inside one.
    store.finish(id, fakeResult(plan, { accuracy: 0.5 + (plan.seed % 100) / 1000, steps: 20_000 }));
    process.stdout.write(`finished ${id}\n`);
  }
  store.close();
} else if (mode === 'hammer') {
  const [name, countText, goFile] = rest;
  const count = Number(countText);
  // Start together: say ready, then wait for the test to create the go file.
  process.stdout.write('ready\n');
  while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 2));
  const plans = Array.from({ length: count }, (_, i) =>
    fakePlan({ seed: i, task: i % 2 ? 'sst2' : 'agnews' }),
  );
  // Enqueue in small batches, interleaving with the other process.
  for (let i = 0; i < plans.length; i += 5) store.enqueue(plans.slice(i, i + 5));
  const claimed: string[] = [];
  for (;;) {
    const [run] = store.claimRuns(1);
    if (!run) break;
    claimed.push(run.id);
    const result = fakeResult(run.plan, { accuracy: 0.6 + run.plan.seed / 1000, steps: 5 });
    store.finish(run.id, { ...result, versions: { ...result.versions, worker: name } });
    // A real worker trains between writes; without a pause one process could take every run
    // while the other sleeps in SQLite's busy handler.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  store.close();
  process.stdout.write(`${JSON.stringify({ claimed })}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
