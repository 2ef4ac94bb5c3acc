// Cutting at load time: only the kept layers' bytes are read, counts and errors are right.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel, readModelConfig } from '../../src/models/load.js';
import { keepFirst, keepIndices, LayerSelectionError } from '../../src/models/selection.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

/** Bytes of the tensors whose names pass `keep`, from the checkpoint header. */
async function bytesOf(dir: string, keep: (name: string) => boolean): Promise<number> {
  const checkpoint = await openCheckpoint(dir);
  let total = 0;
  for (const name of checkpoint.names()) {
    if (keep(name)) total += checkpoint.info(name).end - checkpoint.info(name).begin;
  }
  await checkpoint.close();
  return total;
}

for (const [fixture, layerKey] of [
  ['gpt2-tiny', /^(?:transformer\.)?h\.(\d+)\./],
  ['opt-tiny', /layers\.(\d+)\./],
  ['opt-tiny-postln', /layers\.(\d+)\./],
] as const) {
  it(`${fixture}: a model cut to 2 layers reads exactly the bytes of layers 0-1 and the shared tensors`, async () => {
    const dir = modelFixture(fixture);
    const { model, bytesRead } = await loadModel(dir, { layers: keepFirst(2) });
    const expected = await bytesOf(dir, (name) => {
      const m = layerKey.exec(name);
      return !m || Number(m[1]) < 2;
    });
    const full = await bytesOf(dir, () => true);
    assert.equal(bytesRead, expected);
    assert.ok(bytesRead < full);
    assert.deepEqual(model.info.keptLayers, [0, 1]);
    model.dispose();
  });
}

it('reports layers and parameters before and after the cut', async () => {
  const dir = modelFixture('gpt2-tiny');
  const { model } = await loadModel(dir, { layers: keepFirst(1) });
  const checkpoint = await openCheckpoint(dir);
  const totalParams = checkpoint
    .names()
    .reduce((sum, n) => sum + checkpoint.info(n).shape.reduce((a, b) => a * b, 1), 0);
  await checkpoint.close();
  const { layersBefore, layersAfter, paramsBefore, paramsAfter } = model.info;
  assert.equal(layersBefore, 4);
  assert.equal(layersAfter, 1);
  assert.equal(paramsBefore, totalParams);
  // one GPT-2 block of width 32: 2 LayerNorms + qkv + proj + MLP (4x) = 12,704 parameters
  const block = 2 * 64 + (32 * 96 + 96) + (32 * 32 + 32) + (32 * 128 + 128) + (128 * 32 + 32);
  assert.equal(block, 12_704);
  assert.equal(paramsBefore - paramsAfter, 3 * block);
  model.dispose();
});

it('keeps any set of layers by their original index', async () => {
  const dir = modelFixture('gpt2-tiny');
  const { model } = await loadModel(dir, { layers: keepIndices([3, 0]) });
  assert.deepEqual(model.info.keptLayers, [0, 3]);
  assert.ok(model.params.has('h.3.attn.c_attn.weight'));
  assert.ok(!model.params.has('h.1.attn.c_attn.weight'));
  const ids = tf.tensor2d([[5, 6, 7]], [1, 3], 'int32');
  const mask = tf.ones([1, 3], 'int32') as tf.Tensor2D;
  const logits = model.logits(ids, mask);
  assert.deepEqual(logits.shape, [1, 3, 99]);
  tf.dispose([ids, mask, logits]);
  model.dispose();
});

it('rejects a layer the model does not have, naming the range', async () => {
  const dir = modelFixture('opt-tiny');
  await assert.rejects(loadModel(dir, { layers: keepIndices([0, 7]) }), (error: Error) => {
    assert.ok(error instanceof LayerSelectionError);
    assert.match(error.message, /layer 7 does not exist: opt-tiny has 4 layers \(0\.\.3\)/);
    return true;
  });
  await assert.rejects(
    loadModel(dir, { layers: keepFirst(5) }),
    /cannot keep the first 5 layers: opt-tiny has 4 layers/,
  );
});

it('reads config.json alone without weights', async () => {
  const { family, config } = await readModelConfig(modelFixture('opt-tiny-postln'));
  assert.deepEqual(family.modelTypes, ['opt']);
  assert.equal(config.numLayers, 4);
  assert.equal(config.hiddenSize, 32);
});

it('does not leak tensors across forward passes', async () => {
  const { model } = await loadModel(modelFixture('opt-tiny'));
  const ids = tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32');
  const mask = tf.ones([1, 4], 'int32') as tf.Tensor2D;
  tf.dispose(model.logits(ids, mask));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(model.logits(ids, mask));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([ids, mask]);
  model.dispose();
});

it('loading leaves exactly one tensor per parameter, and dispose frees them all', async () => {
  const before = tf.memory().numTensors;
  const { model } = await loadModel(modelFixture('gpt2-tiny'), { layers: keepFirst(2) });
  assert.equal(tf.memory().numTensors - before, model.params.size);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});
