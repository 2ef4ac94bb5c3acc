/**
 * The mean cross-entropy of class scores against labels as two WebGPU programs, one each way.
 * Written with tfjs ops (`crossEntropy` in src/runtime/ops/cross-entropy.ts, the reference) it is a
 * one-hot, a log-softmax (max, subtract, exp, sum, log, subtract), a product, two sums and a
 * negation, and about twice as many programs backward: nineteen dispatches on scores of a few
 * label words, every step, whatever the depth.
 *
 *   forward   loss = mean_b (log Σ_c exp(s[b, c] − m_b) − (s[b, y_b] − m_b)),  m_b = max_c s[b, c]
 *             one workgroup; each invocation takes rows, then a tree sum
 *   backward  ds[b, c] = (softmax(s[b])[c] − [c = y_b]) · dy / B     elementwise
 *
 * A label outside [0, C) contributes nothing, as with tfjs's one-hot. scores [B, C] float32,
 * labels [B] int32.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram, RowProgram, rowWorkgroup, runProgram } from './program.js';

/** WGSL: m (the row's max) and total (Σ exp(s − m)) of row `b` of `scores` [B, C]. */
const rowStatistics = (b: string) => `
    var m = scores[${b} * C];
    for (var c = 1; c < C; c = c + 1) {
      m = max(m, scores[${b} * C + c]);
    }
    var total = 0.0;
    for (var c = 0; c < C; c = c + 1) {
      total = total + exp(scores[${b} * C + c] - m);
    }`;

const forward = () =>
  new RowProgram(
    [1],
    1,
    ['scores', 'labels'],
    'layercutCrossEntropy',
    `
var<workgroup> partial : array<f32, ${rowWorkgroup}>;

fn main() {
  let B = uniforms.scoresShape.x;
  let C = uniforms.scoresShape.y;
  var sum = 0.0;
  for (var b = i32(localIndex); b < B; b = b + ${rowWorkgroup}) {
    let y = labels[b];
    if (y >= 0 && y < C) {${rowStatistics('b')}
      sum = sum + (log(total) - (scores[b * C + y] - m));
    }
  }
  partial[localIndex] = sum;
  for (var stride = ${rowWorkgroup / 2}u; stride > 0u; stride = stride >> 1u) {
    workgroupBarrier();
    if (localIndex < stride) {
      partial[localIndex] = partial[localIndex] + partial[localIndex + stride];
    }
  }
  if (localIndex == 0u) {
    result[0] = partial[0] / f32(B);
  }
}`,
  );

const backward = (shape: [number, number]) =>
  new ElementwiseProgram(
    shape,
    ['scores', 'labels', 'dy'],
    'layercutCrossEntropyGrad',
    `    let B = uniforms.scoresShape.x;
    let C = uniforms.scoresShape.y;
    let b = index / C;
    let y = labels[b];
    var value = 0.0;
    if (y >= 0 && y < C) {${rowStatistics('b')}
      let p = exp(scores[index] - m) / total;
      value = (p - select(0.0, 1.0, index % C == y)) * dy[0] / f32(B);
    }
    setOutputAtIndex(index, value);`,
  );

/** Mean cross-entropy of scores [B, C] against labels [B] (int32) on the webgpu backend, with its gradient. */
export function fusedCrossEntropy(scores: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  // labels are not differentiated: saved with the scores, not an input of the op
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const s = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    save([s, labels]);
    return {
      value: runProgram(forward(), [s, labels]).reshape([]) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedScores, savedLabels] = saved as [tf.Tensor2D, tf.Tensor1D];
        return runProgram(backward(savedScores.shape), [savedScores, savedLabels, dy as tf.Tensor]);
      },
    };
  });
  return op(scores) as tf.Scalar;
}
