// Host tensors (on a GPU: host→device uploads) per GPT-2 training step, constants kept as on a
// GPU: a fixed handful whatever the depth, against hundreds on the plain path.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { keepFirst } from '../../src/models/selection.js';
import { releaseDeviceConstants, setConstantCaching } from '../../src/runtime/constants.js';
import { setPlainOps } from '../../src/runtime/flags.js';
import { countHostTensors } from '../../src/runtime/host-tensors.js';
import { clipByGlobalNorm } from '../../src/train/clip.js';
import { promptLmLoss } from '../../src/train/objectives.js';
import { twoPromptBatch } from '../helpers/tiny-gpt2.js';
import { AdamW } from '../../src/train/optimizers.js';
import { modelFixture } from '../helpers/fixtures.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

/** Host tensors made by each of three steps (loss, gradients, clipping, AdamW) and the tensor counts after them. */
async function stepCounts(layers: number, plain: boolean): Promise<{ host: number[]; tensors: number[] }> {
  setPlainOps(plain);
  setConstantCaching(!plain);
  const { model } = await loadModel(modelFixture('gpt2-tiny'), { layers: keepFirst(layers) });
  const optimizer = new AdamW(model.params, { weightDecay: 0.1 });
  const variables = [...model.params.values()];
  const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const { batch, labelTokenIds } = twoPromptBatch();
  const result = { host: [] as number[], tensors: [] as number[] };
  try {
    for (let s = 0; s < 3; s++) {
      const count = countHostTensors();
      const { value, grads } = tf.variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
      const named: tf.NamedTensorMap = {};
      for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
      const clipped = clipByGlobalNorm(named, 1);
      optimizer.step(clipped.grads, 1e-3);
      count.stop();
      tf.dispose([value, named, clipped.grads, clipped.norm]);
      result.host.push(count.tensors);
      result.tensors.push(tf.memory().numTensors);
    }
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([...Object.values(batch), labelTokenIds]);
    setPlainOps(undefined);
    setConstantCaching(undefined);
    releaseDeviceConstants();
  }
  return result;
}

it('a training step makes the same few host tensors at 1 and 4 layers; the plain path ~120 per layer', async () => {
  const fast1 = await stepCounts(1, false);
  const fast4 = await stepCounts(4, false);
  // AdamW's per-step scalars (1), the gradient seed tf.grads makes (1), and the loss's own
  // (objectives.ts: a scalar, and the ones arrays of tf.mean's and tf.sum's gradients)
  assert.deepEqual(fast1.host, [6, 6, 6]);
  assert.deepEqual(fast4.host, [6, 6, 6]);
  const plain1 = await stepCounts(1, true);
  const plain4 = await stepCounts(4, true);
  assert.ok(plain1.host[2]! > 100, `plain, 1 layer: ${plain1.host}`);
  assert.ok(plain4.host[2]! - plain1.host[2]! > 3 * 100, `plain, 4 layers: ${plain4.host}`);
  // memory is stable from the second step on, constants kept included
  for (const run of [fast1, fast4, plain1, plain4]) assert.equal(run.tensors[2], run.tensors[1]);
});
