/**
 * x·W + b as one differentiable op that keeps only x and W for its gradient (`matMulBias`), and a
 * LoRA adapter's update added to it the same way (`addLowRank`, below).
 *
 * Written as `tf.add(tf.matMul(x, W), b)`, tfjs's gradient of the add saves both of its inputs
 * (for their shapes), so the product before the bias stays in memory until backward reaches it:
 * for GPT2-XL at 16 × 128 tokens 118 MB per layer (c_attn's, c_fc's and both c_proj's). Here the
 * product is freed after the forward pass.
 *
 * On webgpu the forward is tf.fused.matMul: tfjs's kernel adds the bias in the matmul's epilogue
 * (one program, not two); on the tensor cores (mixed precision, ../tensor-core-matmul.ts) a split
 * product adds it as it sums the chunks, an unsplit one in an add after it. The bias gradient is
 * a column sum (../fused/column-sum.ts; tfjs's sum over rows transposes
 * first). The tfjs kernel is the matmul and the add, and its gradients are the ones tfjs computes
 * for them, the same ops in the same order:
 *
 *   dx = dy·Wᵀ (dy·W when W is stored transposed)   dW = xᵀ·dy (dyᵀ·x)   db = Σ_rows dy
 *
 * each computed only where backward asks for it (./custom-op.ts: a frozen weight gets no dW).
 * The plain kernel is the matmul and the add, differentiated by tfjs.
 *
 * x: [N, in], W: [in, out] (or [out, in] with `transposeWeight`), b: [out] → [N, out].
 */
import * as tf from '@tensorflow/tfjs';
import { columnSum } from '../fused/column-sum.js';
import { customOp } from './custom-op.js';
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
        tf.fused.matMul({ a: input, b: w, transposeB: transposeWeight, bias: b }) as tf.Tensor2D,
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

/**
 * x·W + b by `forward`, with a gradient from the saved x and W and the bias gradient by
 * `biasGrad`; each input's gradient is computed only where backward asks for it (a frozen
 * weight's never: ./custom-op.ts).
 */
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
  return customOp(
    [x, weight, bias],
    (save) => {
      save([x, weight]);
      return kernel.forward(x, weight, bias);
    },
    (dy, saved) => {
      const grad = dy as tf.Tensor2D;
      const [savedInput, savedWeight] = saved as [tf.Tensor2D, tf.Tensor2D];
      return transposeWeight
        ? [
            () => tf.matMul(grad, savedWeight),
            () => tf.matMul(grad, savedInput, true, false),
            () => kernel.biasGrad(grad),
          ]
        : [
            () => tf.matMul(grad, savedWeight, false, true),
            () => tf.matMul(savedInput, grad, true, false),
            () => kernel.biasGrad(grad),
          ];
    },
  );
}

/**
 * product + s · low·Bᵀ as one op that keeps only low and B for its gradient: a LoRA adapter's
 * update (low = x·Aᵀ, s = alpha / rank) added to its projection's output x·W + b.
 *
 * Written as tfjs ops, the add keeps both of its inputs (for their shapes) and the scaling's mul
 * the unscaled update: two or three [N, out] tensors per projection until backward reaches them,
 * as many bytes as the forward activations of full fine-tuning (GPT2-XL at 16 × 128: 236 MB a
 * layer). The gradients are the ones tfjs computes for those ops, the same ops in the same order:
 *
 *   d product = dy   d low = (s·dy)·B   dB = (s·dy)ᵀ·low   (s·dy = dy without a scaling)
 *
 * The plain kernel is the matmul, the mul and the add, differentiated by tfjs.
 *
 * product: [N, out], low: [N, r], b: [out, r], scaling: s (undefined for 1) → [N, out].
 */
export const addLowRank: (
  product: tf.Tensor2D,
  low: tf.Tensor2D,
  b: tf.Tensor2D,
  scaling: tf.Scalar | undefined,
) => tf.Tensor2D = defineOp('addLowRank', {
  tfjs: (product, low, b, scaling) =>
    customOp(
      [product, low, b],
      (save) => {
        save(scaling ? [low, b, scaling] : [low, b]); // a scaling made in the forward's scope is freed with it
        return lowRankSum(product, low, b, scaling);
      },
      (dy, saved) => {
        const [savedLow, savedB, savedScaling] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Scalar?];
        const scaled = () => (savedScaling ? tf.mul(dy, savedScaling) : dy);
        return [
          () => tf.reshape(dy, product.shape),
          () => tf.matMul(scaled(), savedB),
          () => tf.matMul(scaled(), savedLow, true, false),
        ];
      },
    ),
  plain: (product, low, b, scaling) => lowRankSum(product, low, b, scaling),
});

function lowRankSum(
  product: tf.Tensor2D,
  low: tf.Tensor2D,
  b: tf.Tensor2D,
  scaling: tf.Scalar | undefined,
): tf.Tensor2D {
  const update = tf.matMul(low, b, false, true); // [N, out]
  return tf.add(product, scaling ? tf.mul(update, scaling) : update);
}
