/**
 * `layercut check` and `layercut plan`: diagnostics as file:line:col, the paper files' runs
 * from config alone (no weights, no network), and how long plan takes (measured, not asserted).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli.js';
import { checkCommand } from '../../src/cli/check.js';
import { planCommand } from '../../src/cli/plan.js';
import { checkFile, experimentProject, formatDiagnostic } from '../../src/compile/check.js';
import type { PlanListing } from '../../src/compile/listing.js';
import { dslFixture, repoRoot } from './helpers.js';
import { captured } from '../helpers/console.js';
import { openStore } from '../../src/results/store.js';
import { fakeResult } from '../results/fake-runs.js';

// hub models are known only from layercut's table: the machine's Hugging Face cache is not consulted
process.env['HF_HUB_CACHE'] = dslFixture('no-hub-cache');

const relative = (file: string): string => path.relative(repoRoot, file);

test('check: a misspelt placeholder, a missing label and an out-of-range layer, each at its line and column', async () => {
  const previous = process.cwd();
  process.chdir(repoRoot);
  try {
    const { code, out } = await captured(() => checkCommand.run([relative(dslFixture('check-mistakes.ts'))]));
    assert.equal(code, 2);
    assert.deepEqual(out.split('\n'), [
      `test/fixtures/dsl/check-mistakes.ts:5:47 Argument of type '"txt"' is not assignable to parameter of type '"text" | "label"'. (TS2345)`,
      `test/fixtures/dsl/check-mistakes.ts:6:38 Argument of type '{ negative: string; }' is not assignable to parameter of type '{ readonly negative: LabelWords; readonly positive: LabelWords; }'. (TS2345)`,
      `    Property 'positive' is missing in type '{ negative: string; }' but required in type '{ readonly negative: LabelWords; readonly positive: LabelWords; }'.`,
      'test/fixtures/dsl/check-mistakes.ts:11:41 cannot keep the first 13 layers: openai-community/gpt2 has 12 layers; choose a count from 0 to 12',
      `note: the tokenizer of openai-community/gpt2 is not in the Hugging Face cache (${dslFixture('no-hub-cache')}): label words and token counts of openai-community/gpt2 not checked (they are once it is downloaded, e.g. by its first run)`,
    ]);
  } finally {
    process.chdir(previous);
  }
});

test('check: mistakes in values built at run time, at the property (or inside the string) that holds them', async () => {
  const project = experimentProject(dslFixture(''));
  const lines = (await checkFile(dslFixture('runtime-mistakes.ts'), { project })).map((d) =>
    formatDiagnostic(d, repoRoot),
  );
  assert.deepEqual(lines, [
    'test/fixtures/dsl/runtime-mistakes.ts:11:12 template "Review: {txt}\\nSentiment:{label}": unknown field {txt}: the fields are: {text}',
    "test/fixtures/dsl/runtime-mistakes.ts:12:11 verbalizer: missing label 'positive'; it must name exactly 'negative', 'positive'",
    `test/fixtures/dsl/runtime-mistakes.ts:13:12 cannot read layer selection 'frist 2': Expected "all", "drop", "first", "last", or a layer index (0, 1, 2, …) but "f" found (write e.g. 'first 2', 'last 2', '0..1', '0, 5, 7', 'drop 24..47' or 'all')`,
    `test/fixtures/dsl/runtime-mistakes.ts:13:51 cannot read layer selection '0..3, x': Expected a layer index (0, 1, 2, …) but "x" found (write e.g. 'first 2', 'last 2', '0..1', '0, 5, 7', 'drop 24..47' or 'all')`,
    'test/fixtures/dsl/runtime-mistakes.ts:13:55 cannot drop layer 12: openai-community/gpt2 has 12 layers (0..11)',
  ]);
  const thrown = (await checkFile(dslFixture('throws-on-import.ts'), { project })).map((d) =>
    formatDiagnostic(d, repoRoot),
  );
  assert.deepEqual(thrown, [
    "test/fixtures/dsl/throws-on-import.ts:4:75 importing the experiment file failed: unknown task 'sst3'; known tasks: sst2, agnews, trec, emoc, spam, sotu-party",
  ]);
  assert.deepEqual(await checkFile(dslFixture('ids-a.ts'), { project }), []);
});

async function planJson(args: string[]): Promise<PlanListing> {
  const { code, out, err } = await captured(() => planCommand.run([...args, '--json']));
  assert.equal(code, 0, err);
  return JSON.parse(out) as PlanListing;
}

test('plan --json: the paper files define 600 fine-tuning runs and 40 ICL runs, sized from config alone', async (t) => {
  const started = performance.now();
  const listing = await planJson([path.join(repoRoot, 'examples/paper.ts')]);
  t.diagnostic(
    `plan --json examples/paper.ts: ${listing.runs.length} runs in ${((performance.now() - started) / 1000).toFixed(2)} s`,
  );
  assert.equal(listing.runs.length, 640);
  assert.equal(listing.runs.filter((r) => r.plan.method.kind !== 'icl').length, 600);
  assert.deepEqual(listing.exports, ['gpt2xlGrid', 'gpt2xlIcl', 'opt13bGrid', 'opt13bIcl']);
  assert.deepEqual(listing.columns, ['export', 'model', 'layers', 'task', 'method', 'seed']);
  const count = (name: string): number => listing.runs.filter((r) => r.exports.includes(name)).length;
  assert.deepEqual(
    [count('gpt2xlGrid'), count('gpt2xlIcl'), count('opt13bGrid'), count('opt13bIcl')],
    [300, 20, 300, 20],
  );
  // parameters of each cut, from the known configs (the numbers transformers reports)
  const params = (model: string, layers: string): unknown =>
    listing.runs.find((r) => r.varies['model'] === model && r.varies['layers'] === layers)?.estimate.params;
  assert.deepEqual(params('openai-community/gpt2-xl', 'first 2'), {
    before: 1557611200,
    after: 143534400,
    layersBefore: 48,
    layersAfter: 2,
  });
  assert.deepEqual(params('facebook/opt-1.3b', 'first 24'), {
    before: 1315758080,
    after: 1315758080,
    layersBefore: 24,
    layersAfter: 24,
  });
  // SST-2 with lm: (1 + 2 demos) × (13 + 5 + 1) = 57 tokens a prompt; 400 examples × 50 epochs; 50 validations of 1000 + 1000 test
  const sst2 = listing.runs.find(
    (r) =>
      r.varies['model'] === 'openai-community/gpt2-xl' &&
      r.varies['layers'] === 'first 2' &&
      r.varies['task'] === 'sst2' &&
      r.varies['method'] === 'lm',
  )!;
  assert.deepEqual(sst2.estimate.tokens, { prompt: 57, train: 400 * 50 * 57, eval: (1000 * 50 + 1000) * 57 });
  assert.equal(sst2.estimate.flops!.train, 6 * 143534400 * 400 * 50 * 57);
  assert.equal(listing.counts.done + listing.counts.failed + listing.counts.todo, 640);
  assert.equal(listing.unestimated, 0);
});

test('plan reads each run’s status from the store (read-only); --only picks exports; the text table', async () => {
  const file = dslFixture('gpt2-tiny-sweep.ts');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-plan-'));
  const previous = process.cwd();
  try {
    const first = await planJson([file, '--db', path.join(dir, 'none.db')]).catch((error: unknown) => error);
    assert.ok(first instanceof Error, 'an explicit --db that does not exist is refused');
    process.chdir(dir); // no layercut.db here: every run is todo, and no store is named
    const bare = await planJson([file]);
    assert.deepEqual(
      bare.runs.map((r) => r.status),
      ['todo', 'todo', 'todo'],
    );
    assert.equal(bare.store, undefined);
    assert.equal(existsSync(path.join(dir, 'layercut.db')), false, 'plan creates no store');
    // builtin gpt2-tiny: 4 layers of width 32, from its config.json
    assert.deepEqual(
      bare.runs.map((r) => r.estimate.params?.after),
      [16960, 29664, 55072],
    );

    // a real store: one run done, one failed, one never enqueued
    const db = path.join(dir, 'layercut.db');
    const store = openStore(db);
    const [a, b] = bare.runs;
    store.enqueue([a!.plan, b!.plan]);
    store.markRunning(a!.id);
    store.fail(a!.id, new Error('out of memory'));
    store.markRunning(b!.id);
    store.finish(b!.id, fakeResult(b!.plan, { accuracy: 0.8 }));
    store.close();
    const before = readFileSync(db);
    const listed = await planJson([file]); // the default layercut.db, since it exists now
    assert.deepEqual(
      listed.runs.map((r) => r.status),
      ['failed', 'done', 'todo'],
    );
    assert.deepEqual(listed.counts, { done: 1, failed: 1, todo: 1 });
    assert.equal(listed.store, 'layercut.db');
    assert.deepEqual(readFileSync(db), before, 'the store is read, not written');

    const { code, out } = await captured(() => planCommand.run([file, '--db', db]));
    assert.equal(code, 0);
    const lines = out.split('\n');
    assert.match(
      lines[0]!,
      /gpt2-tiny-sweep\.ts: 3 runs \(quickstart 3\), 1 done, 1 failed, 1 to do \(in layercut\.db\)$/,
    );
    assert.match(lines[2]!, /^id\s+layers\s+params\s+tokens\s+FLOPs\s+status$/);
    assert.match(lines[3]!, /^[0-9a-f]{16} {2}first 1 {2}17\.0k \(1\/4 layers\).* failed$/);
    assert.match(lines[4]!, / done$/);
    assert.match(lines[5]!, / todo$/);
  } finally {
    process.chdir(previous);
    rmSync(dir, { recursive: true, force: true });
  }
  const only = await planJson([path.join(repoRoot, 'examples/ablations.ts'), '--only', 'lrByMethod']);
  assert.deepEqual(only.exports, ['lrByMethod']);
  assert.equal(only.runs.length, 7);
});

test('plan: a file with errors prints them at their place and fails', async () => {
  const { code, err } = await captured(() => planCommand.run([dslFixture('runtime-mistakes.ts')]));
  assert.equal(code, 2);
  assert.match(
    err.split('\n')[0]!,
    /runtime-mistakes\.ts:11:12 template "Review: \{txt\}\\nSentiment:\{label\}": unknown field \{txt\}/,
  );
});

test('check: a failed import hides no other check; unused imports are warnings; no exports is one error for check, plan and run', async () => {
  const previous = process.cwd();
  process.chdir(repoRoot);
  try {
    const failed = await captured(() => checkCommand.run([relative(dslFixture('failed-imports.ts'))]));
    assert.equal(failed.code, 2);
    assert.deepEqual(failed.out.split('\n'), [
      `test/fixtures/dsl/failed-imports.ts:3:26 '"../../../dsl/index.js"' has no exported member named 'keepFirts'. Did you mean 'keepFirst'? (TS2724)`,
      `test/fixtures/dsl/failed-imports.ts:3:37 warning: 'keepFirst' is declared but its value is never read. (TS6133)`,
      `test/fixtures/dsl/failed-imports.ts:4:23 Cannot find module './no-such-module.js' or its corresponding type declarations. (TS2307)`,
      `test/fixtures/dsl/failed-imports.ts:6:25 not checked: it uses 'keepFirts', which could not be imported from '../../../dsl/index.js'`,
      `test/fixtures/dsl/failed-imports.ts:8:28 not checked: it uses 'seeds', which could not be imported from './no-such-module.js'`,
      // the export that uses neither failed import is compiled as usual
      'test/fixtures/dsl/failed-imports.ts:10:91 cannot keep the first 13 layers: openai-community/gpt2 has 12 layers; choose a count from 0 to 12',
    ]);
    // without TypeScript (plan, run) the failed imports are reported by layercut itself, at the import
    const planned = await captured(() => planCommand.run([relative(dslFixture('failed-imports.ts'))]));
    assert.equal(planned.code, 2);
    assert.match(
      planned.err,
      /^test\/fixtures\/dsl\/failed-imports\.ts:3:26 cannot import 'keepFirts': '\.\.\/\.\.\/\.\.\/dsl\/index\.js' has no export of that name$/m,
    );
    assert.match(
      planned.err,
      /^test\/fixtures\/dsl\/failed-imports\.ts:4:10 cannot import '\.\/no-such-module\.js': /m,
    );
    assert.match(planned.err, /failed-imports\.ts:10:91 cannot keep the first 13 layers/);
    const leftovers = readdirSync(dslFixture('')).filter((name) => name.includes('layercut-check'));
    assert.deepEqual(leftovers, [], 'the stand-in copy is removed');

    const unused = await captured(() => checkCommand.run([relative(dslFixture('unused-import.ts'))]));
    assert.equal(unused.code, 0);
    assert.deepEqual(unused.out.split('\n'), [
      `test/fixtures/dsl/unused-import.ts:2:26 warning: 'keepFirst' is declared but its value is never read. (TS6133)`,
      `note: the tokenizer of openai-community/gpt2 is not in the Hugging Face cache (${dslFixture('no-hub-cache')}): label words and token counts of openai-community/gpt2 not checked (they are once it is downloaded, e.g. by its first run)`,
    ]);

    const noExports = relative(dslFixture('no-exports.ts'));
    const message = `${noExports}:1:1 exports no experiments or sweeps: export them, e.g. export const quickstart = experiment({ … })`;
    const checked = await captured(() => checkCommand.run([noExports]));
    assert.deepEqual([checked.code, checked.out], [2, message]);
    const plan = await captured(() => planCommand.run([noExports]));
    assert.deepEqual([plan.code, plan.err], [2, message]);
    const run = await captured(() =>
      main(['run', noExports, '--db', path.join(os.tmpdir(), 'never-written.db')]),
    );
    assert.deepEqual([run.code, run.err], [2, message]);
  } finally {
    process.chdir(previous);
  }
});

test('check: a number as layers gets the keepFirst hint under the type error', async () => {
  const project = experimentProject(dslFixture(''));
  const lines = (await checkFile(dslFixture('numbers-as-layers.ts'), { project })).map((d) =>
    formatDiagnostic(d, repoRoot),
  );
  assert.deepEqual(lines, [
    "test/fixtures/dsl/numbers-as-layers.ts:6:12 Type 'number' is not assignable to type 'Layers'. (TS2322)\n" +
      '  hint: a number is not a layer selection: keepFirst(k) keeps the bottom k layers; to sweep over depths write layers: [1, 2, 4].map(keepFirst)',
    "test/fixtures/dsl/numbers-as-layers.ts:6:15 Type 'number' is not assignable to type 'Layers'. (TS2322)\n" +
      '  hint: a number is not a layer selection: keepFirst(k) keeps the bottom k layers; to sweep over depths write layers: [1, 2, 4].map(keepFirst)',
  ]);
});
