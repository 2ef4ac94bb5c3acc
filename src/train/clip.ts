/**
 * Gradient clipping by global norm (as torch.nn.utils.clip_grad_norm_), computed on the
 * device: the norm and the scale factor stay tensors, nothing is read back, so a training
 * step never waits for the GPU here. Callers read the norm later (or never).
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../runtime/constants.js';

/**
 * Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm of all gradients
 * together. Returns the clipped gradients (new tensors) and the norm before clipping (a
 * scalar on the device; the caller disposes both). `gradScale`: the gradients are this multiple
 * of the true ones (loss scaling); the threshold and the 1e-6 scale with them, so the factor is
 * the one the true gradients would get.
 */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
  gradScale = 1,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    const factor = clipFactor(norm, maxNorm * gradScale, 1e-6 * gradScale);
    const clipped: tf.NamedTensorMap = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, factor);
    return { grads: clipped, norm };
  });
}

/** min(1, maxNorm / (norm + epsilon)) as a device scalar. */
export function clipFactor(norm: tf.Scalar, maxNorm: number, epsilon = 1e-6): tf.Scalar {
  return tf.tidy(() =>
    tf.minimum(deviceScalar(1), tf.div(deviceScalar(maxNorm), tf.add(norm, deviceScalar(epsilon)))),
  );
}

/** √(Σ g²) over all gradients: a scalar on the device. */
export function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => tf.sqrt(sumAll(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Sum of many scalars, seven at a time: one tfjs-webgpu AddN program binds every input as a
 * storage buffer, and a device allows 8 per shader by default (7 inputs + the output).
 */
function sumAll(scalars: tf.Tensor[]): tf.Tensor {
  const ADD_N_MAX_INPUTS = 7;
  let level = scalars;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += ADD_N_MAX_INPUTS) {
      const chunk = level.slice(i, i + ADD_N_MAX_INPUTS);
      next.push(chunk.length === 1 ? chunk[0]! : tf.addN(chunk));
    }
    level = next;
  }
  return level[0] ?? tf.scalar(0);
}
