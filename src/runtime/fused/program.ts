/**
 * Running layercut's own WebGPU programs as tensor ops.
 *
 * A program is what tfjs-backend-webgpu's `runWebGPUProgram` takes: tfjs writes the shader's
 * header (bindings `result` and one array per name in `variableNames`, a `uniforms` block with
 * each input's shape, `workgroupId`/`localId`/`localIndex`) and appends `getUserCode()`. A
 * program whose dispatch layout is flat (only `x`) gets `main(index)`, others `main()`.
 *
 * Which op runs which program, and when, is chosen in one place: src/runtime/ops/registry.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../../errors.js';

/** The fields of a tfjs-webgpu program. */
export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Extra uniform fields, e.g. 'eps : f32,'. */
  uniforms?: string;
  /** True: tfjs adds `uniforms.size`, the output's element count. */
  size?: boolean;
  /** Floats per element of `result` (4: `array<vec4<f32>>`); default 1. */
  outputComponent?: number;
  /** Floats per element of each input array, in `variableNames` order; default `outputComponent`. */
  variableComponents?: number[];
  getUserCode(): string;
}

/** A uniform value as `runWebGPUProgram` takes it. */
export interface ProgramUniform {
  type: 'float32' | 'int32' | 'uint32';
  data: number[];
}

interface WebGpuBackendLike {
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
}

/** Runs `program` on `inputs` and returns its output (float32 unless `dtype` says otherwise) as a tensor. */
export function runProgram(
  program: WebGpuProgram,
  inputs: tf.Tensor[],
  uniforms?: ProgramUniform[],
  dtype: 'float32' | 'int32' = 'float32',
): tf.Tensor {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(program, inputs, dtype, uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * A float32 tensor with no values yet, for a program to write through a binding marked with
 * `writesBinding` (its device buffer is allocated when the program binds it).
 */
export function unfilledTensor(shape: number[]): tf.Tensor {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  return tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo(shape, 'float32'));
}

export const elementwiseWorkgroup = 256;

/**
 * A program over each element of `outputShape` (a flat dispatch: `main(index)`, with
 * `uniforms.size`); `body` computes the element at `index` and calls `setOutputAtIndex`.
 */
export class ElementwiseProgram implements WebGpuProgram {
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [elementwiseWorkgroup, 1, 1];
  size = true;
  /** Extra uniform fields, e.g. 'offset : i32,'. */
  uniforms?: string;

  constructor(
    readonly outputShape: number[],
    readonly variableNames: string[],
    readonly shaderKey: string,
    private readonly body: string,
    protected readonly prelude = '',
  ) {
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(size / elementwiseWorkgroup), 1, 1];
  }

  getUserCode(): string {
    return `${this.prelude}
fn main(index : i32) {
  if (index < uniforms.size) {
${this.body}
  }
}`;
  }
}

/** WebGPU's default (and least) limit on the workgroups of one dispatch dimension. */
export const defaultWorkgroupsPerDimension = 65_535;

/** The running webgpu backend's limit on the workgroups of one dispatch dimension. */
function workgroupsPerDimension(): number {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  return device?.limits.maxComputeWorkgroupsPerDimension ?? defaultWorkgroupsPerDimension;
}

/**
 * The grid [x, y, 1] for `count` workgroups numbered workgroupId.y · x + workgroupId.x: one row
 * of `count` while it fits the device's `limit` per dimension (tfjs asserts that a grid with a
 * y layout fits; only a flat one it reshapes itself), else the fewest rows that fit, of equal
 * width: y = ⌈count / limit⌉, x = ⌈count / y⌉. The last row may hold up to y − 1 workgroups
 * past `count`, which the program must let do nothing.
 */
export function workgroupGrid(count: number, limit = workgroupsPerDimension()): [number, number, number] {
  if (count <= limit) return [count, 1, 1];
  const rows = Math.ceil(count / limit);
  if (rows > limit) {
    throw new LayercutError(
      `a program of ${count} workgroups needs more than the device's ${limit} × ${limit} grid`,
      'run a smaller batch or shorter sequences',
    );
  }
  return [Math.ceil(count / rows), rows, 1];
}

/** Invocations of a one-workgroup-per-row program. */
export const rowWorkgroup = 256;

/**
 * A program with one workgroup of 256 invocations per row of its input (`main()`; `workgroups`
 * of them, laid out by `workgroupGrid`). `rowIndex()` returns a workgroup's number,
 * workgroupId.y · numWorkgroups.x + workgroupId.x; past 65,535 workgroups (the device's limit
 * per dimension) the grid has two rows or more and the last few numbers are past `workgroups`:
 * `code`, the rest of the user code, must let those do nothing and still reach every barrier.
 */
export class RowProgram implements WebGpuProgram {
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [rowWorkgroup, 1, 1];

  constructor(
    readonly outputShape: number[],
    workgroups: number,
    readonly variableNames: string[],
    readonly shaderKey: string,
    private readonly code: string,
    readonly uniforms?: string,
  ) {
    this.dispatch = workgroupGrid(workgroups);
  }

  getUserCode(): string {
    return `
fn rowIndex() -> i32 {
  return i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
}
${this.code}`;
  }
}
