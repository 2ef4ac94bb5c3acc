/**
 * LayerNorm as WebGPU programs: y = (x − mean) · invStd · gain + bias over the last axis, and
 * its gradient. Written with tfjs ops (src/runtime/ops/norms.ts) the pair is about twenty programs
 * (each mean, subtraction, product… its own pass, plus transposes for the column sums); here it
 * is two forward passes and four to six backward ones:
 *
 *   forward   stats [N, 2] = (mean, 1/√(var + eps)) per row      one workgroup per row
 *             y = x̂ · gain + bias                                elementwise
 *   backward  dx = invStd · (g − mean(g) − x̂ · mean(g · x̂)),  g = dy · gain   one workgroup per row
 *             dgain = Σ_rows dy · x̂,  dbias = Σ_rows dy          column sums in blocks of rows
 *
 * The same maths as `layerNorm` in src/runtime/ops/norms.ts (its tfjs kernel); bench/matmul.ts
 * compares the two on the GPU.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from '../ops/custom-op.js';
import { columnSum } from './column-sum.js';
import { ElementwiseProgram, RowProgram, rowWorkgroup, runProgram } from './program.js';

/** Shared: a tree sum over the workgroup. */
const rowPrelude = `
var<workgroup> partial : array<f32, ${rowWorkgroup}>;
var<workgroup> partial2 : array<f32, ${rowWorkgroup}>;

// sums partial (and partial2) over the workgroup into element 0
fn reduceBoth() {
  for (var stride = ${rowWorkgroup / 2}u; stride > 0u; stride = stride >> 1u) {
    workgroupBarrier();
    if (localIndex < stride) {
      partial[localIndex] = partial[localIndex] + partial[localIndex + stride];
      partial2[localIndex] = partial2[localIndex] + partial2[localIndex + stride];
    }
  }
  workgroupBarrier();
}
`;

/** The start of a row program's main: its row of x [N, D], the row's offset, and its width (0 past N). */
const rowStart = `fn main() {
  let row = rowIndex();
  let N = uniforms.xShape.x;
  let D = uniforms.xShape.y;
  let base = row * D;
  let width = select(0, D, row < N);`;

/** stats [N, 2]: mean and 1/√(var + eps) of each row of x [N, D]. */
const rowStats = (rows: number) =>
  new RowProgram(
    [rows, 2],
    rows,
    ['x'],
    'layercutLayerNormStats',
    `${rowPrelude}
${rowStart}
  var sum = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    sum = sum + x[base + i];
  }
  partial[localIndex] = sum;
  partial2[localIndex] = 0.0;
  reduceBoth();
  let mean = partial[0] / f32(D);
  workgroupBarrier();
  var squares = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    let centered = x[base + i] - mean;
    squares = squares + centered * centered;
  }
  partial[localIndex] = squares;
  reduceBoth();
  if (localIndex == 0u && row < N) {
    result[row * 2] = mean;
    result[row * 2 + 1] = inverseSqrt(partial[0] / f32(D) + uniforms.eps);
  }
}`,
    'eps : f32,',
  );

/** y [N, D] = (x − mean) · invStd · gain + bias. */
const apply = (shape: [number, number]) =>
  new ElementwiseProgram(
    shape,
    ['x', 'stats', 'gain', 'bias'],
    'layercutLayerNormApply',
    `    let D = uniforms.xShape.y;
    let row = index / D;
    let col = index - row * D;
    let xhat = (x[index] - stats[row * 2]) * stats[row * 2 + 1];
    setOutputAtIndex(index, xhat * gain[col] + bias[col]);`,
  );

/** dx [N, D] = invStd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · gain. */
const gradInput = (shape: [number, number]) =>
  new RowProgram(
    shape,
    shape[0],
    ['dy', 'x', 'stats', 'gain'],
    'layercutLayerNormGradInput',
    `${rowPrelude}
${rowStart}
  let mean = select(0.0, stats[row * 2], row < N);
  let invStd = select(0.0, stats[row * 2 + 1], row < N);
  var sumG = 0.0;
  var sumGX = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    let g = dy[base + i] * gain[i];
    sumG = sumG + g;
    sumGX = sumGX + g * (x[base + i] - mean) * invStd;
  }
  partial[localIndex] = sumG;
  partial2[localIndex] = sumGX;
  reduceBoth();
  let meanG = partial[0] / f32(D);
  let meanGX = partial2[0] / f32(D);
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    let xhat = (x[base + i] - mean) * invStd;
    result[base + i] = invStd * (dy[base + i] * gain[i] - meanG - xhat * meanGX);
  }
}`,
  );

/** dy · x̂ [N, D] (summed over rows it is dgain). */
const gainTerm = (shape: [number, number]) =>
  new ElementwiseProgram(
    shape,
    ['dy', 'x', 'stats'],
    'layercutLayerNormGainTerm',
    `    let row = index / uniforms.xShape.y;
    setOutputAtIndex(index, dy[index] * (x[index] - stats[row * 2]) * stats[row * 2 + 1]);`,
  );

/**
 * LayerNorm of x [..., D] with gain and bias [D] on the webgpu backend, with its gradient for
 * x, gain and bias (each computed only where backward asks for it: ../ops/custom-op.ts).
 */
export function fusedLayerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const width = x.shape[x.rank - 1]!;
  const rows = x.size / width;
  return customOp(
    [x, gain, bias],
    (save) => {
      const flat = tf.reshape(x, [rows, width]);
      const stats = runProgram(rowStats(rows), [flat], [{ type: 'float32', data: [eps] }]);
      const y = runProgram(apply([rows, width]), [flat, stats, gain, bias]);
      save([flat, stats, gain]);
      return tf.reshape(y, x.shape);
    },
    (dy, saved) => {
      const [savedX, savedStats, savedGain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const dyFlat = () => tf.reshape(dy, [rows, width]) as tf.Tensor2D;
      return [
        () =>
          tf.reshape(
            runProgram(gradInput([rows, width]), [dyFlat(), savedX, savedStats, savedGain]),
            x.shape,
          ),
        () => columnSum(runProgram(gainTerm([rows, width]), [dyFlat(), savedX, savedStats]) as tf.Tensor2D),
        () => columnSum(dyFlat()),
      ];
    },
  );
}
