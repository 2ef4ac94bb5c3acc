/**
 * x·W + b as one differentiable op that keeps only x and W for its gradient.
 *
 * Written as `tf.add(tf.matMul(x, W), b)`, tfjs's gradient of the add saves both of its inputs
 * (for their shapes), so the product before the bias stays in memory until backward reaches it:
 * for GPT2-XL at 16 × 128 tokens 118 MB per layer (c_attn's, c_fc's and both c_proj's). Here the
 * product is freed after the forward pass.
 *
 * On webgpu the forward is tfjs's fused matmul (the bias added in the matmul's epilogue: one
 * program, not two) except where the product runs on the tensor cores (mixed precision), and
 * the bias gradient is a column sum (../fused/column-sum.ts; tfjs's sum over rows transposes
 * first). The tfjs kernel is the matmul and the add, and its gradients are the ones tfjs computes
 * for them, the same ops in the same order:
 *
 *   dx = dy·Wᵀ (dy·W when W is stored transposed)   dW = xᵀ·dy (dyᵀ·x)   db = Σ_rows dy
 *
 * The plain kernel is the matmul and the add, differentiated by tfjs.
 *
 * x: [N, in], W: [in, out] (or [out, in] with `transposeWeight`), b: [out] → [N, out].
 */
import * as tf from '@tensorflow/tfjs';
import { columnSum } from '../fused/column-sum.js';
import { tensorCoresTake } from '../tensor-core-matmul.js';
import { defineOp } from './registry.js';

export const matMulBias: (
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D,
  transposeWeight: boolean,
) => tf.Tensor2D = defineOp('matMulBias', {
  webgpu: (x, weight, bias, transposeWeight) =>
    keepingInputs(x, weight, bias, transposeWeight, {
      forward: (input, w, b) =>
        tensorCoresTake(input, w, false, transposeWeight)
          ? addBias(input, w, b, transposeWeight)
          : (tf.fused.matMul({ a: input, b: w, transposeB: transposeWeight, bias: b }) as tf.Tensor2D),
      biasGrad: (dy) => columnSum(dy),
    }),
  tfjs: (x, weight, bias, transposeWeight) =>
    keepingInputs(x, weight, bias, transposeWeight, {
      forward: (input, w, b) => addBias(input, w, b, transposeWeight),
      biasGrad: (dy) => tf.sum(dy, 0),
    }),
  plain: (x, weight, bias, transposeWeight) => addBias(x, weight, bias, transposeWeight),
});

function addBias(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D,
  transposeWeight: boolean,
): tf.Tensor2D {
  return tf.add(tf.matMul(x, weight, false, transposeWeight), bias);
}

/** x·W + b by `forward`, with a gradient from the saved x and W and the bias gradient by `biasGrad`. */
function keepingInputs(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D,
  transposeWeight: boolean,
  kernel: {
    forward: (x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;
    biasGrad: (dy: tf.Tensor2D) => tf.Tensor;
  },
): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, w, b] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    save([input, w]);
    return {
      value: kernel.forward(input, w, b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const grad = dy as tf.Tensor2D;
        const [savedInput, savedWeight] = saved as [tf.Tensor2D, tf.Tensor2D];
        const biasGrad = kernel.biasGrad(grad);
        return transposeWeight
          ? [tf.matMul(grad, savedWeight), tf.matMul(grad, savedInput, true, false), biasGrad]
          : [tf.matMul(grad, savedWeight, false, true), tf.matMul(savedInput, grad, true, false), biasGrad];
      },
    };
  });
  return op(x, weight, bias) as tf.Tensor2D;
}
