/**
 * Mean cross-entropy of class scores [B, C] (prompt-based fine-tuning: the label words' scores at
 * the answer slot) against labels [B]. On webgpu one program each way
 * (src/runtime/fused/cross-entropy.ts); the tfjs kernel is its reference.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedCrossEntropy } from '../fused/cross-entropy.js';
import { defineOp } from './registry.js';

export const crossEntropy: (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar = defineOp(
  'crossEntropy',
  {
    webgpu: (logits, labels) =>
      logits.dtype === 'float32'
        ? tf.tidy(() => fusedCrossEntropy(logits, tf.cast(labels, 'int32')))
        : undefined,
    tfjs: (logits, labels) =>
      tf.tidy(() => {
        const classes = logits.shape[1];
        const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
        return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
      }),
  },
);
