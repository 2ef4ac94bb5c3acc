/**
 * The method and model options, checked by their declarations (src/plan/options.ts): each
 * problem a one-line message at the path of the option that caused it; plans with every default.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtin, cls, experiment, hf, icl, linearProbe, lm, local, tasks } from '../../dsl/index.js';
import { compileValues, type CompileResult } from '../../src/compile/compile.js';
import { offlineCatalog } from './helpers.js';

const gpt2 = hf('openai-community/gpt2');

async function check(value: unknown): Promise<CompileResult> {
  return compileValues([{ name: 'run', value }], { catalog: offlineCatalog() });
}

const problems = (result: CompileResult): string[] =>
  result.issues.map((i) => `${i.severity} ${i.path.join('.')}: ${i.message}`);

const handWritten = (options: Record<string, unknown>): unknown => ({
  kind: 'experiment',
  options: { model: gpt2, task: tasks.sst2, ...options },
});

test('a method: lm() when left out, freeze options filled in, frozen methods freeze nothing', async () => {
  const methods = await Promise.all(
    [undefined, lm(), cls({ freezeLayers: [3, 1, 3], freezeEmbeddings: true }), icl(), linearProbe()].map(
      async (method) =>
        (await check(experiment({ model: gpt2, task: tasks.sst2, method }))).runs[0]?.plan.method,
    ),
  );
  assert.deepEqual(methods, [
    { kind: 'lm', freezeEmbeddings: false, freezeLayers: [] },
    { kind: 'lm', freezeEmbeddings: false, freezeLayers: [] },
    { kind: 'cls', freezeEmbeddings: true, freezeLayers: [1, 3] },
    { kind: 'icl', freezeEmbeddings: false, freezeLayers: [] },
    { kind: 'linear-probe', freezeEmbeddings: false, freezeLayers: [] },
  ]);
});

test('method mistakes: not a method, unknown options, bad freeze options', async () => {
  assert.deepEqual(problems(await check(handWritten({ method: { kind: 'bert' } }))), [
    'error options.method: {"kind":"bert"} is not a method: use lm(), promptCls(), cls(), icl() or linearProbe()',
  ]);
  assert.deepEqual(problems(await check(handWritten({ method: 'lm' }))), [
    'error options.method: "lm" is not a method: use lm(), promptCls(), cls(), icl() or linearProbe()',
  ]);
  assert.deepEqual(problems(await check(handWritten({ method: { kind: 'icl', freezeEmbeddings: true } }))), [
    "error options.method.freezeEmbeddings: unknown icl method option 'freezeEmbeddings': the options are kind",
  ]);
  assert.deepEqual(problems(await check(handWritten({ method: { kind: 'lm', freeze: [1] } }))), [
    "error options.method.freeze: unknown lm method option 'freeze': the options are kind, freezeEmbeddings, freezeLayers",
  ]);
  assert.deepEqual(
    problems(
      await check(handWritten({ method: { kind: 'cls', freezeEmbeddings: 'yes', freezeLayers: [-1] } })),
    ),
    [
      'error options.method.freezeEmbeddings: freezeEmbeddings must be true or false, got "yes"',
      'error options.method.freezeLayers: freezeLayers must list layer indices (0, 1, …), got [-1]',
    ],
  );
});

test('a model: hub (with a revision), local or builtin, as written', async () => {
  const models = await Promise.all(
    [gpt2, hf('openai-community/gpt2', { revision: 'main' }), local('./nowhere'), builtin('gpt2-tiny')].map(
      async (model) => (await check(experiment({ model, task: tasks.sst2 }))).runs[0]?.plan.model,
    ),
  );
  assert.deepEqual(models, [
    { kind: 'hub', repo: 'openai-community/gpt2' },
    { kind: 'hub', repo: 'openai-community/gpt2', revision: 'main' },
    { kind: 'local', path: './nowhere' },
    { kind: 'builtin', name: 'gpt2-tiny' },
  ]);
});

test('model mistakes: none, not a model (no repo, path or name), unknown options, a bad revision', async () => {
  assert.deepEqual(problems(await check({ kind: 'experiment', options: { task: tasks.sst2 } })), [
    "error : the experiment has no model: add model: hf('…'), local('./dir') or builtin('…')",
  ]);
  const notAModel = (shown: string): string =>
    `error options.model: ${shown} is not a model: use hf('org/name'), local('./dir') or builtin('name')`;
  for (const model of [
    { kind: 'hub' },
    { kind: 'hub', repo: '' },
    { kind: 'local', path: 7 },
    { kind: 'zoo' },
  ])
    assert.deepEqual(problems(await check(handWritten({ model }))), [notAModel(JSON.stringify(model))]);
  assert.deepEqual(
    problems(await check(handWritten({ model: { kind: 'builtin', name: 'gpt2-tiny', path: 'y' } }))),
    ["error options.model.path: unknown builtin model option 'path': the options are kind, name"],
  );
  assert.deepEqual(problems(await check(handWritten({ model: { ...gpt2, revision: 3 } }))), [
    'error options.model.revision: model.revision must be a non-empty string, got 3',
  ]);
});
