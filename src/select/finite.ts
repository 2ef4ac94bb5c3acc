/**
 * Measurements of layers are only as good as the numbers they start from: a checkpoint with NaN
 * or infinite weights (or an overflow) gives hidden states that are not finite, and then
 * cosines, angular distances and argmax predictions that mean nothing — some tfjs ops (max,
 * clip, argmax) even turn NaN into ordinary-looking numbers. Each measurement therefore counts
 * the values that are not finite in what it reads (at real tokens only), reads the counts back
 * with its results, and throws `NonFiniteError` naming the measure and the layer.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';

export class NonFiniteError extends LayercutError {
  override name = 'NonFiniteError';
}

/**
 * For each tensor [B, T, …]: how many of its values at real tokens (attention mask 1) are NaN
 * or ±Infinity → [N] float32 (exact for counts below 2^24). Call inside tf.tidy.
 */
export function nonFiniteCounts(tensors: readonly tf.Tensor[], attentionMask: tf.Tensor2D): tf.Tensor1D {
  const padding = tf.equal(attentionMask, 0); // [B, T]
  return tf.stack(
    tensors.map((t) => {
      const pad = tf.reshape(padding, [...padding.shape, ...t.shape.slice(2).map(() => 1)]);
      return tf.sum(tf.cast(tf.logicalNot(tf.logicalOr(tf.isFinite(t), pad)), 'float32'));
    }),
  ) as tf.Tensor1D;
}

/**
 * Throws for the first entry of `counts` above 0: "<measure>: <n> values in <where(i)> are not
 * finite numbers (NaN or ±Infinity), so its scores would mean nothing".
 */
export function throwIfNotFinite(
  measure: string,
  counts: ArrayLike<number>,
  where: (index: number) => string,
): void {
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count > 0) {
      throw new NonFiniteError(
        `${measure}: ${count} value${count === 1 ? '' : 's'} in ${where(i)} ${count === 1 ? 'is not a finite number' : 'are not finite numbers'} (NaN or ±Infinity), so its scores would mean nothing`,
        "the checkpoint holds NaN or infinite weights, or the model overflows: `layercut parity` and the checkpoint's own tools can tell",
      );
    }
  }
}

/** "the embeddings" for depth 0, else "the output of layer <original index>" (hidden states of a model keeping `keptLayers`). */
export function stateName(keptLayers: readonly number[], depth: number): string {
  return depth === 0 ? 'the embeddings' : `the output of layer ${keptLayers[depth - 1]}`;
}
