/**
 * Greedy layer search by validation accuracy, zero-shot: start from every layer of a loaded
 * model and repeatedly drop the one layer whose removal costs the least accuracy, until `keep`
 * layers remain. Each candidate cut is scored as the cut model itself scores a prompt — the LM
 * head reads the label words at the answer slot (as the `lm` method does before any training) —
 * through a view of the loaded model (layer-view.ts), so nothing is fine-tuned or reloaded.
 *
 * Ties in accuracy go to the cut with the higher mean log-probability of the true class (a
 * softmax over the label words), then to dropping the higher layer.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import type { LanguageModel } from '../models/types.js';
import type { EncodedExample } from '../train/batching.js';
import { atPositions } from '../train/objectives.js';
import { forEachBatch, type MeasureOptions } from './batches.js';
import { nonFiniteCounts, throwIfNotFinite } from './finite.js';
import { withLayers } from './layer-view.js';

export interface LabelScore {
  accuracy: number;
  /** Mean over examples of log p(true class), the softmax taken over the label words' scores. */
  meanLogProb: number;
  /** Predicted class of each example, in input order. */
  predictions: number[];
}

/** Zero-shot accuracy of `model` on `examples`: the class whose label token scores highest at the slot. */
export async function labelAccuracy(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  labelTokenIds: readonly number[],
  options: MeasureOptions = {},
): Promise<LabelScore> {
  const predictions = new Array<number>(examples.length);
  let correct = 0;
  let logProbSum = 0;
  const tokenIds = tf.tensor1d(Array.from(labelTokenIds), 'int32');
  try {
    await forEachBatch(examples, options, 'the greedy search', async (batch, indices) => {
      // [B] predicted classes, [B] log p(true class), [1] count of label scores that are not finite
      const results = tf.tidy((): [tf.Tensor, tf.Tensor, tf.Tensor] => {
        const { lastHidden } = model.forward(batch.inputIds, batch.attentionMask);
        const scores = model.lmHead(atPositions(lastHidden, batch.scorePositions), tokenIds) as tf.Tensor2D; // [B, C]
        const logProbs = tf.logSoftmax(scores); // [B, C]
        const truth = tf.sum(tf.mul(logProbs, tf.oneHot(batch.labels, labelTokenIds.length)), 1); // [B]
        const everyRow = tf.ones([indices.length, 1], 'int32') as tf.Tensor2D; // the slot is a real token
        return [tf.argMax(scores, 1), truth, nonFiniteCounts([scores], everyRow)];
      });
      const [predicted, trueLogProb, nonFinite] = results;
      const [predictedIds, logProbs, counts] = [
        await predicted.data(),
        await trueLogProb.data(),
        await nonFinite.data(),
      ];
      tf.dispose(results);
      throwIfNotFinite(
        'zero-shot accuracy',
        counts,
        () => `the label scores with layers ${model.info.keptLayers.join(', ')}`,
      );
      indices.forEach((example, row) => {
        predictions[example] = predictedIds[row]!;
        if (predictedIds[row] === examples[example]!.label) correct++;
        logProbSum += logProbs[row]!;
      });
    });
  } finally {
    tokenIds.dispose();
  }
  const n = examples.length;
  return { accuracy: n ? correct / n : 0, meanLogProb: n ? logProbSum / n : 0, predictions };
}

export interface GreedyStep {
  /** The layer dropped at this step (original index); null for the starting point. */
  dropped: number | null;
  /** Layers left after the step, ascending. */
  kept: number[];
  accuracy: number;
  meanLogProb: number;
}

export interface GreedySearchResult {
  /** Layers in the order they were dropped. */
  order: number[];
  /** The starting point (every layer), then one entry per drop: the accuracy path. */
  path: GreedyStep[];
  /** The `keep` layers left at the end. */
  kept: number[];
}

export interface GreedyOptions extends MeasureOptions {
  /** Layers to keep at the end (0 … the model's kept layers). */
  keep: number;
  /** Called after each step. */
  onStep?: (step: GreedyStep) => void;
}

/** Whether `a` is a better cut than `b` (see the file comment for the order). */
function better(a: LabelScore & { dropped: number }, b: LabelScore & { dropped: number }): boolean {
  if (a.accuracy !== b.accuracy) return a.accuracy > b.accuracy;
  if (a.meanLogProb !== b.meanLogProb) return a.meanLogProb > b.meanLogProb;
  return a.dropped > b.dropped;
}

/** Greedy backward elimination of layers by zero-shot accuracy on `examples` (see the file comment). */
export async function greedyLayerSearch(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  labelTokenIds: readonly number[],
  options: GreedyOptions,
): Promise<GreedySearchResult> {
  const all = model.info.keptLayers;
  if (!Number.isInteger(options.keep) || options.keep < 0 || options.keep > all.length) {
    throw new LayercutError(
      `greedy search cannot keep ${options.keep} layers of a model with ${all.length}`,
      `choose keep from 0 to ${all.length}`,
    );
  }
  if (examples.length === 0) throw new LayercutError('greedy search needs validation examples');
  const score = (layers: readonly number[]) =>
    labelAccuracy(withLayers(model, layers), examples, labelTokenIds, options);

  let kept = [...all];
  const start = await score(kept);
  const path: GreedyStep[] = [
    { dropped: null, kept, accuracy: start.accuracy, meanLogProb: start.meanLogProb },
  ];
  options.onStep?.(path[0]!);
  const order: number[] = [];
  while (kept.length > options.keep) {
    let best: (LabelScore & { dropped: number }) | undefined;
    for (const candidate of kept) {
      const trial = { ...(await score(kept.filter((l) => l !== candidate))), dropped: candidate };
      if (!best || better(trial, best)) best = trial;
    }
    kept = kept.filter((l) => l !== best!.dropped);
    order.push(best!.dropped);
    const step = { dropped: best!.dropped, kept, accuracy: best!.accuracy, meanLogProb: best!.meanLogProb };
    path.push(step);
    options.onStep?.(step);
  }
  return { order, path, kept };
}
