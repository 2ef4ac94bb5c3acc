// Greedy layer search: each step drops the layer whose removal keeps the best zero-shot accuracy,
// checked against every candidate cut loaded from disk; a layer view computes what the cut computes.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { keepIndices } from '../../src/models/selection.js';
import { depthPreview } from '../../src/select/depth-preview.js';
import { greedyLayerSearch, labelAccuracy } from '../../src/select/greedy.js';
import { withLayers } from '../../src/select/layer-view.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

const labelIds = [7, 42, 77];
const examples: EncodedExample[] = Array.from({ length: 15 }, (_, i) => {
  const ids = Array.from({ length: 4 + (i % 4) }, (_, j) => 3 + ((i * 13 + j * 7) % 90));
  return { ids, scorePosition: ids.length - 1, label: (i * 2) % 3 };
});

/** Accuracy and mean log p(true class) of the model cut to `layers`, loaded from disk, example by example. */
async function cutScore(dir: string, layers: number[]): Promise<{ accuracy: number; meanLogProb: number }> {
  const { model } = await loadModel(dir, { layers: keepIndices(layers) });
  let correct = 0;
  let logProb = 0;
  for (const example of examples) {
    const ids = tf.tensor2d([example.ids], [1, example.ids.length], 'int32');
    const mask = tf.onesLike(ids) as tf.Tensor2D;
    const logits = model.logits(ids, mask);
    const row = (await logits.array())[0]![example.scorePosition]!;
    tf.dispose([ids, mask, logits]);
    const scores = labelIds.map((id) => row[id]!);
    const max = Math.max(...scores);
    const logSum = max + Math.log(scores.reduce((s, x) => s + Math.exp(x - max), 0));
    if (scores.indexOf(max) === example.label) correct++;
    logProb += scores[example.label]! - logSum;
  }
  model.dispose();
  return { accuracy: correct / examples.length, meanLogProb: logProb / examples.length };
}

// the paths found (each step is checked against every candidate below)
const expectedPaths: Record<string, { order: number[]; accuracies: number[] }> = {
  'gpt2-tiny': { order: [2, 3, 0], accuracies: [6 / 15, 6 / 15, 6 / 15, 7 / 15] },
  'llama-tiny-gqa': { order: [0, 1, 2], accuracies: [3 / 15, 5 / 15, 6 / 15, 6 / 15] },
};

for (const fixture of ['gpt2-tiny', 'llama-tiny-gqa']) {
  it(`${fixture}: every greedy step is the best single drop among the cuts loaded from disk`, async () => {
    const dir = modelFixture(fixture);
    const { model } = await loadModel(dir);
    const result = await greedyLayerSearch(model, examples, labelIds, { keep: 1, batchSize: 4 });
    assert.deepEqual(result.order, expectedPaths[fixture]!.order);
    assert.deepEqual(
      result.path.map((step) => step.accuracy),
      expectedPaths[fixture]!.accuracies,
    );
    assert.equal(result.path.length, 4);
    assert.deepEqual(result.path[0]!.kept, [0, 1, 2, 3]);
    assert.deepEqual(result.kept, result.path[3]!.kept);
    assert.equal(result.kept.length, 1);
    assert.deepEqual([...result.order, ...result.kept].sort(), [0, 1, 2, 3]);

    // the start equals the depth preview at full depth
    const preview = await depthPreview(model, examples, labelIds);
    assert.equal(result.path[0]!.accuracy, preview[3]!.accuracy);

    for (let s = 1; s < result.path.length; s++) {
      const before = result.path[s - 1]!.kept;
      const candidates = await Promise.all(
        before.map(async (dropped) => ({
          dropped,
          ...(await cutScore(
            dir,
            before.filter((l) => l !== dropped),
          )),
        })),
      );
      const bestAccuracy = Math.max(...candidates.map((c) => c.accuracy));
      const chosen = candidates.find((c) => c.dropped === result.path[s]!.dropped)!;
      assert.equal(chosen.accuracy, bestAccuracy, `step ${s}: dropped ${chosen.dropped}`);
      assert.equal(result.path[s]!.accuracy, chosen.accuracy);
      assert.ok(Math.abs(result.path[s]!.meanLogProb - chosen.meanLogProb) < 1e-5);
      // among equally accurate cuts, the one with the highest mean log-probability of the truth
      for (const other of candidates.filter((c) => c.accuracy === bestAccuracy)) {
        assert.ok(chosen.meanLogProb >= other.meanLogProb - 1e-6, `step ${s}: ${other.dropped} was better`);
      }
    }
    model.dispose();
  });
}

it('a layer view computes the logits of the cut loaded from disk, for any subset of layers', async () => {
  for (const [fixture, layers] of [
    ['gpt2-tiny', [0, 2]],
    ['opt-tiny', [1, 3]],
    ['llama-tiny-gqa', [3]],
    ['bert-tiny', [0, 1, 3]],
  ] as const) {
    const { model } = await loadModel(modelFixture(fixture));
    const { model: cut } = await loadModel(modelFixture(fixture), { layers: keepIndices([...layers]) });
    const view = withLayers(model, layers);
    assert.deepEqual(view.info.keptLayers, [...layers]);
    assert.equal(view.info.paramsAfter, cut.info.paramsAfter);
    assert.deepEqual([...view.params.keys()].sort(), [...cut.params.keys()].sort());
    const ids = tf.tensor2d([[5, 9, 17, 3, 44, 60]], [1, 6], 'int32');
    const mask = tf.ones([1, 6], 'int32') as tf.Tensor2D;
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(view.logits(ids, mask), cut.logits(ids, mask)))).dataSync()[0]!,
    );
    assert.equal(diff, 0, fixture);
    view.dispose(); // shares the variables: the model still works after
    const after = model.logits(ids, mask);
    assert.equal(after.shape[2], 99);
    tf.dispose([ids, mask, after]);
    const absent = [0, 1, 2, 3].find((l) => !(layers as readonly number[]).includes(l))!;
    assert.throws(() => withLayers(cut, [absent]), new RegExp(`layer ${absent} is not in the model`));
    model.dispose();
    cut.dispose();
  }
});

it('label accuracy counts the examples whose true label token scores highest', async () => {
  const { model } = await loadModel(modelFixture('opt-tiny'));
  const score = await labelAccuracy(model, examples, labelIds, { batchSize: 6 });
  const expected = await cutScore(modelFixture('opt-tiny'), [0, 1, 2, 3]);
  assert.equal(score.accuracy, expected.accuracy);
  assert.ok(Math.abs(score.meanLogProb - expected.meanLogProb) < 1e-5);
  assert.equal(score.predictions.length, examples.length);
  await assert.rejects(
    greedyLayerSearch(model, examples, labelIds, { keep: 5 }),
    (error: unknown) =>
      error instanceof LayercutError && /cannot keep 5 layers of a model with 4/.test(error.message),
  );
  model.dispose();
});
