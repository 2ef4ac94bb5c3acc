/**
 * The notebook helpers in a plain Node process (no kernel), as display.test.ts runs them:
 *
 *   node --import tsx test/notebook/outside-kernel.ts STORE
 *
 * shows a table, "plots" a spec, runs a one-run sweep on tiny-gpt2 into STORE, and prints the
 * outcome after a RESULT marker as JSON.
 */
import { adamw, experiment, keepFirst, lm, tasks, type BuiltinModel } from '../../dsl/index.js';
import { inKernel, plot, run, show } from '../../src/notebook/index.js';

const store = process.argv[2];
if (!store) throw new Error('usage: outside-kernel.ts STORE');

show([
  { task: 'spam', accuracy: 0.8125 },
  { task: 'sotu-party', accuracy: 0.5 },
]);
await plot({ title: { text: 'Accuracy' }, data: { values: [{ x: 1 }, { x: 2 }] }, mark: 'point' });

const tinyGpt2: BuiltinModel = { kind: 'builtin', name: 'tiny-gpt2' };
const results = await run(
  experiment({
    model: tinyGpt2,
    layers: keepFirst(1),
    task: tasks.spam,
    method: lm(),
    data: { trainPerClass: 2, demosPerClass: 0, validation: 4, test: 8, maxLength: 32 },
    train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
    backend: 'wasm',
  }),
  { store },
);
const stored = results.stored[0]!;
process.stdout.write(
  `RESULT ${JSON.stringify({
    inKernel: inKernel(),
    counts: results.counts,
    ids: results.ids,
    accuracy: stored.result?.test.accuracy ?? null,
    paperTable: results.paperTable(),
  })}\n`,
);
