/**
 * Depth preview: zero-shot accuracy against kept layers before any fine-tuning. One forward pass
 * per batch reads the label words at the answer slot through the final norm and the LM head at
 * every depth (a logit lens). The reading at depth k is exactly what the model cut to its first
 * k layers would score, so the preview ranks cuts without loading each one.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../models/types.js';
import type { EncodedExample } from '../train/batching.js';
import { forEachBatch, type MeasureOptions } from './batches.js';
import { atPositions } from '../train/objectives.js';
import { nonFiniteCounts, throwIfNotFinite } from './finite.js';

export interface DepthReading {
  /** Kept layers (the first `depth` of the model's kept layers). */
  depth: number;
  accuracy: number;
  /** Predicted class of each example, in input order. */
  predictions: number[];
}

/** labelTokenIds: the scored token of each class (the first token of its first label word). */
export async function depthPreview(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  labelTokenIds: readonly number[],
  options: MeasureOptions = {},
): Promise<DepthReading[]> {
  const depths = model.info.layersAfter;
  const predictions = Array.from({ length: depths }, () => new Array<number>(examples.length));
  const tokenIds = tf.tensor1d(Array.from(labelTokenIds), 'int32');
  try {
    await forEachBatch(examples, options, 'the depth preview', async (batch, indices) => {
      const perDepth = tf.tidy(() => {
        const states = model.forward(batch.inputIds, batch.attentionMask, {
          hiddenStates: true,
        }).hiddenStates!;
        const scores = states.slice(1).map((state) => {
          const atSlot = atPositions(model.headInput(state) as tf.Tensor3D, batch.scorePositions); // [B, D]
          return model.lmHead(atSlot, tokenIds) as tf.Tensor2D; // [B, C]
        });
        const predicted = tf.stack(scores.map((s) => tf.argMax(s, 1))).flatten(); // [L·B]
        const everyRow = tf.ones([indices.length, 1], 'int32') as tf.Tensor2D; // the slot is a real token
        return tf.concat([tf.cast(predicted, 'float32'), nonFiniteCounts(scores, everyRow)]); // and [L] counts
      });
      const values = await perDepth.data();
      perDepth.dispose();
      throwIfNotFinite(
        'depth preview',
        values.subarray(depths * indices.length),
        (d) => `the label scores at depth ${d + 1} (after layer ${model.info.keptLayers[d]})`,
      );
      for (let d = 0; d < depths; d++) {
        indices.forEach((example, row) => (predictions[d]![example] = values[d * indices.length + row]!));
      }
    });
  } finally {
    tokenIds.dispose();
  }
  return predictions.map((predicted, d) => ({
    depth: d + 1,
    predictions: predicted,
    accuracy: examples.length
      ? predicted.filter((p, i) => p === examples[i]!.label).length / examples.length
      : 0,
  }));
}
