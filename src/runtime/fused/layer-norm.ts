/**
 * LayerNorm as WebGPU programs: y = (x − mean) · invStd · gain + bias over the last axis, and
 * its gradient. Written with tfjs ops (src/runtime/ops/norms.ts) the pair is about twenty programs
 * (each mean, subtraction, product… its own pass, plus transposes for the column sums); here it
 * is one forward dispatch and one backward dispatch (plus column-sum passes past 128 rows):
 *
 *   forward   y = x̂ · gain + bias,  x̂ = (x − mean) · invStd,  invStd = 1/√(var + eps)
 *             and stats [N, 2] = (mean, invStd) per row (a second output)   one workgroup per row
 *   backward  one dispatch of two kinds of workgroup, both reading the saved stats:
 *             dx = invStd · (g − mean(g) − x̂ · mean(g · x̂)),  g = dy · gain   one per row
 *             Σ dy · x̂ and Σ dy over each block of 128 rows [⌈N / 128⌉, D]    one per block of
 *             64 columns and 128 rows (as column-sum.ts's)
 *             dgain, dbias = the sums over the blocks: with one block (N ≤ 128) a reshape, else
 *             column-sum.ts's passes (two more dispatches for N ≤ 16,384)
 *
 * The column-sum workgroups need each row's stats but read only 64 columns of it, so the stats are
 * saved rather than recomputed; and the three gradients come from one dispatch, so all three are
 * computed whichever backward asks for (a frozen gain and bias cost their column sums, not a
 * dispatch).
 *
 * `fusedAddLayerNorm` is the same pair with a pre-LN block's residual add before the norm (x +
 * residual, written as a second output) and, backward, the gradient the sum has from its other
 * uses added to dx.
 *
 * The same maths as `layerNorm` and `addLayerNorm` in src/runtime/ops/norms.ts (their tfjs
 * kernels); bench/gpu-checks.ts compares them on the GPU.
 */
import * as tf from '@tensorflow/tfjs';
import { writesBinding } from '../shader-directives.js';
import { customOp } from '../ops/custom-op.js';
import { columnSum, rowsPerSumBlock, sumColumns, sumLanes } from './column-sum.js';
import { RowProgram, rowWorkgroup, runProgram, unfilledTensor } from './program.js';

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

/**
 * The start of a row program's main: its row of x [N, D], the row's offset, and its width (0 past
 * N: every loop over the row is then empty, and every barrier still reached). `base` is that of
 * row N − 1 past N, so that no index leaves x.
 */
const rowStart = `fn main() {
  let row = rowIndex();
  let N = uniforms.xShape.x;
  let D = uniforms.xShape.y;
  let inRange = row < N;
  let base = min(row, N - 1) * D;
  let width = select(0, D, inRange);`;

/**
 * y [N, D] = (x − mean) · invStd · gain + bias, and stats [N, 2] = (mean, invStd) (written). With
 * `withResidual` the row normalized is x + residual, also written to `added` [N, D].
 */
const forward = (rows: number, width: number, withResidual: boolean) => {
  const input = withResidual ? '(x[base + i] + residual[base + i])' : 'x[base + i]';
  return new RowProgram(
    [rows, width],
    rows,
    withResidual ? ['x', 'residual', 'gain', 'bias', 'stats', 'added'] : ['x', 'gain', 'bias', 'stats'],
    withResidual ? 'layercutAddLayerNorm' : 'layercutLayerNorm',
    `${rowPrelude}
${writesBinding('stats')}
${withResidual ? writesBinding('added') : ''}
${rowStart}
  var sum = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    let value = ${input};
    sum = sum + value;
    ${withResidual ? 'added[base + i] = value;' : ''}
  }
  partial[localIndex] = sum;
  partial2[localIndex] = 0.0;
  reduceBoth();
  let mean = partial[0] / f32(D);
  workgroupBarrier();
  var squares = 0.0;
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    let centered = ${input} - mean;
    squares = squares + centered * centered;
  }
  partial[localIndex] = squares;
  reduceBoth();
  let invStd = inverseSqrt(partial[0] / f32(D) + uniforms.eps);
  for (var i = i32(localIndex); i < width; i = i + ${rowWorkgroup}) {
    let xhat = (${input} - mean) * invStd;
    result[base + i] = xhat * gain[i] + bias[i];
  }
  if (localIndex == 0u && inRange) {
    stats[row * 2] = mean;
    stats[row * 2 + 1] = invStd;
  }
}`,
    'eps : f32,',
  );
};

