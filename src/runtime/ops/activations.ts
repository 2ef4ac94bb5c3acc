/**
 * Activation functions. The tfjs kernels have analytic gradients whose constants stay on the
 * device; the plain kernels are the formulas in tfjs ops with JS numbers as operands.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../constants.js';
import { fusedGeluTanh } from '../fused/gelu.js';
import { defineOp } from './registry.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/**
 * The tanh GELU (`gelu_new`) y = ½ · x · (1 + t), t = tanh(u), u = √(2/π) · (x + 0.044715 · x³).
 * On webgpu one program forward, one backward (src/runtime/fused/gelu.ts).
 */
export const geluTanh: (x: tf.Tensor) => tf.Tensor = defineOp('geluTanh', {
  webgpu: (x) => fusedGeluTanh(x),
  tfjs: (x) => analyticGeluTanh(x),
  plain: (x) =>
    tf.mul(
      tf.mul(x, 0.5),
      tf.add(1, tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(GELU_CUBIC, tf.pow(x, 3)))))),
    ),
});

/**
 * The tanh GELU with its derivative written out (in the form PyTorch's autograd evaluates, which
 * keeps float32 rounding close to it):
 * dy/dx = ½ · ((1 + t) + x · (1 − t²) · √(2/π) · (1 + 3 · 0.044715 · x²)).
 */
function analyticGeluTanh(x: tf.Tensor): tf.Tensor {
  // Constants are fetched inside each pass: tfjs disposes the forward pass's tensors before
  // the backward one runs, fresh scalars (CPU backends) included.
  const c = () => deviceScalar(SQRT_2_OVER_PI);
  const one = () => deviceScalar(1);
  const half = () => deviceScalar(0.5);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const cube = tf.mul(tf.square(input), input);
    const t = tf.tanh(tf.mul(tf.add(input, tf.mul(cube, deviceScalar(GELU_CUBIC))), c()));
    save([input, t]);
    return {
      value: tf.mul(tf.mul(input, half()), tf.add(t, one())),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedT] = saved as [tf.Tensor, tf.Tensor];
        const dudx = tf.add(tf.mul(tf.square(savedX), deviceScalar(3 * GELU_CUBIC * SQRT_2_OVER_PI)), c());
        const dtdu = tf.sub(one(), tf.square(savedT));
        const slope = tf.add(tf.add(savedT, one()), tf.mul(savedX, tf.mul(dtdu, dudx)));
        return tf.mul(dy as tf.Tensor, tf.mul(slope, half()));
      },
    };
  });
  return op(x);
}

/** The exact GELU x · Φ(x), Φ(x) = (1 + erf(x/√2)) / 2; dy/dx = Φ(x) + x · exp(−x²/2) / √(2π). */
export const geluErf: (x: tf.Tensor) => tf.Tensor = defineOp('geluErf', {
  tfjs: (x) => analyticGeluErf(x),
  plain: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
});

function analyticGeluErf(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const cdf = tf.mul(
      tf.add(tf.erf(tf.mul(input, deviceScalar(Math.SQRT1_2))), deviceScalar(1)),
      deviceScalar(0.5),
    );
    save([input, cdf]);
    return {
      value: tf.mul(input, cdf),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedCdf] = saved as [tf.Tensor, tf.Tensor];
        const pdf = tf.mul(
          tf.exp(tf.mul(tf.square(savedX), deviceScalar(-0.5))),
          deviceScalar(1 / Math.sqrt(2 * Math.PI)),
        );
        return tf.mul(dy as tf.Tensor, tf.add(savedCdf, tf.mul(savedX, pdf)));
      },
    };
  });
  return op(x);
}

/** SiLU x · σ(x); dy/dx = σ + x · (σ − σ²), no constants at all. */
export const silu: (x: tf.Tensor) => tf.Tensor = defineOp('silu', {
  tfjs: (x) => analyticSilu(x),
  plain: (x) => tf.mul(x, tf.sigmoid(x)),
});

function analyticSilu(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const s = tf.sigmoid(input);
    save([input, s]);
    return {
      value: tf.mul(input, s),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedS] = saved as [tf.Tensor, tf.Tensor];
        return tf.mul(dy as tf.Tensor, tf.add(savedS, tf.mul(savedX, tf.sub(savedS, tf.square(savedS)))));
      },
    };
  });
  return op(x);
}
