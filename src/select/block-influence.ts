/**
 * Block influence (ShortGPT): how much each kept layer changes the residual stream,
 * BI_l = 1 − mean over real tokens of cos(h_l, h_{l+1}), h_l the input of layer l and h_{l+1}
 * its output (raw residual stream, before any final norm). Layers with low influence are the
 * candidates to cut.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../models/types.js';
import { nonFiniteCounts, stateName, throwIfNotFinite } from './finite.js';

/** Cosine similarity over the last axis, as torch's cosine_similarity (eps 1e-8): [B, T, D] → [B, T]. */
function cosine(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(a, b), -1);
    const norms = tf.mul(tf.norm(a, 'euclidean', -1), tf.norm(b, 'euclidean', -1));
    return tf.div(dot, tf.maximum(norms, 1e-8)) as tf.Tensor2D;
  });
}

/** BI of every kept layer, in order, over the real tokens of a batch. inputIds, attentionMask: [B, T]. */
export async function blockInfluence(
  model: LanguageModel,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
): Promise<number[]> {
  const layers = model.info.keptLayers;
  const perLayer = tf.tidy(() => {
    const states = model.forward(inputIds, attentionMask, { hiddenStates: true }).hiddenStates!; // L+1 × [B, T, D]
    const real = tf.cast(attentionMask, 'float32');
    const count = tf.sum(real);
    const influence = states.slice(1).map((output, l) => {
      const meanCos = tf.div(tf.sum(tf.mul(cosine(states[l]!, output), real)), count);
      return tf.sub(1, meanCos);
    });
    return tf.concat([tf.stack(influence), nonFiniteCounts(states, attentionMask)]); // [L] influence, [L+1] counts
  });
  const values = await perLayer.data();
  perLayer.dispose();
  throwIfNotFinite('block influence', values.subarray(layers.length), (depth) => stateName(layers, depth));
  return Array.from(values.subarray(0, layers.length));
}