/**
 * Workgroups 0 … N − 1: dx [N, D] = invStd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · gain, of
 * their row, plus dAdded [N, D] with `withAddend` (the gradient x has from its other uses).
 * Workgroup N + b · ⌈D / 64⌉ + t: gainSums and biasSums [⌈N / 128⌉, D] (written) =
 * Σ dy · x̂ and Σ dy over the 128 rows of block b, in the 64 columns of tile t, each of its 4 lanes
 * adding every 4th row (column-sum.ts's order). Every workgroup runs both parts, one of them on
 * nothing, so that each barrier is reached by all.
 */
const backward = (rows: number, width: number, withAddend: boolean) => {
  const sumWorkgroups = Math.ceil(rows / rowsPerSumBlock) * Math.ceil(width / sumColumns);
  return new RowProgram(
    [rows, width],
    rows + sumWorkgroups,
    ['dy', 'x', 'stats', 'gain', 'gainSums', 'biasSums', ...(withAddend ? ['dAdded'] : [])],
    withAddend ? 'layercutLayerNormGradAdd' : 'layercutLayerNormGrad',
    `${rowPrelude}
${writesBinding('gainSums')}
${writesBinding('biasSums')}
${rowStart}
  // dx of the row
  let mean = stats[min(row, N - 1) * 2];
  let invStd = stats[min(row, N - 1) * 2 + 1];
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
    result[base + i] = invStd * (dy[base + i] * gain[i] - meanG - xhat * meanGX)${withAddend ? ' + dAdded[base + i]' : ''};
  }

  // the column sums of a block of rows (nothing for row workgroups and those past the last block)
  let tiles = (D + ${sumColumns - 1}) / ${sumColumns};
  let blocks = (N + ${rowsPerSumBlock - 1}) / ${rowsPerSumBlock};
  let tile = max(row - N, 0);
  let block = tile / tiles;
  let column = (tile - block * tiles) * ${sumColumns} + i32(localIndex % ${sumColumns}u);
  let lane = i32(localIndex / ${sumColumns}u);
  let sums = !inRange && block < blocks && column < D;
  let first = block * ${rowsPerSumBlock};
  let last = select(first, min(first + ${rowsPerSumBlock}, N), sums);
  var gainSum = 0.0;
  var biasSum = 0.0;
  for (var r = first + lane; r < last; r = r + ${sumLanes}) {
    let d = dy[r * D + column];
    gainSum = gainSum + d * (x[r * D + column] - stats[r * 2]) * stats[r * 2 + 1];
    biasSum = biasSum + d;
  }
  workgroupBarrier(); // the row part has read partial[0]
  partial[localIndex] = gainSum;
  partial2[localIndex] = biasSum;
  workgroupBarrier();
  if (lane == 0 && sums) {
    var gainTotal = 0.0;
    var biasTotal = 0.0;
    for (var l = 0u; l < ${sumLanes}u; l = l + 1u) {
      gainTotal = gainTotal + partial[l * ${sumColumns}u + localIndex];
      biasTotal = biasTotal + partial2[l * ${sumColumns}u + localIndex];
    }
    gainSums[block * D + column] = gainTotal;
    biasSums[block * D + column] = biasTotal;
  }
}`,
  );
};

/**
 * LayerNorm of x [..., D] with gain and bias [D] on the webgpu backend, with its gradient for
 * x, gain and bias (see the file comment).
 */
export function fusedLayerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const width = x.shape[x.rank - 1]!;
  const rows = x.size / width;
  return customOp(
    [x, gain, bias],
    (save) => {
      const flat = tf.reshape(x, [rows, width]);
      const stats = unfilledTensor([rows, 2]); // written by the program
      const y = runProgram(forward(rows, width, false), [flat, gain, bias, stats], epsUniform(eps));
      save([flat, stats, gain]);
      return tf.reshape(y, x.shape);
    },
    (dy, saved) => {
      const [dx, dgain, dbias] = layerNormGradients(dy, undefined, saved, x.shape);
      return [() => dx, () => dgain, () => dbias];
    },
  );
}

