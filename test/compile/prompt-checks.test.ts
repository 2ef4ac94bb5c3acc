/**
 * Checks that need the tokenizer and the data, before any run: label words in their slot and
 * the token counts of every model × task × template × demonstrations setting, on the shipped
 * tiny-english and the offline spam task; skipped with a note (and no request) when the
 * tokenizer is not on this machine.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { builtin, experiment, hf, tasks } from '../../dsl/index.js';
import { main } from '../../src/cli.js';
import { compileValues } from '../../src/compile/compile.js';
import { compileFile } from '../../src/compile/file.js';
import { checkPrompts } from '../../src/compile/prompt-checks.js';
import { loadDataset } from '../../src/data/load.js';
import { sampleFewShot } from '../../src/data/sampling.js';
import { builtinModelFolder } from '../../src/models/builtin.js';
import { sampleDemonstrations } from '../../src/prompts/demonstrations.js';
import { fitDemonstrations, renderPrompt } from '../../src/prompts/render.js';
import { parseTemplate } from '../../src/prompts/template.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { captured } from '../helpers/console.js';
import { LoopbackHub } from '../helpers/hub-server.js';
import { dslFixture, offlineCatalog, repoRoot } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'layercut-prompt-checks-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('token counts per setting; no room is an error; colliding and split label words are found', async () => {
  const compiled = await compileFile(dslFixture('prompt-fit.ts'), {
    catalog: offlineCatalog(),
    checkPrompts: true,
  });
  const lines = compiled.issues.map(
    (i) => `${i.location?.line}:${i.location?.column} ${i.severity} ${i.message}`,
  );
  assert.deepEqual(lines, [
    `8:24 warning label words in builtin:tiny-english: " ham" is 2 tokens: "Ġha" "m"; only the first is scored (to score all of them: verbalizer(task, words, { scoring: 'mean' }), or pick a one-token word; layercut verbalizer shows them)`,
    '9:95 error the template (9 tokens) and 1 demonstration(s) per class (up to 376 tokens) leave no room for the input within maxLength 128: every run would fail; raise data.maxLength, set a smaller data.demoMaxTokens or use fewer demonstrations',
    `23:3 warning label words in builtin:tiny-english: " ham" is 2 tokens: "Ġha" "m"; only the first is scored (to score all of them: verbalizer(task, words, { scoring: 'mean' }), or pick a one-token word; layercut verbalizer shows them)`,
    `23:3 warning label words in builtin:tiny-english: " hamper" is 3 tokens: "Ġha" "m" "per"; only the first is scored (to score all of them: verbalizer(task, words, { scoring: 'mean' }), or pick a one-token word; layercut verbalizer shows them)`,
    `23:3 error label words in builtin:tiny-english: labels 'ham' (" ham") and 'spam' (" hamper") have the same first token "Ġha": they cannot be told apart`,
  ]);

  // The counts, recomputed here from the tokenizer and the samples each seed draws.
  const tokenizer = await loadTokenizer(await builtinModelFolder('tiny-english'));
  const template = parseTemplate('Email: {text}\nCategory:{label}', { fields: ['text'] });
  const dataset = await loadDataset('spam');
  const fits = compiled.prompts!.fits;
  assert.deepEqual(
    fits.map((f) => [f.demosPerClass, f.demoMaxTokens ?? null, f.maxLength, f.seeds]),
    [
      [1, 200, 128, [0, 1, 2]],
      [1, null, 128, [0, 1, 2]],
      [0, null, 64, [0]],
    ],
  );
  const templateTokens = renderPrompt(template, tokenizer, { fields: { text: '' } }).ids.length;
  for (const [fit, demoMaxTokens] of [
    [fits[0]!, 200],
    [fits[1]!, undefined],
  ] as const) {
    let longestBlock = 0;
    for (const seed of [0, 1, 2]) {
      const sample = sampleFewShot(dataset, {
        seed,
        validation: 8,
        demosPerClass: 1,
        train: { perClass: 8 },
        test: 20,
      });
      const plan = { prompt: { labelWords: { ham: [' ham'], spam: [' spam'] } } };
      const demos = fitDemonstrations(template, tokenizer, sampleDemonstrations(sample, plan), {
        maxLength: 128,
        truncation: 'left',
        ...(demoMaxTokens ? { demoMaxTokens } : {}),
      });
      const withDemos = renderPrompt(template, tokenizer, { fields: { text: '' }, demonstrations: demos });
      longestBlock = Math.max(longestBlock, withDemos.ids.length - templateTokens);
    }
    assert.equal(fit.templateTokens, templateTokens);
    assert.equal(fit.demoTokens, longestBlock);
    assert.equal(fit.room, 128 - templateTokens - longestBlock);
    assert.ok(fit.shortened <= fit.inputs && fit.inputs > 0);
  }
  assert.ok(fits[0]!.room <= 0, 'demonstrations of up to 200 tokens leave no room in 128');
  // the default cap: ⌊128 / (2 × 2)⌋ = 32 tokens a demonstration, so about half is left for the email
  assert.ok(fits[1]!.demoTokens <= 2 * 32 + 2, `demo tokens ${fits[1]!.demoTokens}`);
  assert.ok(fits[1]!.room >= 128 / 2 - templateTokens - 2, `room ${fits[1]!.room}`);
});

test('run refuses such a file before running anything, with the same message; check prints the counts', async () => {
  const db = path.join(tmp, 'never.db');
  const run = await captured(() => main(['run', dslFixture('prompt-fit.ts'), '--db', db]));
  assert.equal(run.code, 2);
  assert.match(
    run.err,
    /prompt-fit\.ts:9:95 the template \(9 tokens\) and 1 demonstration\(s\) per class \(up to 376 tokens\) leave no room/,
  );
  assert.match(
    run.err,
    /prompt-fit\.ts:23:3 warning: label words in builtin:tiny-english: " hamper" is 3 tokens/,
  );
  assert.equal(existsSync(db), false, 'no store was opened: nothing ran');

  const previous = process.cwd();
  process.chdir(repoRoot);
  try {
    const check = await captured(() => main(['check', 'test/fixtures/dsl/prompt-fit.ts']));
    assert.equal(check.code, 2);
    const table = check.out.split('\n').filter((line) => line.startsWith('builtin:tiny-english'));
    assert.equal(table.length, 3);
    assert.match(
      table[0]!,
      /^builtin:tiny-english +spam +"Email: \{text\}\\nCategory:\{label\}" +1\/class ≤ 200 +128 +9 +376 +-257 /,
    );
    assert.match(
      check.out,
      /^model +task +template +demos +maxLength +template tokens +demo tokens +room +longest input +shortened$/m,
    );
  } finally {
    process.chdir(previous);
  }
});

test('without the tokenizer on this machine: a note, no request, and the rest of the checks as before', async () => {
  const hub = await LoopbackHub.start();
  const saved = { endpoint: process.env['HF_ENDPOINT'], cache: process.env['HF_HUB_CACHE'] };
  process.env['HF_ENDPOINT'] = hub.url;
  process.env['HF_HUB_CACHE'] = path.join(tmp, 'empty-hub-cache');
  try {
    const result = await compileValues(
      [{ name: 'x', value: experiment({ model: hf('openai-community/gpt2'), task: tasks.sst2 }) }],
      { catalog: offlineCatalog() },
    );
    const checks = await checkPrompts(result.runs, offlineCatalog());
    assert.deepEqual(checks.issues, []);
    assert.deepEqual(checks.fits, []);
    assert.equal(checks.notes.length, 1);
    assert.match(
      checks.notes[0]!,
      /^the tokenizer of openai-community\/gpt2 is not in the Hugging Face cache .*: label words and token counts of openai-community\/gpt2 not checked/,
    );
    // a model whose tokenizer is here, with a hub task whose data is not: the words are checked, the lengths noted
    const sst2 = await compileValues(
      [{ name: 'y', value: experiment({ model: builtin('tiny-english'), task: tasks.sst2 }) }],
      { catalog: offlineCatalog() },
    );
    const partial = await checkPrompts(sst2.runs, offlineCatalog());
    assert.match(
      partial.notes[0] ?? '',
      /^the data of task sst2 is not on this machine .*: demonstration and input lengths not checked$/,
    );
    assert.deepEqual(hub.requests, [], 'check asked the network nothing');
  } finally {
    for (const [name, value] of [
      ['HF_ENDPOINT', saved.endpoint],
      ['HF_HUB_CACHE', saved.cache],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await hub.close();
  }
});
