// Greedy sublayer search: each step drops the sublayer whose removal keeps the best zero-shot
// score among all candidates (checked by brute force on models loaded with those drops), and
// the searched model's weights are as they were afterwards; the layer report runs both.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { keepIndices } from '../../src/models/selection.js';
import { applySublayerDrops, layersLeft } from '../../src/models/sublayer-drops.js';
import type { SublayerDrops } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { labelAccuracy } from '../../src/select/greedy.js';
import { greedySublayerSearch } from '../../src/select/greedy-sublayers.js';
import { formatLayerReport } from '../../src/cli/layers.js';
import { measureLayers, type LayerReport } from '../../src/select/report.js';
import { sublayerMeasuresOver } from '../../src/select/sublayer-measures.js';
import { modelFixture } from '../helpers/fixtures.js';
import { tinyPromptExamples } from '../helpers/prompt-examples.js';

const labelIds = [7, 42];
const examples = tinyPromptExamples;

/** The zero-shot score of gpt2-tiny loaded with these drops, as a run would load it. */
async function scoreWith(drops: SublayerDrops) {
  const { model } = await loadModel(modelFixture('gpt2-tiny'), {
    layers: keepIndices(layersLeft([0, 1, 2, 3], drops)),
  });
  try {
    applySublayerDrops(model, drops);
    return await labelAccuracy(model, examples, labelIds);
  } finally {
    model.dispose();
  }
}

it('greedy sublayer search picks the best candidate at each step and restores the weights', async () => {
  await initBackend({ backend: 'cpu' });
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  try {
    const ids = tf.tensor2d([[5, 9, 14, 20]], [1, 4], 'int32');
    const mask = tf.onesLike(ids) as tf.Tensor2D;
    const before = await model.logits(ids, mask).data();
    const result = await greedySublayerSearch(model, examples, labelIds, { drop: 3 });
    assert.equal(result.order.length, 3);
    assert.equal(result.path.length, 4);
    assert.deepEqual([...result.drops.attention, ...result.drops.mlp].length, 3);
    // step by step: the reported score is that of the model loaded with those drops, and no other
    // single further drop would have scored better
    for (let s = 1; s < result.path.length; s++) {
      const step = result.path[s]!;
      const score = await scoreWith(step.drops);
      assert.equal(score.accuracy, step.accuracy);
      assert.ok(Math.abs(score.meanLogProb - step.meanLogProb) < 1e-5);
      const previous = result.path[s - 1]!.drops;
      for (const layer of [0, 1, 2, 3]) {
        for (const part of ['attention', 'mlp'] as const) {
          if (previous[part].includes(layer)) continue;
          const other = await scoreWith({ ...previous, [part]: [...previous[part], layer].sort() });
          assert.ok(
            other.accuracy < step.accuracy ||
              (other.accuracy === step.accuracy && other.meanLogProb <= step.meanLogProb + 1e-6),
            `step ${s}: dropping the ${part} of layer ${layer} would score ${other.accuracy} / ${other.meanLogProb}`,
          );
        }
      }
    }
    const after = await model.logits(ids, mask).data();
    assert.deepEqual(Array.from(after), Array.from(before));
    tf.dispose([ids, mask]);
  } finally {
    model.dispose();
  }
});

it('the layer report measures sublayers over batches as over one batch, and runs the sublayer search', async () => {
  await initBackend({ backend: 'cpu' });
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  try {
    // equal-length prompts: one batch of all of them is the same padding as any split
    const whole = await sublayerMeasuresOver(model, examples, { batchSize: examples.length });
    const batched = await sublayerMeasuresOver(model, examples, { batchSize: 3 });
    assert.equal(whole.influence.length, 8);
    whole.influence.forEach((v, k) =>
      assert.ok(Math.abs(v - batched.influence[k]!) < 1e-5, `influence ${k}`),
    );
    whole.angular.forEach((v, k) => assert.ok(Math.abs(v - batched.angular[k]!) < 1e-5, `angular ${k}`));
    const report = await measureLayers(model, examples, labelIds, { sublayers: true, greedySublayers: 2 });
    report.sublayers!.influence.forEach((v, k) => assert.ok(Math.abs(v - whole.influence[k]!) < 1e-5));
    assert.equal(report.greedySublayers!.order.length, 2);
    const direct = await greedySublayerSearch(model, examples, labelIds, { drop: 2 });
    assert.deepEqual(report.greedySublayers!.order, direct.order);
    const text = formatLayerReport({
      ...report,
      model: 'gpt2-tiny',
      task: 'tiny',
      template: '',
      examples: examples.length,
      seed: 0,
      depth: 4,
      specs: { similarity: {}, influence: {} } as LayerReport['specs'],
    });
    assert.match(
      text,
      /\n {2}greedy sublayers {2}zero-shot accuracy \d\.\d{3} with all; drop (attn|mlp) \d → \d\.\d{3}, (attn|mlp) \d → /,
    );
    assert.match(text, /per sublayer:\nlayer {2}sublayer {2}influence {2}angular\n0 {6}attn {6}\d\.\d{4}/);
  } finally {
    model.dispose();
  }
});
