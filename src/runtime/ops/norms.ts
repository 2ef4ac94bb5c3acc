/**
 * LayerNorm and RMSNorm over the last axis. x: [..., D], gain and bias: [D].
 *
 * The tfjs kernels have analytic gradients that use only reductions and saved tensors: tfjs's own
 * `Mean` gradient fills an array of ones on the host and uploads it at every step (half a GPT-2
 * training step on WebGPU), and `eps` is a device constant. The plain kernels are the `tf.moments`
 * and `tf.mean` formulations, differentiated by tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../constants.js';
import { fusedAddLayerNorm, fusedLayerNorm, fusedLayerNormOfSum } from '../fused/layer-norm.js';
import { defineOp } from './registry.js';

/**
 * (x − mean) / √(var + eps) · gain + bias, var biased (as PyTorch); gain and bias optional.
 * On webgpu, with both: one program forward, one backward (src/runtime/fused/layer-norm.ts).
 */
export const layerNorm: (
  x: tf.Tensor,
  gain: tf.Tensor | undefined,
  bias: tf.Tensor | undefined,
  eps: number,
) => tf.Tensor = defineOp('layerNorm', {
  webgpu: (x, gain, bias, eps) => (gain && bias ? fusedLayerNorm(x, gain, bias, eps) : undefined),
  tfjs: (x, gain, bias, eps) => affine(normalizeLastAxis(x, eps, true), gain, bias),
  plain: (x, gain, bias, eps) => affine(plainNormalize(x, eps), gain, bias),
});

/** The arguments of a norm of a sum: x and residual [..., D], gain and bias [D] (optional), eps. */
type SumNormArgs = [
  x: tf.Tensor,
  residual: tf.Tensor,
  gain: tf.Tensor | undefined,
  bias: tf.Tensor | undefined,
  eps: number,
];

/** Whether the fused add-and-norm programs take these: a gain and a bias, x and residual alike. */
const fusedTakes = (x: tf.Tensor, residual: tf.Tensor, gain?: tf.Tensor, bias?: tf.Tensor) =>
  gain !== undefined && bias !== undefined && tf.util.arraysEqual(x.shape, residual.shape);

/**
 * [s, layerNorm(s, gain, bias, eps)] with s = x + residual: a pre-LN block's residual add and the
 * norm of its result, s being the block's residual stream from there on. Both outputs must be
 * used (the block's last add uses s). On webgpu: one program forward, one backward, which also
 * adds s's gradient from its other uses (src/runtime/fused/layer-norm.ts).
 */
export const addLayerNorm: (...args: SumNormArgs) => [tf.Tensor, tf.Tensor] = defineOp('addLayerNorm', {
  webgpu: (x, residual, gain, bias, eps) =>
    fusedTakes(x, residual, gain, bias) ? fusedAddLayerNorm(x, residual, gain!, bias!, eps) : undefined,
  tfjs: (x, residual, gain, bias, eps) => {
    const sum = tf.add(x, residual);
    return [sum, layerNorm(sum, gain, bias, eps)];
  },
});

/**
 * layerNorm(x + residual, gain, bias, eps) where nothing else uses the sum (the last block's
 * residual stream before the final norm): on webgpu one program each way, as `addLayerNorm`.
 */
export const layerNormOfSum: (...args: SumNormArgs) => tf.Tensor = defineOp('layerNormOfSum', {
  webgpu: (x, residual, gain, bias, eps) =>
    fusedTakes(x, residual, gain, bias) ? fusedLayerNormOfSum(x, residual, gain!, bias!, eps) : undefined,
  tfjs: (x, residual, gain, bias, eps) => layerNorm(tf.add(x, residual), gain, bias, eps),
});

function affine(y: tf.Tensor, gain: tf.Tensor | undefined, bias: tf.Tensor | undefined): tf.Tensor {
  if (gain) y = tf.mul(y, gain);
  if (bias) y = tf.add(y, bias);
  return y;
}

/**
 * x̂ = y / √(mean(y²) + eps) over the last axis, with y = x − mean(x) when `centered` (LayerNorm,
 * var biased as PyTorch's) or y = x (RMSNorm), and its analytic gradient
 *   dx = inv · (dy − mean(dy) − x̂ · mean(dy · x̂)),  inv = 1 / √(mean(y²) + eps)  [..., 1],
 * without the mean(dy) term when not centered. x: [..., D].
 */
function normalizeLastAxis(x: tf.Tensor, eps: number, centered: boolean): tf.Tensor {
  const epsilon = deviceScalar(eps);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const axis = input.rank - 1;
    const y = centered ? tf.sub(input, tf.mean(input, axis, true)) : input;
    const inverse = tf.rsqrt(tf.add(tf.mean(tf.square(y), axis, true), epsilon)); // [..., 1]
    const xhat = tf.mul(y, inverse);
    save([xhat, inverse]);
    return {
      value: xhat,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        dy = dy as tf.Tensor;
        const [savedXhat, savedInverse] = saved as [tf.Tensor, tf.Tensor];
        const dyCentered = centered ? tf.sub(dy, tf.mean(dy, axis, true)) : dy;
        const meanDyXhat = tf.mean(tf.mul(dy, savedXhat), axis, true);
        return tf.mul(savedInverse, tf.sub(dyCentered, tf.mul(savedXhat, meanDyXhat)));
      },
    };
  });
  return op(x);
}

/** The plain formulation: tf.moments, differentiated by tfjs. */
function plainNormalize(x: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, x.rank - 1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
}

/** RMSNorm, as Llama's: x / √(mean(x²) + eps) · gain. x: [..., D], gain: [D]. */
export const rmsNorm: (x: tf.Tensor, gain: tf.Tensor, eps: number) => tf.Tensor = defineOp('rmsNorm', {
  tfjs: (x, gain, eps) => tf.mul(normalizeLastAxis(x, eps, false), gain),
  plain: (x, gain, eps) => {
    const meanSquare = tf.mean(tf.square(x), x.rank - 1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain);
  },
});
