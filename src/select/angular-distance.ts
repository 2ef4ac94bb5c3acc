/**
 * Angular distance between layers ("The Unreasonable Ineffectiveness of the Deeper Layers",
 * Gromov et al. 2024): d(ℓ, ℓ+n) = arccos(cos(x_ℓ, x_{ℓ+n})) / π, x_ℓ the input of layer ℓ at each
 * sequence's last real token, averaged over the batch. The block of n layers starting at the
 * ℓ with the smallest distance changes the representation least: the one to drop.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import type { LanguageModel } from '../models/types.js';
import { nonFiniteCounts, stateName, throwIfNotFinite } from './finite.js';

/** d(ℓ, ℓ+n) for ℓ = 0 … L−n over kept layers (positions in the kept list). inputIds, attentionMask: [B, T]. */
export async function angularDistances(
  model: LanguageModel,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  n: number,
): Promise<number[]> {
  const layers = model.info.layersAfter;
  if (!Number.isInteger(n) || n < 1 || n > layers) {
    throw new LayercutError(`cannot measure blocks of ${n} layers in a model with ${layers} kept layers`);
  }
  const both = tf.tidy(() => {
    const states = model.forward(inputIds, attentionMask, { hiddenStates: true }).hiddenStates!; // L+1 × [B, T, D]
    const [batch, seq, width] = states[0]!.shape;
    const last = tf.sub(tf.sum(tf.cast(attentionMask, 'int32'), 1), tf.scalar(1, 'int32')); // [B]
    const rows = tf.add(tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(seq, 'int32')), last);
    const lastTokens = tf.stack(states.map((s) => tf.gather(s.reshape([batch * seq, width]), rows))); // [L+1, B, D]
    const from = lastTokens.slice([0, 0, 0], [layers + 1 - n, -1, -1]);
    const to = lastTokens.slice([n, 0, 0], [layers + 1 - n, -1, -1]);
    const cos = tf.div(
      tf.sum(tf.mul(from, to), -1),
      tf.maximum(tf.mul(tf.norm(from, 'euclidean', -1), tf.norm(to, 'euclidean', -1)), 1e-8),
    ); // [L+1−n, B]
    const distances = tf.mean(tf.div(tf.acos(tf.clipByValue(cos, -1, 1)), Math.PI), 1); // [L+1−n]
    return tf.concat([distances, nonFiniteCounts(states, attentionMask)]); // and [L+1] counts
  });
  const values = await both.data();
  both.dispose();
  const count = layers + 1 - n;
  throwIfNotFinite('angular distance', values.subarray(count), (depth) =>
    stateName(model.info.keptLayers, depth),
  );
  return Array.from(values.subarray(0, count));
}

/** The block [start, start+n) whose ends are closest: the n layers to drop (positions in the kept list). */
export function blockToDrop(
  distances: readonly number[],
  n: number,
): { start: number; end: number; distance: number } {
  let start = 0;
  distances.forEach((d, l) => {
    if (d < distances[start]!) start = l;
  });
  return { start, end: start + n, distance: distances[start]! };
}
