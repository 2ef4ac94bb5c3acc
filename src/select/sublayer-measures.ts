/**
 * Block influence and angular distance per sublayer (FinerCut's view: attention and MLP apart).
 * The residual stream is read at every sublayer boundary: s_2l the input of kept layer l,
 * s_2l+1 = s_2l + what its attention adds (the output of its attention output projection, read
 * through a projection observer), s_2l+2 its output. Over kept layers in order:
 *
 *   influence[k] = 1 − mean over real tokens of cos(s_k, s_k+1)          (ShortGPT's BI)
 *   angular[k]   = mean over sequences of arccos(cos(s_k, s_k+1)) / π at the last real token
 *                                                                          (Gromov et al.)
 * k = 2l is layer l's attention, k = 2l+1 its MLP: low values are the sublayers to drop first.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { families } from '../models/load.js';
import { observeProjection, stopObserving } from '../models/projection-hooks.js';
import { sublayerLayout } from '../models/sublayers.js';
import type { LanguageModel } from '../models/types.js';
import type { EncodedExample } from '../train/batching.js';
import { forEachBatch, type MeasureOptions } from './batches.js';

/** s_0 … s_2L of one batch, each [B, T, D] (tensors the caller disposes). */
export function sublayerStates(
  model: LanguageModel,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
): tf.Tensor3D[] {
  const layout = sublayerLayout(model.info.config);
  if (typeof layout === 'string') throw new LayercutError(`no sublayer measures: ${layout}`);
  const family = families.find((f) => f.modelTypes.includes(model.info.config.modelType))!;
  const attentionOut = new Map<number, tf.Tensor2D>();
  const weights = model.info.keptLayers.map((layer) => {
    const weight = model.params.get(`${family.layerPrefix(layer)}${layout.attentionOutput}.weight`)!;
    observeProjection(weight, (y) => {
      attentionOut.get(layer)?.dispose();
      attentionOut.set(layer, tf.keep(y)); // [B·T, D]
    });
    return weight;
  });
  try {
    return tf.tidy(() => {
      const states = model.forward(inputIds, attentionMask, { hiddenStates: true }).hiddenStates!;
      const out: tf.Tensor3D[] = [states[0]!];
      model.info.keptLayers.forEach((layer, l) => {
        const input = states[l]!;
        out.push(tf.add(input, attentionOut.get(layer)!.reshape(input.shape)) as tf.Tensor3D, states[l + 1]!);
      });
      return out;
    });
  } finally {
    for (const weight of weights) stopObserving(weight);
    tf.dispose([...attentionOut.values()]);
  }
}

export interface SublayerMeasures {
  /** [2L]: attention of kept layer 0, its MLP, attention of layer 1, … */
  influence: number[];
  angular: number[];
}

/** Both measures over one batch. inputIds, attentionMask: [B, T]. */
export async function sublayerMeasures(
  model: LanguageModel,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
): Promise<SublayerMeasures> {
  const states = sublayerStates(model, inputIds, attentionMask);
  const measured = tf.tidy(() => {
    const [batch, seq, width] = states[0]!.shape;
    const real = tf.cast(attentionMask, 'float32');
    const count = tf.sum(real);
    const cosine = (a: tf.Tensor, b: tf.Tensor) =>
      tf.div(
        tf.sum(tf.mul(a, b), -1),
        tf.maximum(tf.mul(tf.norm(a, 'euclidean', -1), tf.norm(b, 'euclidean', -1)), 1e-8),
      );
    const last = tf.sub(tf.sum(tf.cast(attentionMask, 'int32'), 1), tf.scalar(1, 'int32')); // [B]
    const rows = tf.add(tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(seq, 'int32')), last);
    const atLast = (s: tf.Tensor3D) => tf.gather(s.reshape([batch * seq, width]), rows); // [B, D]
    const influence = states
      .slice(1)
      .map((next, k) => tf.sub(1, tf.div(tf.sum(tf.mul(cosine(states[k]!, next), real)), count)));
    const angular = states
      .slice(1)
      .map((next, k) =>
        tf.mean(tf.div(tf.acos(tf.clipByValue(cosine(atLast(states[k]!), atLast(next)), -1, 1)), Math.PI)),
      );
    return tf.stack([tf.stack(influence), tf.stack(angular)]); // [2, 2L]
  });
  const values = Array.from(await measured.data());
  tf.dispose([measured, ...states]);
  const half = values.length / 2;
  return { influence: values.slice(0, half), angular: values.slice(half) };
}

/**
 * Both measures over calibration examples, batch by batch: influence weighted by each batch's
 * real tokens, angular distance by its sequences (what one batch of them all would give).
 */
export async function sublayerMeasuresOver(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  options: MeasureOptions = {},
): Promise<SublayerMeasures> {
  let influence: number[] | undefined;
  let angular: number[] | undefined;
  let tokens = 0;
  const add = (sum: number[] | undefined, values: number[], weight: number) =>
    values.map((v, k) => (sum?.[k] ?? 0) + v * weight);
  await forEachBatch(examples, options, 'the sublayer measurement', async (batch) => {
    const measured = await sublayerMeasures(model, batch.inputIds, batch.attentionMask);
    influence = add(influence, measured.influence, batch.tokens);
    angular = add(angular, measured.angular, batch.size);
    tokens += batch.tokens;
  });
  if (!influence || !angular) throw new LayercutError('sublayer measures need calibration examples');
  return { influence: influence.map((v) => v / tokens), angular: angular.map((v) => v / examples.length) };
}
