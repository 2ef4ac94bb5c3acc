// What a LoRA training step holds (src/models/lora.ts, projection-hooks.ts, runtime/ops/linear.ts):
// with the base frozen, the forward pass keeps what full fine-tuning keeps plus one x·Aᵀ [N, r]
// per adapted projection, and backward computes no gradient of a frozen weight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { LoraAdapters } from '../../src/models/lora.js';
import { variableGrads } from '../../src/runtime/gradients.js';
import { promptLmLoss, type PromptBatch } from '../../src/train/objectives.js';
import { modelFixture } from '../helpers/fixtures.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

/** 6 prompts of 24 tokens, scored at their last token. */
function batchOf(vocab: number): PromptBatch {
  const [rows, seq] = [6, 24];
  return {
    inputIds: tf.tensor2d(
      Array.from({ length: rows * seq }, (_, i) => (i * 37 + 11) % vocab),
      [rows, seq],
      'int32',
    ),
    attentionMask: tf.ones([rows, seq], 'int32') as tf.Tensor2D,
    answerPositions: tf.fill([rows], seq - 1, 'int32') as tf.Tensor1D,
    labels: tf.tensor1d([0, 1, 0, 1, 0, 1], 'int32'),
  };
}

/** The loss as it is, whose gradient notes the buffers alive when backward begins (the forward's scope gone). */
function probed(loss: tf.Scalar, note: (buffers: number) => void): tf.Scalar {
  const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      note(tf.memory().numDataBuffers);
      return tf.clone(dy as tf.Tensor);
    },
  }));
  return probe(loss) as tf.Scalar;
}

describe('a LoRA step', () => {
  it('keeps full fine-tuning’s activations plus one x·Aᵀ per projection, and computes no gradient of a frozen weight', async () => {
    const { model } = await loadModel(modelFixture('gpt2-tiny'));
    const batch = batchOf(model.info.config.vocabSize);
    const labelTokenIds = tf.tensor1d([5, 9], 'int32');
    const frozenShapes = new Set([...model.params.values()].filter((v) => v.rank === 2).map((v) => String(v.shape)));

    /** One step's gradients, handed over as they are ready and dropped: buffers held when backward begins. */
    const step = async (trained: tf.Variable[]) => {
      const atStart = tf.memory().numDataBuffers;
      let atBackward = 0;
      const profile = await tf.profile(() => {
        const { value, grads } = variableGrads(
          () => probed(promptLmLoss(model, batch, labelTokenIds), (n) => (atBackward = n)),
          trained,
          { onReady: (_, grad) => grad.dispose() },
        );
        tf.dispose([value, ...Object.values(grads)]);
      });
      assert.equal(tf.memory().numDataBuffers, atStart, 'nothing left over');
      const products = profile.kernels
        .filter((k) => k.name === 'BatchMatMul')
        .map((k) => String(k.outputShapes[0]));
      return { held: atBackward - atStart, products };
    };

    const full = await step([...model.params.values()]);
    // alpha ≠ rank: the update is scaled
    const adapters = new LoraAdapters(model, { kind: 'lora', rank: 2, alpha: 4, targets: 'all', dropout: 0 }, 1);
    const lora = await step([...adapters.params.values()]);
    const projections = adapters.params.size / 2;
    assert.equal(projections, 16); // 4 layers × c_attn, attn.c_proj, c_fc, mlp.c_proj

    // each projection adds x·Aᵀ and the scaling s (on the cpu backend a scalar of its own): tfjs's
    // add and mul kept the product x·W + b, the update and the scaled update ([N, out] each) too
    assert.ok(
      lora.held <= full.held + 2 * projections,
      `buffers held when backward begins: ${lora.held} with LoRA, ${full.held} in full fine-tuning`,
    );
    // full fine-tuning makes every weight's gradient; LoRA none (x·Aᵀ's and B's products only)
    assert.ok(full.products.some((shape) => frozenShapes.has(shape)));
    const weightShaped = lora.products.filter((shape) => frozenShapes.has(shape));
    assert.deepEqual(weightShaped, [], 'products of a frozen weight’s shape in the LoRA step');

    adapters.dispose();
    model.dispose();
    tf.dispose([labelTokenIds, ...Object.values(batch)]);
  });
});
