/**
 * The gradient of a row gather (an embedding lookup) as one scatter-add over rows, in the
 * layout the rows already have.
 *
 * tfjs differentiates `gather(table [V, D], ids [N])` with `unsortedSegmentSum(dy [N, D], ids, V)`,
 * whose webgpu kernel sums along the inner axis only: it transposes dy to [D, N], fills a [D, V]
 * output with zeros, scatters, and transposes that back to [V, D]. For GPT2-XL's 50,257 × 1,600
 * embedding that is two extra passes over 321 MB and a second 321 MB buffer per lookup. Here:
 * fill [V, D] with zeros, then each dy element is added to its row (float atomics, as tfjs's
 * kernel adds; the order of additions to one row is not fixed, as in tfjs's). Ids outside
 * [0, V) add nothing.
 *
 *   out [V, ...inner] = 0;   out[ids[n], i] += x[n, i]   for x [N, ...inner]
 *
 * With at most `fewIds` ids (the label words' rows of the LM head, a batch's answer positions)
 * one program writes the whole output instead, each element the sum of the rows whose id is its
 * row, in the order of the ids: no fill, and the same sums every run.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram, type ProgramUniform, type WebGpuProgram } from './program.js';

/** The most ids whose rows one program sums for every output element (each reads every id). */
export const fewIds = 16;

/** out [V, ...inner]: out[v, i] = Σ x[n, i] over the n with ids[n] = v, n ascending (0 for none). */
const rowSumsProgram = (outShape: number[]) => {
  const program = new ElementwiseProgram(
    outShape,
    ['x', 'ids'],
    'layercutRowSums',
    `    let row = index / uniforms.rowSize;
    let column = index - row * uniforms.rowSize;
    var sum = 0.0;
    for (var n = 0; n < uniforms.idsShape; n = n + 1) {
      if (ids[n] == row) {
        sum = sum + x[n * uniforms.rowSize + column];
      }
    }
    setOutputAtIndex(index, sum);`,
  );
  program.uniforms = 'rowSize : i32,';
  return program;
};

const workgroup = 256;

export class ScatterRowsProgram implements WebGpuProgram {
  variableNames = ['x', 'ids'];
  outputShape: number[];
  shaderKey = 'layercutScatterRows';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [workgroup, 1, 1];
  uniforms = 'xSize : i32, rowSize : i32, rows : i32,';
  /** tfjs declares `result` as array<atomic<i32>>. */
  atomic = true;

  constructor(xSize: number, outShape: number[]) {
    this.outputShape = outShape;
    this.dispatch = [Math.ceil(xSize / workgroup), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.xSize) {
    let row = ids[index / uniforms.rowSize];
    if (row >= 0 && row < uniforms.rows) {
      let at = row * uniforms.rowSize + index % uniforms.rowSize;
      let value = x[index];
      var old = 0;
      loop {
        let next = bitcast<i32>(bitcast<f32>(old) + value);
        let swap = atomicCompareExchangeWeak(&result[at], old, next);
        if (swap.exchanged) {
          break;
        }
        old = swap.old_value;
      }
    }
  }
}`;
  }
}

/** The parts of tfjs's WebGPUBackend the kernel uses: running a program into a given output. */
export interface OutputProgramBackend {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms: ProgramUniform[],
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
}

/**
 * `UnsortedSegmentSum` for float32 x of rank ≥ 2 and int32 ids [N] (a gather's gradient); other
 * cases return undefined (tfjs's kernel takes them).
 */
export function scatterRows(
  args: Parameters<tf.KernelFunc>[0],
  fill: tf.KernelFunc,
): tf.TensorInfo | undefined {
  const x = args.inputs['x'] as tf.TensorInfo;
  const ids = args.inputs['segmentIds'] as tf.TensorInfo;
  const { numSegments } = args.attrs as { numSegments: number };
  if (x.dtype !== 'float32' || x.shape.length < 2 || ids.dtype !== 'int32' || ids.shape.length !== 1)
    return undefined;
  if (ids.shape[0] !== x.shape[0]) return undefined;
  const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const xSize = x.shape[0]! * rowSize;
  const outShape = [numSegments, ...x.shape.slice(1)];
  if (ids.shape[0]! <= fewIds)
    return (args.backend as unknown as OutputProgramBackend).runWebGPUProgram(
      rowSumsProgram(outShape),
      [x, ids],
      'float32',
      [{ type: 'int32', data: [rowSize] }],
    );
  const out = fill({
    backend: args.backend,
    attrs: { shape: outShape, value: 0, dtype: 'float32' },
    inputs: {},
  }) as tf.TensorInfo;
  if (xSize === 0) return out;
  const program = new ScatterRowsProgram(xSize, outShape);
  const uniforms: ProgramUniform[] = [
    { type: 'int32', data: [xSize] },
    { type: 'int32', data: [rowSize] },
    { type: 'int32', data: [numSegments] },
  ];
  return (args.backend as unknown as OutputProgramBackend).runWebGPUProgram(
    program,
    [x, ids],
    'float32',
    uniforms,
    out,
  );
}
