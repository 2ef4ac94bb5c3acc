// All depths in one pass: a keepFirst(1..L) sweep of linear-probe (and of first-token icl) runs
// that share one forward pass gives the results of the same runs made one by one on cut models.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { keepFirst } from '../../src/models/selection.js';
import { PAPER_DEFAULTS, type MethodName, type RunPlan, type RunResult } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { releaseSharedDepthFeatures } from '../../src/train/depth-features.js';
import { runExperiment } from '../../src/experiment/run.js';
import { fruitDataset, fruitTask, writeTinyGpt2 } from '../helpers/tiny-gpt2.js';
import { adamwSpec } from '../../src/plan/options.js';

let modelDir = '';
before(async () => {
  // width 64, seed 5: zero-shot (icl) predictions differ between depths on this random model
  modelDir = await writeTinyGpt2({ layers: 3, width: 64, seed: 5 });
  await initBackend({ backend: 'cpu' });
});
after(() => releaseSharedDepthFeatures());

function plan(method: MethodName, layers: number): RunPlan {
  return {
    model: { kind: 'local', path: modelDir },
    layers: keepFirst(layers),
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { kind: method, freezeEmbeddings: false, freezeLayers: [] },
    data: { validation: 20, demosPerClass: 0, trainPerClass: 30, test: 40, maxLength: 64, truncate: 'left' },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: 3e-2 }),
      batchSize: 8,
      epochs: 4,
    },
    seed: 3,
    backend: 'cpu',
  };
}

for (const method of ['linear-probe', 'icl'] as const) {
  it(`${method}: the one-pass depth curve equals k separate runs`, async () => {
    const options = { task: fruitTask, dataset: fruitDataset() };
    const separate: RunResult[] = [];
    for (const k of [1, 2, 3])
      separate.push(await runExperiment(plan(method, k), { ...options, sharedDepthPass: false }));
    releaseSharedDepthFeatures();
    const tensorsBefore = tf.memory().numTensors;
    const shared: RunResult[] = [];
    for (const k of [1, 2, 3]) shared.push(await runExperiment(plan(method, k), options));
    // the features of every depth stay for the sweep's next run: (L + 1) tensors, nothing else
    assert.equal(tf.memory().numTensors - tensorsBefore, 4);
    releaseSharedDepthFeatures();
    assert.equal(tf.memory().numTensors, tensorsBefore);
    for (const [i, one] of separate.entries()) {
      const other = shared[i]!;
      assert.deepEqual(other.test.confusion, one.test.confusion, `depth ${i + 1}: test predictions`);
      assert.equal(other.validation.accuracy, one.validation.accuracy, `depth ${i + 1}: validation`);
      assert.equal(other.curves.train.length, one.curves.train.length);
      other.curves.train.forEach((point, s) => {
        const delta = Math.abs(point.loss - one.curves.train[s]!.loss);
        assert.ok(
          delta <= 1e-4,
          `depth ${i + 1} step ${s}: loss ${point.loss} vs ${one.curves.train[s]!.loss}`,
        );
      });
    }
    // the depths differ from each other (the curve is not one run repeated)
    assert.ok(new Set(separate.map((r) => JSON.stringify(r.test.confusion))).size > 1);
  });
}
