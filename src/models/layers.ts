/**
 * The model families' own building blocks: linear maps in both checkpoint layouts (with the LoRA
 * and observer hooks of projection-hooks.ts) and activation functions by their config.json names.
 * The ops they are made of (LayerNorm, GELU, attention, masks, x·W + b, …) are backend-blind,
 * defined in src/runtime/ops/ with their kernels per backend.
 *
 * Shapes: B batch, T tokens, D model width, H heads, Dh head width, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { geluErf, geluTanh, silu } from '../runtime/ops/activations.js';
import { matMulBias } from '../runtime/ops/linear.js';
import { projectionHooks } from './projection-hooks.js';

/**
 * `x @ W + b` for a weight stored as [in, out] (GPT-2's Conv1D layout).
 * x: [..., in] → [..., out].
 */
export function linearInOut(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return project(x, weight, false, bias);
}

/**
 * `x @ Wᵀ + b` for a weight stored as [out, in] (PyTorch `nn.Linear`, used by OPT, Llama, BERT).
 * x: [..., in] → [..., out].
 */
export function linearOutIn(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return project(x, weight, true, bias);
}

function project(x: tf.Tensor, weight: tf.Tensor, transposeWeight: boolean, bias?: tf.Tensor): tf.Tensor {
  const inFeatures = x.shape[x.rank - 1]!;
  const outFeatures = weight.shape[transposeWeight ? 0 : 1]!;
  // in a tidy of its own: what the hooks add in between (x·W + b before an adapter's update) is
  // freed here, not at the end of the caller's scope (a training step's whole forward pass)
  return tf.tidy(() => {
    const rows = x.reshape([-1, inFeatures]) as tf.Tensor2D; // [N, in]
    // x W + b as one op (src/runtime/ops/linear.ts: it keeps only x and W for backward)
    const product =
      bias !== undefined
        ? matMulBias(rows, weight as tf.Tensor2D, bias as tf.Tensor1D, transposeWeight)
        : (tf.matMul(rows, weight as tf.Tensor2D, false, transposeWeight) as tf.Tensor2D); // [N, out]
    // a LoRA adapter's update or an observer where one is attached (projection-hooks.ts)
    const y = projectionHooks(weight, rows, product);
    return y.reshape([...x.shape.slice(0, -1), outFeatures]);
  });
}

/** The activation functions layercut computes, by their config.json names (families check configs against it). */
export const ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu', 'silu', 'swish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The activation function `name` (config.json's `activation_function` / `hidden_act`). */
export function activation(name: Activation): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return geluTanh;
    case 'gelu':
      return geluErf;
    case 'relu':
      return (x) => tf.relu(x);
    case 'silu':
    case 'swish':
      return silu;
    default:
      throw new LayercutError(
        `unsupported activation function '${name}' in config.json`,
        `layercut knows ${ACTIVATIONS.join(', ')}`,
      );
  }
}
