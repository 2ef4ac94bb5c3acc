// Measurements over a calibration set, batch by batch, equal one pass over every example at once.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { angularDistances } from '../../src/select/angular-distance.js';
import { blockInfluence } from '../../src/select/block-influence.js';
import {
  angularDistancesOver,
  calibrationSample,
  depthSimilarity,
  influenceOver,
} from '../../src/select/calibration.js';
import { disposeBatch, makeBatch, type EncodedExample } from '../../src/train/batching.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

// 11 prompts of 3 to 9 tokens for the 99-token fixtures
const examples: EncodedExample[] = Array.from({ length: 11 }, (_, i) => {
  const ids = Array.from({ length: 3 + ((i * 5) % 7) }, (_, j) => 3 + ((i * 11 + j * 17) % 90));
  return { ids, scorePosition: ids.length - 1, label: i % 2 };
});

const close = (actual: readonly number[], expected: readonly number[], what: string, tolerance = 2e-6) => {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]!) < tolerance, `${what}[${i}]: ${a} vs ${expected[i]}`),
  );
};

for (const fixture of ['gpt2-tiny', 'llama-tiny-gqa', 'roberta-tiny']) {
  it(`${fixture}: batches of 4 give the values of one batch of all 11 examples`, async () => {
    const { model } = await loadModel(modelFixture(fixture));
    const whole = makeBatch(examples, 1);
    const influence = await blockInfluence(model, whole.inputIds, whole.attentionMask);
    const d1 = await angularDistances(model, whole.inputIds, whole.attentionMask, 1);
    const d2 = await angularDistances(model, whole.inputIds, whole.attentionMask, 2);
    disposeBatch(whole);

    const options = { batchSize: 4, padId: 1 };
    close(await influenceOver(model, examples, options), influence, 'influence');
    close(await angularDistancesOver(model, examples, 1, options), d1, 'd(ℓ, ℓ+1)');
    close(await angularDistancesOver(model, examples, 2, options), d2, 'd(ℓ, ℓ+2)');

    const { angular, cosine } = await depthSimilarity(model, examples, options);
    assert.equal(angular.length, 5);
    close(
      d1.map((_, l) => angular[l]![l + 1]!),
      d1,
      'angular[ℓ][ℓ+1]',
    );
    close(
      d2.map((_, l) => angular[l]![l + 2]!),
      d2,
      'angular[ℓ][ℓ+2]',
    );
    for (let i = 0; i < 5; i++) {
      assert.equal(angular[i]![i], 0);
      assert.equal(cosine[i]![i], 1);
      for (let j = 0; j < 5; j++) {
        assert.ok(Math.abs(angular[i]![j]! - angular[j]![i]!) < 1e-6);
        assert.ok(Math.abs(cosine[i]![j]! - cosine[j]![i]!) < 1e-6);
        // a mean of arccos(c)/π lies between 0 and 1 and falls as the mean cosine rises
        if (i !== j) assert.ok(angular[i]![j]! > 0 && angular[i]![j]! < 1);
      }
    }
    model.dispose();
  });
}

it('calibration samples: seeded, without repeats, all examples when there are fewer', () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  const a = calibrationSample(items, 6, 0);
  assert.deepEqual(a, calibrationSample(items, 6, 0));
  assert.deepEqual(a, [18, 8, 19, 17, 13, 14]); // the draw of seed 0: changing it changes every computed run
  assert.notDeepEqual(calibrationSample(items, 6, 1), a);
  assert.equal(new Set(calibrationSample(items, 20, 3)).size, 20);
  assert.deepEqual(calibrationSample(items, 99, 0).length, 20);
  assert.deepEqual(calibrationSample(items, 10, 0).slice(0, 6), a);
});
