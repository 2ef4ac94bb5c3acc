// The depth preview's reading at depth k equals the prediction of the model cut to k layers.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { keepFirst } from '../../src/models/selection.js';
import { depthPreview } from '../../src/select/depth-preview.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

// prompts of varied lengths for the 99-token fixtures; class i is read from token labelIds[i]
const examples: EncodedExample[] = Array.from({ length: 12 }, (_, i) => {
  const ids = Array.from({ length: 4 + (i % 5) }, (_, j) => 3 + ((i * 7 + j * 13) % 90));
  return { ids, scorePosition: ids.length - 1, label: i % 3 };
});
const labelIds = [7, 42, 77];

// one fixture of each family of issue 19 too (their sliding windows, fused projections, parallel residual)
const newFamilies = [
  'qwen2-tiny-window',
  'qwen3-tiny',
  'mistral-tiny',
  'phi3-tiny-partial',
  'gemma-tiny',
  'gpt-neox-tiny',
  'llama3-tiny',
];

for (const fixture of ['gpt2-tiny', 'opt-tiny', 'llama-tiny-gqa', ...newFamilies]) {
  it(`${fixture}: reading k equals the model cut to its first k layers`, async () => {
    const { model } = await loadModel(modelFixture(fixture));
    const readings = await depthPreview(model, examples, labelIds, { batchSize: 5 });
    assert.deepEqual(
      readings.map((r) => r.depth),
      [1, 2, 3, 4],
    );
    for (const reading of readings) {
      const { model: cut } = await loadModel(modelFixture(fixture), { layers: keepFirst(reading.depth) });
      const expected: number[] = [];
      for (const example of examples) {
        const logits = cut.logits(
          tf.tensor2d([example.ids], [1, example.ids.length], 'int32'),
          tf.ones([1, example.ids.length], 'int32') as tf.Tensor2D,
        );
        const row = (await logits.array())[0]![example.scorePosition]!;
        logits.dispose();
        const scores = labelIds.map((id) => row[id]!);
        expected.push(scores.indexOf(Math.max(...scores)));
      }
      assert.deepEqual(reading.predictions, expected, `depth ${reading.depth}`);
      const correct = expected.filter((p, i) => p === examples[i]!.label).length;
      assert.equal(reading.accuracy, correct / examples.length);
      cut.dispose();
    }
    model.dispose();
  });
}
