/** Run ids: a content hash of the plan, so the same run has the same id however and wherever it is written. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import {
  adamw,
  experiment,
  hf,
  icl,
  keep,
  keepFirst,
  lm,
  override,
  sweep,
  tasks,
  verbalizer,
} from '../../dsl/index.js';
import { compileValues } from '../../src/compile/compile.js';
import { compileFile } from '../../src/compile/file.js';
import { runId } from '../../src/plan/id.js';
import { dslFixture, offlineCatalog, repoRoot } from './helpers.js';

/** SHA-256 of examples/paper.ts's 640 run ids, one per line in plan order, as planned before the ICL ids changed (issue 20). */
const PAPER_IDS_SHA256 = '7d395622261c2742024beca16c9c843580f5931d57c27b02f324726c8dcb4248';

async function idsOf(value: unknown): Promise<string[]> {
  const result = await compileValues([{ name: 'x', value }], { catalog: offlineCatalog() });
  assert.deepEqual(result.issues, []);
  return result.runs.map((r) => r.id);
}

test('the id is runId(plan), 16 hex digits, and changes with what runs', async () => {
  const result = await compileValues(
    [{ name: 'x', value: experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2 }) }],
    {
      catalog: offlineCatalog(),
    },
  );
  const [run] = result.runs;
  assert.equal(run!.id, runId(run!.plan));
  assert.match(run!.id, /^[0-9a-f]{16}$/);
  const [other] = await idsOf(experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2, seed: 1 }));
  assert.notEqual(other, run!.id);
  const [elsewhere] = await idsOf(
    experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2, backend: 'cpu' }),
  );
  assert.equal(elsewhere, run!.id, 'the backend is not part of the id');
});

test('key order, defaults spelt out or not, and equivalent layer forms give the same id', async () => {
  const [a] = await idsOf(
    experiment({
      model: hf('openai-community/gpt2'),
      task: tasks.sst2,
      layers: keepFirst(2),
      method: lm(),
      train: { optimizer: adamw({ lr: 1e-4 }), epochs: 10 },
    }),
  );
  const [b] = await idsOf(
    experiment({
      train: { epochs: 10, batchSize: 1, optimizer: adamw({ eps: 1e-8, lr: 1e-4, betas: [0.9, 0.999] }) },
      layers: keep([1, 0]),
      seed: 0,
      words: verbalizer(tasks.sst2, { positive: ' Positive', negative: ' Negative' }),
      task: tasks.sst2,
      model: hf('openai-community/gpt2'),
    }),
  );
  const [c] = await idsOf(
    override(experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2, layers: '0..1' }), {
      train: { optimizer: adamw({ lr: 1e-4 }), epochs: 10 },
    }),
  );
  assert.equal(a, b);
  assert.equal(a, c);
});

test('the same runs written in two files have the same ids', async () => {
  const a = await compileFile(dslFixture('ids-a.ts'), { catalog: offlineCatalog() });
  const b = await compileFile(dslFixture('ids-b.ts'), { catalog: offlineCatalog() });
  assert.deepEqual(a.issues, []);
  assert.deepEqual(b.issues, []);
  assert.equal(a.runs.length, 4);
  assert.deepEqual(new Set(a.runs.map((r) => r.id)), new Set(b.runs.map((r) => r.id)));
});

test('a grid in its own file and re-exported from another keeps its ids', async () => {
  const own = await compileFile(path.join(repoRoot, 'examples/paper-gpt2xl.ts'), {
    catalog: offlineCatalog(),
  });
  const both = await compileFile(path.join(repoRoot, 'examples/paper.ts'), {
    catalog: offlineCatalog(),
    only: ['gpt2xlGrid', 'gpt2xlIcl'],
  });
  assert.equal(own.runs.length, 320);
  assert.deepEqual(
    both.runs.map((r) => r.id),
    own.runs.map((r) => r.id),
  );
});

test('in-context learning: runs that differ only in options it does not use are one run (one id)', async () => {
  const base = experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2, method: icl() });
  const variants = sweep(base, {
    lr: [1e-5, 1e-4],
    epochs: [1, 10],
    train: [{}, { batchSize: 8, earlyStopPatience: 2 }],
    trainPerClass: [16, 200],
  });
  const result = await compileValues([{ name: 'icl', value: variants }], { catalog: offlineCatalog() });
  assert.deepEqual(result.issues, []);
  assert.equal(result.runs.length, 1, 'sixteen definitions, one run');
  assert.equal(result.duplicates, 15);
  const [plain] = await idsOf(base);
  assert.equal(result.runs[0]!.id, plain, 'the id of the ICL run written with the defaults');
  // what ICL does use still tells runs apart: seed, demonstrations, precision
  const [seeded] = await idsOf(override(base, { seed: 1 }));
  const [demos] = await idsOf(override(base, { data: { demosPerClass: 2 } }));
  const [mixed] = await idsOf(override(base, { train: { precision: 'mixed' } }));
  assert.equal(new Set([plain, seeded, demos, mixed]).size, 4);
  // a fine-tuning run with the same options keeps them (and its ids)
  const lmRuns = await compileValues(
    [{ name: 'lm', value: sweep(override(base, { method: lm() }), { lr: [1e-5, 1e-4] }) }],
    {
      catalog: offlineCatalog(),
    },
  );
  assert.equal(lmRuns.runs.length, 2);
});

test('the paper grid plans the same 640 ids as before (a change here would orphan stored results)', async () => {
  const paper = await compileFile(path.join(repoRoot, 'examples/paper.ts'), { catalog: offlineCatalog() });
  const digest = createHash('sha256')
    .update(paper.runs.map((r) => r.id).join('\n'))
    .digest('hex');
  assert.equal(paper.runs.length, 640);
  assert.equal(digest, PAPER_IDS_SHA256);
});
