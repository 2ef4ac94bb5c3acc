/**
 * From encoded examples to padded tensors. Decoders read right-padded batches (positions then
 * equal 0..n−1 on real tokens, as in Hugging Face), the answer position of each example is
 * kept, and examples of similar length are batched together (length bucketing) when asked.
 */
import * as tf from '@tensorflow/tfjs';
import { randomStream, shuffled } from '../data/random.js';

/** One example ready for the model. */
export interface EncodedExample {
  ids: number[];
  /** Index whose output is scored: the answer slot, or the last token for `cls`. */
  scorePosition: number;
  label: number;
}

export interface Batch {
  /** [B, T] int32 */
  inputIds: tf.Tensor2D;
  /** [B, T] int32, 1 on real tokens */
  attentionMask: tf.Tensor2D;
  /** [B] int32 */
  scorePositions: tf.Tensor1D;
  /** [B] int32 */
  labels: tf.Tensor1D;
  /** Real (unpadded) tokens in the batch. */
  tokens: number;
  size: number;
  /** The examples, in row order (multi-token scoring builds its candidate rows from them). */
  examples: readonly EncodedExample[];
}

export function disposeBatch(batch: Batch): void {
  tf.dispose([batch.inputIds, batch.attentionMask, batch.scorePositions, batch.labels]);
}

/** Pads examples on the right with `padId` to the longest one: [B, T]. */
export function makeBatch(examples: readonly EncodedExample[], padId: number): Batch {
  const seq = Math.max(...examples.map((e) => e.ids.length));
  const ids = new Int32Array(examples.length * seq).fill(padId);
  const mask = new Int32Array(examples.length * seq);
  let tokens = 0;
  examples.forEach((example, row) => {
    ids.set(example.ids, row * seq);
    mask.fill(1, row * seq, row * seq + example.ids.length);
    tokens += example.ids.length;
  });
  return {
    inputIds: tf.tensor2d(ids, [examples.length, seq], 'int32'),
    attentionMask: tf.tensor2d(mask, [examples.length, seq], 'int32'),
    scorePositions: tf.tensor1d(
      examples.map((e) => e.scorePosition),
      'int32',
    ),
    labels: tf.tensor1d(
      examples.map((e) => e.label),
      'int32',
    ),
    tokens,
    size: examples.length,
    examples,
  };
}

/**
 * Splits example indices into batches of `batchSize`. With `shuffleSeed`, the order is a seeded
 * shuffle (a new one per epoch through `epoch`); with `bucket`, examples are first sorted by
 * length within windows of 50 batches so that batches pad little.
 */
export function batchOrder(
  examples: readonly EncodedExample[],
  batchSize: number,
  options: { shuffleSeed?: number; epoch?: number; bucket?: boolean } = {},
): number[][] {
  let order = examples.map((_, i) => i);
  if (options.shuffleSeed !== undefined) {
    order = shuffled(order, randomStream(options.shuffleSeed, `epoch ${options.epoch ?? 0}`));
  }
  if (options.bucket) {
    const window = batchSize * 50;
    const sorted: number[] = [];
    for (let start = 0; start < order.length; start += window) {
      const chunk = order.slice(start, start + window);
      chunk.sort((a, b) => examples[a]!.ids.length - examples[b]!.ids.length);
      sorted.push(...chunk);
    }
    order = sorted;
  }
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize)
    batches.push(order.slice(start, start + batchSize));
  if (options.bucket && options.shuffleSeed !== undefined) {
    return shuffled(batches, randomStream(options.shuffleSeed, `buckets ${options.epoch ?? 0}`));
  }
  return batches;
}
