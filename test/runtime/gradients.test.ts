// layercut's variableGrads (src/runtime/gradients.ts): tfjs's gradients, bit for bit, with the
// backward pass's memory freed as it goes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { variableGrads } from '../../src/runtime/gradients.js';
import { promptLmLoss, type PromptBatch } from '../../src/train/objectives.js';
import { modelFixture } from '../helpers/fixtures.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

/** 16 prompts of 32 tokens (the last row padded after 9), scored at their last real token. */
function fixtureBatch(vocab: number): PromptBatch {
  const [rows, seq] = [16, 32];
  const ids = Array.from({ length: rows * seq }, (_, i) => (i * 37 + 11) % vocab);
  const mask = Array.from({ length: rows * seq }, (_, i) => (i >= (rows - 1) * seq + 9 ? 0 : 1));
  return {
    inputIds: tf.tensor2d(ids, [rows, seq], 'int32'),
    attentionMask: tf.tensor2d(mask, [rows, seq], 'int32'),
    answerPositions: tf.tensor1d([...Array(rows - 1).fill(seq - 1), 8], 'int32'),
    labels: tf.tensor1d(
      Array.from({ length: rows }, (_, i) => i % 2),
      'int32',
    ),
  };
}

describe('variableGrads', () => {
  it('gives the GPT-2 fixture the same loss and gradients as tf.variableGrads, with less memory at its peak and no tensor left over', async () => {
    const { model } = await loadModel(modelFixture('gpt2-tiny'));
    const batch = fixtureBatch(model.info.config.vocabSize);
    const labelTokenIds = tf.tensor1d([5, 9], 'int32');
    const variables = [...model.params.values()];
    const loss = () => promptLmLoss(model, batch, labelTokenIds);

    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    // tf.profile hands back one object it reuses: copy what each run needs
    const profile = async (grads: typeof variableGrads) => {
      const info = await tf.profile(() => {
        const { value, grads: byName } = grads(loss, variables);
        return [value, ...Object.values(byName)];
      });
      return { result: info.result as tf.Tensor[], peakBytes: info.peakBytes };
    };
    const theirs = await profile(tf.variableGrads);
    const ours = await profile(variableGrads);
    const [theirValue, ...theirGrads] = theirs.result;
    const [ourValue, ...ourGrads] = ours.result;
    assert.equal(ourGrads.length, variables.length);
    assert.deepEqual(await ourValue!.data(), await theirValue!.data());
    for (const [i, grad] of ourGrads.entries()) {
      assert.deepEqual(grad.shape, theirGrads[i]!.shape);
      assert.deepEqual(await grad.data(), await theirGrads[i]!.data(), `gradient ${variables[i]!.name}`);
    }
    // tfjs keeps every saved activation and every intermediate gradient to the end of backward
    const [ourPeak, theirPeak] = [ours.peakBytes - bytesBefore, theirs.peakBytes - bytesBefore];
    assert.ok(
      ourPeak < 0.8 * theirPeak,
      `bytes added at the peak: ${ourPeak} (layercut) vs ${theirPeak} (tfjs)`,
    );
    tf.dispose([...theirs.result, ...ours.result]);
    assert.equal(tf.memory().numTensors, tensorsBefore);
    tf.dispose([labelTokenIds, ...Object.values(batch)]);
    model.dispose();
  });

  it('keeps a gradient a custom gradient passes through unchanged to several inputs', async () => {
    const a = tf.variable(tf.tensor1d([1, 2, 3]), true, 'pass-a');
    const b = tf.variable(tf.tensor1d([4, 5, 6]), true, 'pass-b');
    const c = tf.variable(tf.tensor1d([-1, 0.5, 2]), true, 'pass-c');
    // z = a + b, differentiated as (dy, dy): one tensor handed to both inputs
    const passThrough = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.add(args[0] as tf.Tensor, args[1] as tf.Tensor),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [dy as tf.Tensor, dy as tf.Tensor],
    }));
    // a reaches the loss twice: its gradient is accumulated onto the passed-through one
    const f = () => tf.sum(tf.mul(tf.add(passThrough(a, b), tf.mul(a, c)), tf.exp(c))) as tf.Scalar;
    const expected = tf.variableGrads(f, [a, b, c]);
    const actual = variableGrads(f, [a, b, c]);
    for (const name of ['pass-a', 'pass-b', 'pass-c'])
      assert.deepEqual(await actual.grads[name]!.data(), await expected.grads[name]!.data(), name);
    tf.dispose([
      expected.value,
      actual.value,
      ...Object.values(expected.grads),
      ...Object.values(actual.grads),
    ]);
    tf.dispose([a, b, c]);
  });

  it('leaves out variables the loss does not reach, and refuses a loss that reaches none', () => {
    const used = tf.variable(tf.scalar(2), true, 'reached');
    const unused = tf.variable(tf.scalar(3), true, 'unreached');
    const { value, grads } = variableGrads(() => tf.square(used) as tf.Scalar, [used, unused]);
    assert.deepEqual(Object.keys(grads), ['reached']);
    assert.equal(grads['reached']!.dataSync()[0], 4);
    tf.dispose([value, ...Object.values(grads)]);
    assert.throws(() => variableGrads(() => tf.scalar(1), [used]), /connection between any variable/);
    tf.dispose([used, unused]);
  });
});
