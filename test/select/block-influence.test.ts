// Block influence equals the same quantity computed by PyTorch from transformers' hidden states
// (fixture entry block_influence, made by test/fixtures/models/make_fixtures.py).
import assert from 'node:assert/strict';
import path from 'node:path';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { blockInfluence } from '../../src/select/block-influence.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { modelFixture, newFamilyFixtures } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

// transformers' last hidden state has the final norm applied for these families, so its last
// block-influence entry is not the raw layer's: compare layers 0..L-2 there, all layers elsewhere
const finalNormApplied = new Set(['gpt2-tiny', 'opt-tiny', 'llama-tiny-gqa', ...newFamilyFixtures]);

for (const fixture of [
  'gpt2-tiny',
  'opt-tiny',
  'opt-tiny-postln',
  'llama-tiny-gqa',
  'bert-tiny',
  'roberta-tiny',
  ...newFamilyFixtures,
]) {
  it(`${fixture}: block influence equals PyTorch's`, async () => {
    const dir = modelFixture(fixture);
    const reference = await openCheckpoint(path.join(dir, 'reference.safetensors'));
    const ids = await reference.readInt32('input_ids');
    const mask = await reference.readInt32('attention_mask');
    const expected = Array.from((await reference.readFloat32('block_influence')).data);
    await reference.close();
    const shape = ids.shape as [number, number];
    const inputIds = tf.tensor2d(ids.data, shape, 'int32');
    const attentionMask = tf.tensor2d(mask.data, shape, 'int32');
    const { model } = await loadModel(dir);
    const actual = await blockInfluence(model, inputIds, attentionMask);
    assert.equal(actual.length, 4);
    const compared = finalNormApplied.has(fixture) ? expected.length - 1 : expected.length;
    assert.ok(compared >= 3);
    for (let l = 0; l < compared; l++) {
      assert.ok(Math.abs(actual[l]! - expected[l]!) < 1e-5, `layer ${l}: ${actual[l]} vs ${expected[l]}`);
    }
    assert.ok(actual.every((v) => v > 0 && v < 2));
    tf.dispose([inputIds, attentionMask]);
    model.dispose();
  });
}