/**
 * [s, LayerNorm(s)] with s = x + residual (x, residual [..., D]; gain, bias [D]) on the webgpu
 * backend: a pre-LN block's residual add and the norm after it in one program each way. Backward
 * adds s's own gradient (from its other uses, later in the forward pass) to the norm's input
 * gradient in the same program, the sum tfjs's backward would add after it; x and residual both
 * get that sum. Both outputs must be used: tfjs fills the gradient of an unused one with zeros
 * made on the host (`fusedLayerNormOfSum` is the op for an s nothing else uses).
 */
export function fusedAddLayerNorm(
  x: tf.Tensor,
  residual: tf.Tensor,
  gain: tf.Tensor,
  bias: tf.Tensor,
  eps: number,
): [tf.Tensor, tf.Tensor] {
  return addThenNorm(x, residual, gain, bias, eps, true) as [tf.Tensor, tf.Tensor];
}

/** LayerNorm(x + residual) alone, as `fusedAddLayerNorm` with the sum kept for backward only. */
export function fusedLayerNormOfSum(
  x: tf.Tensor,
  residual: tf.Tensor,
  gain: tf.Tensor,
  bias: tf.Tensor,
  eps: number,
): tf.Tensor {
  return addThenNorm(x, residual, gain, bias, eps, false) as tf.Tensor;
}

function addThenNorm(
  x: tf.Tensor,
  residual: tf.Tensor,
  gain: tf.Tensor,
  bias: tf.Tensor,
  eps: number,
  sumIsOutput: boolean,
): tf.Tensor | tf.Tensor[] {
  const width = x.shape[x.rank - 1]!;
  const rows = x.size / width;
  return customOp<tf.Tensor | tf.Tensor[]>(
    [x, residual, gain, bias],
    (save) => {
      const flat = (t: tf.Tensor) => tf.reshape(t, [rows, width]);
      const stats = unfilledTensor([rows, 2]); // written by the program
      const added = unfilledTensor([rows, width]); // written by the program
      const y = runProgram(
        forward(rows, width, true),
        [flat(x), flat(residual), gain, bias, stats, added],
        epsUniform(eps),
      );
      save([added, stats, gain]);
      const normed = tf.reshape(y, x.shape);
      return sumIsOutput ? [tf.reshape(added, x.shape), normed] : normed;
    },
    (dys, saved) => {
      const [dAdded, dy] = Array.isArray(dys) ? dys : [undefined, dys];
      const [dx, dgain, dbias] = layerNormGradients(dy!, dAdded, saved, x.shape);
      // x and residual: two tensors of the same buffer, so that each input's gradient is freed on its own
      return [() => tf.reshape(dx, x.shape), () => tf.reshape(dx, x.shape), () => dgain, () => dbias];
    },
  );
}

const epsUniform = (eps: number) => [{ type: 'float32' as const, data: [eps] }];

/**
 * The input, gain and bias gradients of a LayerNorm from dy [..., D] and what its forward saved
 * (its input as [N, D], the row stats, the gain); `dAdded` [..., D] is added to the input's.
 */
function layerNormGradients(
  dy: tf.Tensor,
  dAdded: tf.Tensor | undefined,
  saved: tf.Tensor[],
  shape: number[],
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const [savedX, savedStats, savedGain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
  const [rows, width] = savedX.shape as [number, number];
  const blocks = Math.ceil(rows / rowsPerSumBlock);
  const gainSums = unfilledTensor([blocks, width]); // written by the program
  const biasSums = unfilledTensor([blocks, width]);
  const flat = (t: tf.Tensor) => tf.reshape(t, [rows, width]);
  const inputs = [flat(dy), savedX, savedStats, savedGain, gainSums, biasSums];
  const dx = runProgram(
    backward(rows, width, dAdded !== undefined),
    dAdded ? [...inputs, flat(dAdded)] : inputs,
  );
  // what no input's gradient returns is freed by backward's scope
  return [tf.reshape(dx, shape), columnSum(gainSums as tf.Tensor2D), columnSum(biasSums as tf.Tensor2D)];
}
