/**
 * The causal language-modelling objective: every position predicts the next token.
 *
 *   block [B, T+1] → inputs = block[:, :T], targets = block[:, 1:]
 *   logits [B, T, V] → mean over B·T of  logsumexp(logits) − logits[target]
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
    const logZ = tf.logSumExp(flat, 1); // [N]
    // the target's logit: gather from the flattened [N·V] logits (gather has a gradient, gatherND not)
    const rowStarts = tf.mul(tf.range(0, rows * length, 1, 'int32'), tf.scalar(vocab, 'int32'));
    const picked = tf.gather(flat.reshape([-1]), tf.add(rowStarts, targets)); // [N]
    return tf.mean(tf.sub(logZ, picked)) as tf.Scalar;
  });
}
