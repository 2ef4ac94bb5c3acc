// Angular distance between layers, against the same quantity computed from transformers'
// hidden states (fixture entry hidden_full, [L+1, B, T, D]).
import assert from 'node:assert/strict';
import path from 'node:path';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { angularDistances, blockToDrop } from '../../src/select/angular-distance.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { modelFixture, newFamilyFixtures } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

/** d(ℓ, ℓ+n) from the reference hidden states, in plain JS, at each sequence's last real token. */
function referenceDistances(
  hidden: Float32Array,
  shape: number[],
  mask: Int32Array,
  n: number,
  upTo: number,
): number[] {
  const [, batch, seq, width] = shape as [number, number, number, number];
  const vector = (layer: number, b: number, t: number) =>
    hidden.subarray(((layer * batch + b) * seq + t) * width, ((layer * batch + b) * seq + t + 1) * width);
  const out: number[] = [];
  for (let l = 0; l + n <= upTo; l++) {
    let sum = 0;
    for (let b = 0; b < batch; b++) {
      let last = -1;
      for (let t = 0; t < seq; t++) if (mask[b * seq + t]) last = t;
      const x = vector(l, b, last);
      const y = vector(l + n, b, last);
      let dot = 0;
      let nx = 0;
      let ny = 0;
      for (let i = 0; i < width; i++) [dot, nx, ny] = [dot + x[i]! * y[i]!, nx + x[i]! ** 2, ny + y[i]! ** 2];
      sum += Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(nx * ny)))) / Math.PI;
    }
    out.push(sum / batch);
  }
  return out;
}

// the last reference hidden state has the final norm applied for the decoders: stop before it
for (const [fixture, rawStates] of [
  ['bert-tiny', 5],
  ['roberta-tiny', 5],
  ['gpt2-tiny', 4],
  ['llama-tiny-gqa', 4],
  ...newFamilyFixtures.map((name) => [name, 4] as const),
] as const) {
  it(`${fixture}: angular distances equal those of transformers' hidden states`, async () => {
    const dir = modelFixture(fixture);
    const reference = await openCheckpoint(path.join(dir, 'reference.safetensors'));
    const ids = await reference.readInt32('input_ids');
    const mask = await reference.readInt32('attention_mask');
    const hidden = await reference.readFloat32('hidden_full');
    await reference.close();
    const shape = ids.shape as [number, number];
    const { model } = await loadModel(dir);
    const inputIds = tf.tensor2d(ids.data, shape, 'int32');
    const attentionMask = tf.tensor2d(mask.data, shape, 'int32');
    for (const n of [1, 2]) {
      const actual = await angularDistances(model, inputIds, attentionMask, n);
      assert.equal(actual.length, 5 - n);
      const expected = referenceDistances(hidden.data, hidden.shape, mask.data, n, rawStates - 1);
      expected.forEach((e, l) =>
        assert.ok(Math.abs(actual[l]! - e) < 1e-5, `n=${n} ℓ=${l}: ${actual[l]} vs ${e}`),
      );
    }
    await assert.rejects(angularDistances(model, inputIds, attentionMask, 5), /blocks of 5 layers/);
    tf.dispose([inputIds, attentionMask]);
    model.dispose();
  });
}

it('the block to drop starts where the distance is smallest', () => {
  assert.deepEqual(blockToDrop([0.3, 0.1, 0.2], 2), { start: 1, end: 3, distance: 0.1 });
});
