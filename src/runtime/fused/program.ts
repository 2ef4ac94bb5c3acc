/**
 * Running layercut's own WebGPU programs as tensor ops.
 *
 * A program is what tfjs-backend-webgpu's `runWebGPUProgram` takes: tfjs writes the shader's
 * header (bindings `result` and one array per name in `variableNames`, a `uniforms` block with
 * each input's shape, `workgroupId`/`localId`/`localIndex`) and appends `getUserCode()`. A
 * program whose dispatch layout is flat (only `x`) gets `main(index)`, others `main()`.
 *
 * Fused kernels are used only while the `webgpu` backend is active and the plain paths
 * (LAYERCUT_PLAIN_OPS) are off; `LAYERCUT_NO_FUSED_KERNELS=1` turns them off to compare.
 */
import * as tf from '@tensorflow/tfjs';
import { envFlag, plainOps } from '../flags.js';

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
  getUserCode(): string;
}

/** A uniform value as `runWebGPUProgram` takes it. */
export interface ProgramUniform {
  type: 'float32' | 'int32' | 'uint32';
  data: number[];
}

interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
}

/** True when fused kernels run: the webgpu backend is active, plain paths and the opt-out are off. */
export function fusedKernelsActive(): boolean {
  return tf.getBackend() === 'webgpu' && !plainOps() && !envFlag('LAYERCUT_NO_FUSED_KERNELS');
}

/** Runs `program` on float32 `inputs` and returns its output as a tensor. */
export function runProgram(
  program: WebGpuProgram,
  inputs: tf.Tensor[],
  uniforms?: ProgramUniform[],
): tf.Tensor {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

export const elementwiseWorkgroup = 256;

/** Dispatch fields of a flat program over `size` elements (tfjs reshapes past 65,535 groups). */
export function flatDispatch(
  outputShape: number[],
): Pick<WebGpuProgram, 'dispatchLayout' | 'dispatch' | 'workgroupSize' | 'size'> {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / elementwiseWorkgroup), 1, 1],
    workgroupSize: [elementwiseWorkgroup, 1, 1],
    size: true,
  };
}
