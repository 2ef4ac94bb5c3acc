/** Model sizes from config.json alone, the table of known hub configs, and token/FLOP estimates. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtin, experiment, hf, icl, keepFirst, tasks } from '../../dsl/index.js';
import { compile } from '../../src/compile/compile.js';
import { promptTokens, tokenEstimate } from '../../src/compile/estimate.js';
import { exportOrder } from '../../src/compile/file.js';
import { knownConfigs } from '../../src/compile/known-configs.js';
import { parameterCount } from '../../src/compile/model-info.js';
import { loadModel } from '../../src/models/load.js';
import { keepFirst as keepFirstLayers } from '../../src/models/selection.js';
import { modelFixture } from '../helpers/fixtures.js';
import { offlineCatalog } from './helpers.js';

test('parameters from config.json equal those of the loaded model, full and cut', async () => {
  const catalog = offlineCatalog();
  for (const name of ['gpt2-tiny', 'opt-tiny', 'opt-tiny-postln']) {
    const described = await catalog.describe(builtin(name as 'gpt2-tiny'));
    assert.ok(described.known);
    const { model } = await loadModel(modelFixture(name), { layers: keepFirstLayers(2) });
    try {
      assert.equal(parameterCount(described, [0, 1, 2, 3]), model.info.paramsBefore, name);
      assert.equal(parameterCount(described, [0, 1]), model.info.paramsAfter, name);
    } finally {
      model.dispose();
    }
  }
});

test('known hub configs give the depths and parameter counts transformers reports', async () => {
  const catalog = offlineCatalog();
  const expected: Record<string, [number, number]> = {
    'openai-community/gpt2': [12, 124439808],
    'openai-community/gpt2-medium': [24, 354823168],
    'openai-community/gpt2-large': [36, 774030080],
    'openai-community/gpt2-xl': [48, 1557611200],
    'distilbert/distilgpt2': [6, 81912576],
    'facebook/opt-125m': [12, 125239296],
    'facebook/opt-350m': [24, 331196416],
    'facebook/opt-1.3b': [24, 1315758080],
    'facebook/opt-2.7b': [32, 2651596800],
    'facebook/opt-6.7b': [32, 6658473984],
    'facebook/opt-13b': [40, 12853473280],
  };
  for (const repo of Object.keys(knownConfigs)) {
    const described = await catalog.describe(hf(repo));
    assert.ok(described.known && described.configFrom === 'known configs', repo);
    const full = Array.from({ length: described.depth }, (_, i) => i);
    const canonical =
      expected[repo] ?? expected[`openai-community/${repo}`] ?? expected[`distilbert/${repo}`];
    assert.deepEqual([described.depth, parameterCount(described, full)], canonical, repo);
  }
});

test('tokens: demonstrations and template for prompt methods, the raw text for cls, test only for icl', async () => {
  const [lm, cls, iclRun, steps] = await compile(
    [
      experiment({ model: hf('gpt2'), task: tasks.trec, layers: keepFirst(1) }),
      experiment({ model: hf('gpt2'), task: tasks.trec, method: { kind: 'cls' } }),
      experiment({ model: hf('gpt2'), task: tasks.trec, method: icl() }),
      experiment({ model: hf('gpt2'), task: tasks.trec, train: { steps: 100, batchSize: 4, evalEvery: 25 } }),
    ],
    { catalog: offlineCatalog() },
  );
  // TREC: 6 classes, 12 tokens an example, "Question: \nAnswer Type:" is 23 characters → 6 tokens, + the label word
  assert.equal(promptTokens(lm!), (1 + 6) * (12 + 6 + 1));
  assert.equal(promptTokens(cls!), 12);
  assert.deepEqual(tokenEstimate(iclRun!), { prompt: 133, train: 0, eval: 1000 * 133 });
  assert.deepEqual(tokenEstimate(steps!), {
    prompt: 133,
    train: 100 * 4 * 133,
    eval: (1000 * 4 + 1000) * 133,
  });
});

test('export order is the order of the source (module namespaces sort names)', () => {
  const source = [
    'export const zeta = 1;',
    'export { beta as alpha, gamma } from "./x.js";',
    'export default 3;',
    'export const beta = 2;',
  ].join('\n');
  assert.deepEqual(exportOrder(source), ['zeta', 'alpha', 'gamma', 'default', 'beta']);
});
