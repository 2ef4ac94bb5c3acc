/**
 * The low-rank update a LoRA adapter adds to one projection: y = base(x) + s · B(A(dropout(x))),
 * s = alpha / rank, as PEFT's `lora.Linear` computes it. `linearInOut` / `linearOutIn`
 * (layers.ts) add it wherever an adapter is attached to the weight they multiply by, so every
 * family's projections take adapters without family code. src/models/lora.ts attaches,
 * merges, saves and loads adapters.
 *
 * The map is weak (keyed by the frozen weight variable): a disposed model's entries go with it.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../runtime/constants.js';

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

/**
 * The adapter's update for the input rows of a projection whose weight is `weight`, or undefined
 * when it has none. rows: [N, in] → [N, out].
 */
export function loraUpdate(weight: tf.Tensor, rows: tf.Tensor2D): tf.Tensor2D | undefined {
  const pair = attached.get(weight);
  if (!pair) return undefined;
  const input =
    pair.dropout > 0 && recordingGradients() ? tf.dropout(rows, pair.dropout, undefined, pair.nextSeed()) : rows;
  const low = tf.matMul(input, pair.a, false, true); // [N, r]
  const update = tf.matMul(low, pair.b, false, true); // [N, out]
  return (pair.scaling === 1 ? update : tf.mul(update, deviceScalar(pair.scaling))) as tf.Tensor2D;
}
