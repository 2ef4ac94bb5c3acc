// The training engine end to end on a tiny random GPT-2 with the real GPT-2 tokenizer.
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { keepAll, keepFirst } from '../../src/models/selection.js';
import { PAPER_DEFAULTS, type MethodName, type RunPlan } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { runExperiment } from '../../src/experiment/run.js';
import { fruitDataset, fruitTask, writeTinyBert, writeTinyGpt2 } from '../helpers/tiny-gpt2.js';
import { adamwSpec } from '../../src/plan/options.js';

let modelDir = '';
before(async () => {
  modelDir = await writeTinyGpt2();
  await initBackend({ backend: 'wasm' });
});

function plan(method: MethodName, overrides: Partial<RunPlan> = {}): RunPlan {
  return {
    model: { kind: 'local', path: modelDir },
    layers: keepAll,
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    // frozen embeddings keep AdamW off the 50,257 × 32 table: fast on a CPU, and tests the option
    method: { ...PAPER_DEFAULTS.method, kind: method, freezeEmbeddings: true },
    data: { validation: 40, demosPerClass: 0, trainPerClass: 80, test: 100, maxLength: 64, truncate: 'left' },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: 1e-3 }),
      batchSize: 16,
      epochs: 15,
      earlyStopPatience: 6,
    },
    seed: 0,
    backend: 'wasm',
    ...overrides,
  };
}

const options = () => ({ task: fruitTask, dataset: fruitDataset() });

it('prompt-based fine-tuning (lm) learns a task that needs the input', async () => {
  const result = await runExperiment(plan('lm'), options());
  assert.ok(result.test.accuracy >= 0.95, `test accuracy ${result.test.accuracy}`);
  assert.equal(
    result.test.confusion.flat().reduce((a, b) => a + b, 0),
    100,
  );
  assert.ok(result.curves.train.length > 0 && result.curves.eval.length > 0);
  assert.ok(result.curves.train.at(-1)!.loss < result.curves.train[0]!.loss);
  assert.equal(result.size.layersAfter, 2);
  assert.equal(result.backend, 'wasm');
});

it('a fine-tuned cut model saved by the run reloads and scores the same', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { loadModel } = await import('../../src/models/load.js');
  const saveDir = await mkdtemp(path.join(os.tmpdir(), 'layercut-run-save-'));
  const short = plan('prompt-cls', { layers: keepFirst(1), train: { ...plan('lm').train, epochs: 2 } });
  const result = await runExperiment(short, { ...options(), saveDir });
  const { model } = await loadModel(saveDir);
  assert.equal(model.info.layersAfter, 1);
  assert.equal(model.info.paramsAfter + 2 * 32, result.size.paramsAfter); // + the head [2, 32]
  model.dispose();
});

it('prompt-cls and cls learn it with a new head; a cut model reports fewer parameters', async () => {
  for (const method of ['prompt-cls', 'cls'] as const) {
    const result = await runExperiment(plan(method, { layers: keepFirst(1) }), options());
    assert.ok(result.test.accuracy >= 0.9, `${method}: test accuracy ${result.test.accuracy}`);
    assert.equal(result.size.layersAfter, 1);
    assert.ok(result.size.paramsAfter < result.size.paramsBefore);
  }
});

it('masked-LM prompt-based fine-tuning learns it with an encoder (BERT, {mask} slot)', async () => {
  const bertDir = await writeTinyBert();
  // words the small WordPiece vocabulary has whole: class 1 texts name money
  const words = {
    filler: ['the', 'dog', 'year', 'live', 'world', 'little'],
    keywords: ['bank', 'oil', 'prices', 'cent'],
  };
  const task = {
    ...fruitTask,
    name: 'money',
    template: 'Text: {text} Money? {mask}.',
    labelWords: { no: [' not'], yes: [' like'] },
  };
  const result = await runExperiment(
    plan('lm', {
      model: { kind: 'local', path: bertDir },
      task: 'money',
      prompt: { template: task.template, labelWords: task.labelWords, scoring: 'first' },
    }),
    { task, dataset: fruitDataset(200, 100, words, task) },
  );
  assert.ok(result.test.accuracy >= 0.95, `test accuracy ${result.test.accuracy}`);
});

it('icl trains nothing and still scores every test example', async () => {
  const result = await runExperiment(
    plan('icl', { data: { ...plan('icl').data, demosPerClass: 1 } }),
    options(),
  );
  assert.equal(result.curves.train.length, 0);
  assert.equal(
    result.test.perClass.reduce((n, c) => n + c.support, 0),
    100,
  );
});

it('the same seed gives the same metrics twice on the cpu backend', async () => {
  const short = plan('lm', { backend: 'cpu', train: { ...plan('lm').train, epochs: 1 } });
  const a = await runExperiment(short, options());
  const b = await runExperiment(short, options());
  assert.deepEqual(a.test, b.test);
  assert.deepEqual(
    a.curves.train.map((p) => p.loss),
    b.curves.train.map((p) => p.loss),
  );
});

it('tensor count is the same after step 10 as after step 2', async () => {
  const counts = new Map<number, number>();
  // one epoch of 40 steps, evaluated at its end: nothing but the steps themselves between 2 and 10
  const longer = plan('lm', { train: { ...plan('lm').train, batchSize: 4, epochs: 1 } });
  await runExperiment(longer, {
    ...options(),
    onProgress: (event) => {
      if (event.phase === 'train' && event.kind === 'step') counts.set(event.step, tf.memory().numTensors);
    },
  });
  assert.ok(counts.has(2) && counts.has(10));
  assert.equal(counts.get(10), counts.get(2));
});
