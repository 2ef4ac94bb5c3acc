/**
 * Attention biases and token positions from an attention mask [B, T] (1 for real tokens).
 * On webgpu the causal bias and the positions are one program each (src/runtime/fused/masks.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { deviceConstant, deviceScalar } from '../constants.js';
import { fusedCausalBias, fusedPositions } from '../fused/masks.js';
import { defineOp } from './registry.js';

/** A large negative bias that masks a logit out without producing NaN or -inf arithmetic. */
const MASKED = -1e9;

/**
 * Additive attention bias for causal self-attention over a padded batch. With `window` (sliding-
 * window attention, as Mistral's), a query also sees only the `window` latest keys, itself
 * included: key k is allowed for query q when q − window < k ≤ q (Hugging Face's rule).
 * attentionMask: [B, T] with 1 for real tokens → bias [B, 1, T, T] (0 where allowed, −1e9 elsewhere).
 */
export const causalMaskBias: (attentionMask: tf.Tensor2D, window?: number) => tf.Tensor4D = defineOp(
  'causalMaskBias',
  {
    // the program knows no sliding window
    webgpu: (attentionMask, window) =>
      (window === undefined || window >= attentionMask.shape[1]) && attentionMask.dtype === 'int32'
        ? fusedCausalBias(attentionMask, MASKED)
        : undefined,
    tfjs: (attentionMask, window) =>
      causalBias(attentionMask, window, (seq, band) =>
        deviceConstant(`causal:${seq}:${band}`, () => lowerBand(seq, band)),
      ),
    plain: (attentionMask, window) =>
      causalBias(attentionMask, window, (seq, band) => tf.linalg.bandPart(tf.ones([seq, seq]), band, 0)),
  },
);

/** The causal bias with `lowerTriangle(T, below)` as the [T, T] matrix of allowed (query, key) pairs. */
function causalBias(
  attentionMask: tf.Tensor2D,
  window: number | undefined,
  lowerTriangle: (seq: number, below: number) => tf.Tensor,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, seq] = attentionMask.shape;
    const band = window === undefined || window >= seq ? -1 : window - 1; // keys below the diagonal
    const causal = lowerTriangle(seq, band); // [T, T]
    const keys = tf.cast(attentionMask, 'float32').reshape([batch, 1, 1, seq]); // [B,1,1,T]
    const allowed = tf.mul(causal.reshape([1, 1, seq, seq]), keys); // [B,1,T,T]
    return maskedWhereZero(allowed);
  });
}

/**
 * [T, T] float32 with 1 where key ≤ query and query − key ≤ `below` (any distance when `below` is
 * −1), 0 elsewhere.
 */
function lowerBand(seq: number, below: number): tf.Tensor2D {
  return tf.tidy(() => {
    // index tensors only, no JS-number operands: each of those would be an upload (a host tensor)
    const query = tf.range(0, seq, 1, 'int32').reshape([seq, 1]); // [T, 1]
    const key = tf.range(0, seq, 1, 'int32').reshape([1, seq]); // [1, T]
    const causal = tf.greaterEqual(query, key); // key ≤ query
    // query − key ≤ below  ⇔  query ≤ key + below
    const allowed =
      below < 0
        ? causal
        : tf.logicalAnd(
            causal,
            tf.lessEqual(query, tf.range(below, seq + below, 1, 'int32').reshape([1, seq])),
          );
    return tf.cast(allowed, 'float32') as tf.Tensor2D;
  });
}

/** (1 − allowed) · (−1e9): 0 where `allowed` is 1, −1e9 where it is 0. */
function maskedWhereZero(allowed: tf.Tensor): tf.Tensor4D {
  return tf.mul(tf.sub(deviceScalar(1), allowed), deviceScalar(MASKED)) as tf.Tensor4D;
}

/**
 * Additive attention bias for bidirectional (encoder) attention: only padding keys are masked.
 * attentionMask: [B, T] → bias [B, 1, 1, T].
 */
export function paddingMaskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, seq] = attentionMask.shape;
    return maskedWhereZero(tf.cast(attentionMask, 'float32').reshape([batch, 1, 1, seq]));
  });
}

/**
 * Position of each token among the real tokens of its row: cumsum(mask) − 1, 0 at padding.
 * For right-padded batches this equals 0..T−1 on real tokens (what GPT-2 uses); for OPT it is
 * exactly Hugging Face's rule (its learned positions add `offset` = 2).
 * attentionMask: [B, T] int32 → [B, T] int32.
 */
export const positionsFromMask: (attentionMask: tf.Tensor2D, offset?: number) => tf.Tensor2D = defineOp(
  'positionsFromMask',
  {
    webgpu: (attentionMask, offset = 0) =>
      attentionMask.dtype === 'int32' ? fusedPositions(attentionMask, offset) : undefined,
    tfjs: (attentionMask, offset = 0) =>
      tf.tidy(() => {
        const mask = tf.cast(attentionMask, 'int32');
        const positions = tf.mul(tf.sub(tf.cumsum(mask, 1), deviceScalar(1, 'int32')), mask);
        return (offset ? tf.add(positions, deviceScalar(offset, 'int32')) : positions) as tf.Tensor2D;
      }),
  },
);
