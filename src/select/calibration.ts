/**
 * Layer measurements over a calibration set, batch by batch, with the same values as one pass
 * over all examples at once:
 *
 *   influenceOver         block influence of each kept layer (mean over every real token)
 *   angularDistancesOver  d(ℓ, ℓ+n) at each sequence's last real token (mean over sequences)
 *   depthSimilarity       cosine and angular distance between every pair of depths 0..L
 *                         (0: the embeddings; depth d: the output of the d-th kept layer)
 *
 * and `calibrationSample`, the seeded draw of calibration examples from a training split.
 */
import * as tf from '@tensorflow/tfjs';
import { randomStream, range, shuffled } from '../data/random.js';
import type { LanguageModel } from '../models/types.js';
import type { Batch, EncodedExample } from '../train/batching.js';
import { angularDistances } from './angular-distance.js';
import { forEachBatch, type MeasureOptions } from './batches.js';
import { blockInfluence } from './block-influence.js';
import { nonFiniteCounts, stateName, throwIfNotFinite } from './finite.js';

/** `count` examples of `train` in a seeded order (all of them when it has fewer). */
export function calibrationSample<T>(train: readonly T[], count: number, seed: number): T[] {
  const order = shuffled(range(train.length), randomStream(seed, 'calibration'));
  return order.slice(0, count).map((i) => train[i]!);
}

/** Runs `measure` on each batch and returns the weighted mean of its per-batch vectors. */
async function weightedMean(
  examples: readonly EncodedExample[],
  options: MeasureOptions,
  measure: (batch: Batch) => Promise<number[]>,
  weight: (batch: Batch) => number,
): Promise<number[]> {
  let sums: number[] | undefined;
  let total = 0;
  await forEachBatch(examples, options, 'the layer measurement', async (batch) => {
    const values = await measure(batch);
    const w = weight(batch);
    sums = sums ? sums.map((s, i) => s + w * values[i]!) : values.map((v) => w * v);
    total += w;
  });
  if (!sums || total === 0) throw new RangeError('no calibration examples to measure');
  return sums.map((s) => s / total);
}

/** Block influence of each kept layer over all real tokens of `examples` ([L]). */
export function influenceOver(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  options: MeasureOptions = {},
): Promise<number[]> {
  return weightedMean(
    examples,
    options,
    (batch) => blockInfluence(model, batch.inputIds, batch.attentionMask),
    (batch) => batch.tokens,
  );
}

/** d(ℓ, ℓ+n) for ℓ = 0 … L−n, mean over the sequences of `examples` ([L+1−n]). */
export function angularDistancesOver(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  n: number,
  options: MeasureOptions = {},
): Promise<number[]> {
  return weightedMean(
    examples,
    options,
    (batch) => angularDistances(model, batch.inputIds, batch.attentionMask, n),
    (batch) => batch.size,
  );
}

export interface DepthSimilarity {
  /** cosine[i][j]: mean cosine between the states at depths i and j ([L+1][L+1]). */
  cosine: number[][];
  /** angular[i][j] = mean of arccos(cosine)/π: in [0, 1], 0 on the diagonal ([L+1][L+1]). */
  angular: number[][];
}

/** Cosine and angular distance between the last-token states of every pair of depths. */
export async function depthSimilarity(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  options: MeasureOptions = {},
): Promise<DepthSimilarity> {
  const depths = model.info.layersAfter + 1;
  const both = await weightedMean(
    examples,
    options,
    async (batch) => {
      const sums = tf.tidy(() => {
        const states = model.forward(batch.inputIds, batch.attentionMask, {
          hiddenStates: true,
        }).hiddenStates!; // L+1 × [B, T, D]
        const [size, seq, width] = states[0]!.shape;
        const last = tf.sub(tf.sum(tf.cast(batch.attentionMask, 'int32'), 1), tf.scalar(1, 'int32')); // [B]
        const rows = tf.add(tf.mul(tf.range(0, size, 1, 'int32'), tf.scalar(seq, 'int32')), last);
        const x = tf.stack(
          states.map((s) => tf.gather(s.reshape([size * seq, width]), rows)),
          1,
        ) as tf.Tensor3D; // [B, L+1, D]
        const norms = tf.norm(x, 'euclidean', -1, true) as tf.Tensor3D; // [B, L+1, 1]
        const cos = tf.div(
          tf.matMul(x, x, false, true),
          tf.maximum(tf.matMul(norms, norms, false, true), 1e-8),
        ); // [B, L+1, L+1]
        const angle = tf.div(tf.acos(tf.clipByValue(cos, -1, 1)), Math.PI);
        // [2 (L+1)²] means, then [L+1] counts of values that are not finite
        return tf.concat([
          tf.mean(cos, 0).flatten(),
          tf.mean(angle, 0).flatten(),
          nonFiniteCounts(states, batch.attentionMask),
        ]);
      });
      const values = await sums.data();
      sums.dispose();
      const means = 2 * depths * depths;
      throwIfNotFinite('layer similarity', values.subarray(means), (depth) =>
        stateName(model.info.keptLayers, depth),
      );
      return Array.from(values.subarray(0, means));
    },
    (batch) => batch.size,
  );
  const square = (offset: number, diagonal: number) =>
    Array.from({ length: depths }, (_, i) =>
      Array.from({ length: depths }, (_, j) => (i === j ? diagonal : both[offset + i * depths + j]!)),
    );
  return { cosine: square(0, 1), angular: square(depths * depths, 0) };
}
