/**
 * Column sums of a [N, D] tensor as WebGPU programs: Σ over rows → [D], in passes that each add
 * up blocks of 128 rows (a 2048-row input takes two passes). tfjs's `sum(t, 0)` transposes t
 * first (its reduction runs along the last axis): a copy of t and one more program. Used for
 * the gain and bias gradients of LayerNorm and the bias gradient of linear layers.
 */
import * as tf from '@tensorflow/tfjs';
import { runProgram, workgroupGrid, type WebGpuProgram } from './program.js';

/** Columns one workgroup of the column sum adds up, and its lanes (each every 4th row of the block). */
export const sumColumns = 64;
export const sumLanes = 4;
/** Rows one workgroup of the column sum adds up. */
export const rowsPerSumBlock = 128;

/**
 * out [⌈N / 128⌉, D]: sums of t [N, D] over blocks of 128 rows, one workgroup per 64 columns (x)
 * and block (y, and z past 65,535 blocks: `workgroupGrid`'s rows; the few past the last block
 * write nothing).
 */
class ColumnSumProgram implements WebGpuProgram {
  variableNames = ['t'];
  outputShape: number[];
  shaderKey = 'layercutColumnSum';
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [sumColumns, sumLanes, 1];

  constructor(rows: number, cols: number) {
    const blocks = Math.ceil(rows / rowsPerSumBlock);
    this.outputShape = [blocks, cols];
    const [blocksX, blocksY] = workgroupGrid(blocks);
    this.dispatch = [Math.ceil(cols / sumColumns), blocksX, blocksY];
  }

  getUserCode(): string {
    return `
var<workgroup> lanes : array<f32, ${sumColumns * sumLanes}>;

fn main() {
  let N = uniforms.tShape.x;
  let D = uniforms.tShape.y;
  let col = i32(workgroupId.x) * ${sumColumns} + i32(localId.x);
  let block = i32(workgroupId.z * numWorkgroups.y + workgroupId.y);
  let blocks = (N + ${rowsPerSumBlock - 1}) / ${rowsPerSumBlock};
  let first = block * ${rowsPerSumBlock};
  let last = min(first + ${rowsPerSumBlock}, N);
  var sum = 0.0;
  if (col < D) {
    for (var r = first + i32(localId.y); r < last; r = r + ${sumLanes}) {
      sum = sum + t[r * D + col];
    }
  }
  lanes[localId.y * ${sumColumns}u + localId.x] = sum;
  workgroupBarrier();
  if (localId.y == 0u && col < D && block < blocks) {
    var total = 0.0;
    for (var lane = 0u; lane < ${sumLanes}u; lane = lane + 1u) {
      total = total + lanes[lane * ${sumColumns}u + localId.x];
    }
    result[block * D + col] = total;
  }
}`;
  }
}

/** Σ over the rows of t [N, D] → [D], in passes of 128-row blocks. */
export function columnSum(t: tf.Tensor2D): tf.Tensor1D {
  let partials: tf.Tensor = t;
  while (partials.shape[0]! > 1) {
    const next = runProgram(new ColumnSumProgram(partials.shape[0]!, partials.shape[1]!), [partials]);
    if (partials !== t) partials.dispose();
    partials = next;
  }
  return partials === t
    ? (tf.reshape(t, [t.shape[1]]) as tf.Tensor1D)
    : (partials.reshape([-1]) as tf.Tensor1D);
}
