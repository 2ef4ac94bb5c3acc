/**
 * The causal language-modelling objective: every position predicts the next token.
 *
 *   block [B, T+1] → inputs = block[:, :T], targets = block[:, 1:]
 *   logits [B, T, V] → mean over B·T of  logsumexp(logits) − logits[target]  (softmax cross-entropy)
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../models/types.js';

/** A batch of training sequences: `rows` blocks of `length + 1` tokens each. */
export interface TokenBlocks {
  /** Row-major [rows, length + 1] token ids. */
  ids: Int32Array;
  rows: number;
  /** Tokens read per row (the last token of a block is only a target). */
  length: number;
}

/** Blocks `indices` of `source` (each `length + 1` long) as one [rows, length + 1] batch. */
export function gatherBlocks(source: Int32Array, length: number, indices: readonly number[]): TokenBlocks {
  const width = length + 1;
  const ids = new Int32Array(indices.length * width);
  indices.forEach((block, row) => ids.set(source.subarray(block * width, (block + 1) * width), row * width));
  return { ids, rows: indices.length, length };
}

/** Mean next-token cross-entropy (nats per token) of `model` on `blocks`: a scalar. */
export function causalLmLoss(model: LanguageModel, blocks: TokenBlocks): tf.Scalar {
  return tf.tidy(() => {
    const { rows, length } = blocks;
    const all = tf.tensor2d(blocks.ids, [rows, length + 1], 'int32');
    const inputs = tf.slice(all, [0, 0], [rows, length]) as tf.Tensor2D; // [B, T]
    const targets = tf.slice(all, [0, 1], [rows, length]).reshape([-1]) as tf.Tensor1D; // [B·T]
    const mask = tf.onesLike(inputs);
    const logits = model.logits(inputs, mask); // [B, T, V]
    const vocab = logits.shape[2];
    const flat = logits.reshape([rows * length, vocab]) as tf.Tensor2D; // [N, V]
    // one-hot targets, not a gather from the flattened logits: that gather's indices reach
    // N·V (67 M for 128 × 128 tokens and 4096 words), beyond what float index arithmetic keeps exact
    const oneHot = tf.oneHot(targets, vocab); // [N, V]
    return tf.losses.softmaxCrossEntropy(oneHot, flat) as tf.Scalar; // mean over the N positions
  });
}
