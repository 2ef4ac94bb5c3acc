/**
 * An op with its own gradient, one gradient function per input, run only for the inputs the
 * backward pass differentiates.
 *
 * tfjs's `tf.customGrad` computes the gradient of every input at once, also of an input no
 * variable's gradient needs: with LoRA every projection's frozen weight W gets dW = xᵀ·dy (as many
 * FLOPs as the forward product) and the bias and LayerNorm gains theirs, computed and left for the
 * backward pass to free. tfjs's tape already calls one function per input, and only for the inputs
 * on a path from the differentiated variables (its own gradients and src/runtime/gradients.ts
 * alike): here each input's gradient is such a function.
 *
 * `forward` computes the op's value from `inputs` and saves, with `save`, the tensors the
 * gradients read (as `tf.customGrad`'s save); `gradients(dy, saved)` gives one function per input,
 * in the order of `inputs`, each returning dL/d(input) of the input's shape. An op of several
 * outputs returns them as an array and gets their gradients as one, in the same order (tfjs
 * fills the gradient of an output nothing used with zeros made on the host).
 */
import * as tf from '@tensorflow/tfjs';

/** The part of tfjs's Engine this uses (`tf.customGrad` runs through it). */
interface EngineInternals {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[];
    backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor | tf.Tensor[];
}

export function customOp<T extends tf.Tensor | tf.Tensor[]>(
  inputs: tf.Tensor[],
  forward: (save: (tensors: tf.Tensor[]) => void) => T,
  gradients: (dy: T, saved: tf.Tensor[]) => (() => tf.Tensor)[],
): T {
  const engine = tf.engine() as unknown as EngineInternals;
  return engine.runKernelFunc({
    forwardFunc: (_backend, save) => forward(save),
    backwardsFunc: (dy, saved) => {
      const perInput = gradients(dy as T, saved);
      if (perInput.length !== inputs.length)
        throw new Error(`internal: ${perInput.length} gradient functions for ${inputs.length} inputs`);
      return Object.fromEntries(perInput.map((gradient, i) => [String(i), gradient]));
    },
    inputs: Object.fromEntries(inputs.map((input, i) => [String(i), input])),
  }) as T;
}
