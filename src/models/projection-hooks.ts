/**
 * What may hook into one projection y = x W + b, keyed by its weight variable, so that every
 * family's projections take them without family code (`linearInOut` / `linearOutIn` in
 * layers.ts call `projectionHooks`):
 *
 *   a LoRA pair   adds y += s · B(A(dropout(x))), s = alpha / rank, as PEFT's `lora.Linear`
 *                 (src/models/lora.ts attaches, merges, saves and loads adapters)
 *   an observer   sees y (the calibration of a block replacement reads the MLP output this way,
 *                 src/models/replacement.ts)
 *
 * The maps are weak (keyed by the weight variable): a disposed model's entries go with it.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../runtime/constants.js';
import { addLowRank } from '../runtime/ops/linear.js';

export interface LoraPair {
  /** lora_A.weight [r, in]. */
  readonly a: tf.Variable;
  /** lora_B.weight [out, r]. */
  readonly b: tf.Variable;
  /** alpha / rank. */
  readonly scaling: number;
  /** Dropout on the adapter's input while gradients are recorded (training steps); 0 for none. */
  readonly dropout: number;
  /** Seeds the dropout masks: one new seed per use, so runs repeat exactly. */
  nextSeed(): number;
}

const attached = new WeakMap<tf.Tensor, LoraPair>();

export function attachLoraPair(weight: tf.Tensor, pair: LoraPair): void {
  attached.set(weight, pair);
}

export function detachLoraPair(weight: tf.Tensor): void {
  attached.delete(weight);
}

/** True while tfjs records operations for gradients (inside `tf.variableGrads`): a training step. */
function recordingGradients(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

/** Something that sees a projection's output y: [N, out] (inside the caller's tidy: keep what it holds). */
export type ProjectionObserver = (output: tf.Tensor2D) => void;

const observers = new WeakMap<tf.Tensor, ProjectionObserver>();

export function observeProjection(weight: tf.Tensor, observer: ProjectionObserver): void {
  observers.set(weight, observer);
}

export function stopObserving(weight: tf.Tensor): void {
  observers.delete(weight);
}

/**
 * y = x W + b of a projection with its hooks: `product` is x W + b [N, out] of the input rows
 * [N, in]. An attached LoRA pair adds its update; an observer sees the result.
 */
export function projectionHooks(weight: tf.Tensor, rows: tf.Tensor2D, product: tf.Tensor2D): tf.Tensor2D {
  const pair = attached.get(weight);
  const y = pair ? withLoraUpdate(pair, rows, product) : product;
  observers.get(weight)?.(y);
  return y;
}

/** product + s · B(A(dropout(x))) for the input rows x [N, in] of a projection: [N, out]. */
function withLoraUpdate(pair: LoraPair, rows: tf.Tensor2D, product: tf.Tensor2D): tf.Tensor2D {
  const input =
    pair.dropout > 0 && recordingGradients() ? tf.dropout(rows, pair.dropout, undefined, pair.nextSeed()) : rows;
  const low = tf.matMul(input, pair.a, false, true) as tf.Tensor2D; // [N, r]
  // one op, which keeps only low and B for backward (not the [N, out] product and update)
  return addLowRank(product, low, pair.b as tf.Tensor2D, pair.scaling === 1 ? undefined : deviceScalar(pair.scaling));
}
