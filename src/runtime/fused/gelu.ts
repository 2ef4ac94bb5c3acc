/**
 * The tanh GELU (GPT-2's `gelu_new`) as two WebGPU programs instead of about sixteen tfjs ops:
 *
 *   y  = ½ · x · (1 + t),  t = tanh(u),  u = √(2/π) · (x + 0.044715 · x³)
 *   dx = dy · ½ · ((1 + t) + x · (1 − t²) · √(2/π) · (1 + 3 · 0.044715 · x²))
 *
 * The same maths as `geluTanh` in src/runtime/ops/activations.ts (its tfjs kernel); bench/matmul.ts
 * compares the two on the GPU. u is clamped to ±15 before tanh (tanh is ±1 to f32 there), as
 * tfjs's own tanh does, so large inputs cannot overflow inside tanh.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram, runProgram } from './program.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

const tanhOfU = `
fn geluT(v : f32) -> f32 {
  let u = clamp(${SQRT_2_OVER_PI} * (v + ${GELU_CUBIC} * v * v * v), -15.0, 15.0);
  return tanh(u);
}`;

/** backward: inputs (dy, x) → dx; forward: input x → y. */
function geluProgram(shape: number[], backward: boolean): ElementwiseProgram {
  const value = backward
    ? `dy[index] * 0.5 * ((1.0 + t) + v * (1.0 - t * t) * (${SQRT_2_OVER_PI} + ${3 * GELU_CUBIC * SQRT_2_OVER_PI} * v * v))`
    : `0.5 * v * (1.0 + t)`;
  return new ElementwiseProgram(
    shape,
    backward ? ['dy', 'x'] : ['x'],
    backward ? 'layercutGeluTanhGrad' : 'layercutGeluTanh',
    `    let v = x[index];
    let t = geluT(v);
    setOutputAtIndex(index, ${value});`,
    tanhOfU,
  );
}

/** The tanh GELU of x on the webgpu backend, with its gradient. */
export function fusedGeluTanh(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([input]);
    return {
      value: runProgram(geluProgram(input.shape, false), [input]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runProgram(geluProgram(input.shape, true), [dy as tf.Tensor, saved[0]!]),
    };
  });
  return op(x);
}
