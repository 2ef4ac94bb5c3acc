/**
 * The attention probabilities P = softmax(S · scale + bias) over the last axis as two WebGPU
 * programs (one forward, one backward) instead of tfjs's multiply, add, softmax and the four ops
 * of its gradient, each a pass over the [B, H, Tq, Tk] scores:
 *
 *   forward   P = exp(v − max v) / Σ exp(v − max v),  v = S · scale + bias    one workgroup per row
 *   backward  dS = scale · P · (dP − Σ dP · P)                              one workgroup per row
 *
 * bias is the additive mask, [B, 1, Tq, Tk] (causal) or [B, 1, 1, Tk] (padding), a batch of 1
 * broadcasting; it gets no gradient. The same maths as `attention` in src/runtime/ops/attention.ts (the
 * CPU reference); bench/matmul.ts compares the two on the GPU.
 */
import * as tf from '@tensorflow/tfjs';
import { RowProgram, rowWorkgroup, runProgram } from './program.js';

/** Max and sum reductions over the workgroup. */
const prelude = `
var<workgroup> partial : array<f32, ${rowWorkgroup}>;

fn reduceMax() {
  for (var stride = ${rowWorkgroup / 2}u; stride > 0u; stride = stride >> 1u) {
    workgroupBarrier();
    if (localIndex < stride) {
      partial[localIndex] = max(partial[localIndex], partial[localIndex + stride]);
    }
  }
  workgroupBarrier();
}

fn reduceSum() {
  for (var stride = ${rowWorkgroup / 2}u; stride > 0u; stride = stride >> 1u) {
    workgroupBarrier();
    if (localIndex < stride) {
      partial[localIndex] = partial[localIndex] + partial[localIndex + stride];
    }
  }
  workgroupBarrier();
}
`;

/**
 * A program with one workgroup per row (b, h, q) of its [B, H, Tq, Tk] first input `names[0]` (the
 * output's shape), with the reductions above and the `scale` uniform. `body` follows the start of main,
 * which sets the row's offset `base` and its width (Tk, 0 past the last row).
 */
const perRow = (shape: number[], names: string[], shaderKey: string, body: string) => {
  const input = `uniforms.${names[0]}Shape`;
  return new RowProgram(
    shape,
    shape[0]! * shape[1]! * shape[2]!,
    names,
    shaderKey,
    `${prelude}
fn main() {
  let row = rowIndex();
  let Tk = ${input}.w;
  let rows = ${input}.x * ${input}.y * ${input}.z;
  let width = select(0, Tk, row < rows);
  let base = row * Tk;
${body}
}`,
    'scale : f32,',
  );
};

/** P [B, H, Tq, Tk] from scores s and bias, one workgroup per row (b, h, q). */
const forward = (shape: number[]) =>
  perRow(
    shape,
    ['s', 'bias'],
    'layercutMaskedSoftmax',
    `  let H = uniforms.sShape.y;
  let Tq = uniforms.sShape.z;
  let b = select(row / (H * Tq), 0, uniforms.biasShape.x == 1);
  let q = row % Tq;
  let biasBase = select((b * Tq + q) * Tk, b * Tk, uniforms.biasShape.z == 1);
  var largest = -3.0e38;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    largest = max(largest, s[base + i] * uniforms.scale + bias[biasBase + i]);
  }
  partial[localIndex] = largest;
  reduceMax();
  let rowMax = partial[0];
  workgroupBarrier();
  var total = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    total = total + exp(s[base + i] * uniforms.scale + bias[biasBase + i] - rowMax);
  }
  partial[localIndex] = total;
  reduceSum();
  let inverse = 1.0 / partial[0];
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    result[base + i] = exp(s[base + i] * uniforms.scale + bias[biasBase + i] - rowMax) * inverse;
  }`,
  );

/** dS [B, H, Tq, Tk] = scale · P · (dP − Σ dP · P), one workgroup per row. */
const backward = (shape: number[]) =>
  perRow(
    shape,
    ['dp', 'p'],
    'layercutMaskedSoftmaxGrad',
    `  var dot = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    dot = dot + dp[base + i] * p[base + i];
  }
  partial[localIndex] = dot;
  reduceSum();
  let rowDot = partial[0];
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    result[base + i] = uniforms.scale * p[base + i] * (dp[base + i] - rowDot);
  }`,
  );

/** softmax(scores · scale + bias) over the last axis on the webgpu backend; gradient for scores. */
export function fusedMaskedSoftmax(scores: tf.Tensor4D, bias: tf.Tensor4D, scale: number): tf.Tensor4D {
  const uniforms = [{ type: 'float32' as const, data: [scale] }];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const probs = runProgram(forward(input.shape), [input, bias], uniforms);
    save([probs]);
    return {
      value: probs,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runProgram(backward(input.shape), [dy as tf.Tensor, saved[0]!], uniforms),
    };
  });
  return op(scores) as tf.Tensor4D;
}
