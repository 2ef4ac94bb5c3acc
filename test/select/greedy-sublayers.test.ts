// Greedy sublayer search: each step drops the sublayer whose removal keeps the best zero-shot
// score among all candidates (checked by brute force on models loaded with those drops), and
// the searched model's weights are as they were afterwards.
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
