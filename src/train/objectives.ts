/**
 * Training objectives over a batch of prompts.
 *
 * Prompt-based fine-tuning (`lm`, the paper's main method): the LM head scores only the label
 * words at the answer slot; a softmax over those C scores against the true class gives the loss.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../models/types.js';
import { crossEntropy } from '../runtime/ops/cross-entropy.js';
import { markStepConstant } from '../runtime/step-graph.js';

export { crossEntropy };

export interface PromptBatch {
  /** [B, T] int32, right-padded. */
  inputIds: tf.Tensor2D;
  /** [B, T] int32, 1 for real tokens. */
  attentionMask: tf.Tensor2D;
  /** [B] int32: the token whose next-token scores rate the label words. */
  answerPositions: tf.Tensor1D;
  /** [B] int32 class indices. */
  labels: tf.Tensor1D;
}

/** A batch's tensors in a fixed order (the inputs of a replayed step: step-graph.ts). */
export const promptBatchTensors = (batch: PromptBatch): tf.Tensor[] => [
  batch.inputIds,
  batch.attentionMask,
  batch.answerPositions,
  batch.labels,
];

/** The batch of `promptBatchTensors`' tensors. */
export function promptBatchOf(tensors: readonly tf.Tensor[]): PromptBatch {
  const [inputIds, attentionMask, answerPositions, labels] = tensors;
  return {
    inputIds: inputIds as tf.Tensor2D,
    attentionMask: attentionMask as tf.Tensor2D,
    answerPositions: answerPositions as tf.Tensor1D,
    labels: labels as tf.Tensor1D,
  };
}

/** Hidden state at each example's answer position: [B, T, D] → [B, D]. */
export function atPositions(hidden: tf.Tensor3D, positions: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, seq, width] = hidden.shape;
    // gather has a gradient in tfjs, gatherND has not: index the flattened [B·T, D] rows
    // one upload, the same for every batch of this shape (a replayed step writes it again)
    const rowStarts = tf.tensor1d(
      markStepConstant(Int32Array.from({ length: batch }, (_, b) => b * seq)),
      'int32',
    );
    const flatIndex = tf.add(rowStarts, tf.cast(positions, 'int32'));
    return tf.gather(hidden.reshape([batch * seq, width]), flatIndex) as tf.Tensor2D;
  });
}

/** Label-word scores at the answer slot: [B, C] (first token of each label word). */
export function labelWordLogits(
  model: LanguageModel,
  batch: PromptBatch,
  labelTokenIds: tf.Tensor1D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const { lastHidden } = model.forward(batch.inputIds, batch.attentionMask);
    return model.lmHead(atPositions(lastHidden, batch.answerPositions), labelTokenIds) as tf.Tensor2D;
  });
}

/** The `lm` objective: cross-entropy over the verbalizer's label words at the answer slot. */
export function promptLmLoss(
  model: LanguageModel,
  batch: PromptBatch,
  labelTokenIds: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => crossEntropy(labelWordLogits(model, batch, labelTokenIds), batch.labels));
}
