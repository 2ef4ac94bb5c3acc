/**
 * AdamW in one GPU pass per parameter, in place, on the `webgpu` backend.
 *
 * Written with tfjs ops, one AdamW step is ten element-wise programs per parameter, each reading
 * and writing whole tensors (for GPT2-XL's 80 M-entry embedding alone that is gigabytes of memory
 * traffic per step) and each writing a fresh tensor. This pass reads p, g, m̂, v̂ once and writes
 * p, m̂, v̂ back into their own buffers, with the same maths as `adamWUpdate`'s other kernels
 * (./ops/optimizer-updates.ts, whose webgpu kernel this is):
 *
 *   m̂ ← β1·m̂ + g      v̂ ← β2·v̂ + g²      p ← p·decay − A · m̂ / (√v̂ + E)
 *
 * (decay is 1 for a parameter that does not decay).
 *
 * It is one of tfjs's programs, queued with the others (so it can run for one parameter while
 * the backward pass still computes the others' gradients): the parameter is its output, written
 * in place, and the moments are inputs it also writes (`writesBinding`). Tensors whose data
 * another tensor shares are not updated in place (the op's tfjs kernel updates them),
 * and CPU copies tfjs cached are dropped.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram, type ProgramUniform } from './fused/program.js';
import { writesBinding } from './shader-directives.js';

/** One parameter's update: its value, gradient, moments, and whether it decays. */
export interface FusedAdamWUpdate {
  param: tf.Variable;
  grad: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
  decays: boolean;
}

/**
 * The step's scalars (`AdamWStep`, ./ops/optimizer-updates.ts): `perStep` makes (once per step, on first call) the
 * device tensor [A, E, decay factor (1 − lr·wd)], which change from step to step (one upload per
 * step, and the uniforms of every pass the same each step: ./uniforms.ts); β1 and β2 are uniforms.
 */
export interface FusedAdamWScalars {
  perStep: () => tf.Tensor1D;
  beta1: number;
  beta2: number;
}

/** The parts of tfjs's WebGPUBackend this pass uses. */
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { values?: unknown; refCount: number } };
  runWebGPUProgram(
    program: ElementwiseProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms: ProgramUniform[],
    output: tf.TensorInfo,
  ): tf.TensorInfo;
}

/** The webgpu backend's internals when it is the active backend, else undefined. */
function activeWebGpu(): WebGpuBackendInternals | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const backend = tf.backend() as unknown as Partial<WebGpuBackendInternals>;
  return backend.tensorMap && backend.runWebGPUProgram ? (backend as WebGpuBackendInternals) : undefined;
}

const adamWProgram = (shape: number[]) => {
  const program = new ElementwiseProgram(
    shape,
    ['g', 'm', 'v', 'step'],
    'layercutAdamW',
    `    let gi = g[index];
    let mi = uniforms.beta1 * m[index] + gi;
    let vi = uniforms.beta2 * v[index] + gi * gi;
    m[index] = mi;
    v[index] = vi;
    let decay = select(1.0, step[2], uniforms.decays != 0.0);
    result[index] = result[index] * decay - step[0] * mi / (sqrt(vi) + step[1]);`,
    `${writesBinding('m')}\n${writesBinding('v')}`,
  );
  program.uniforms = 'decays : f32, beta1 : f32, beta2 : f32,';
  return program;
};

/**
 * Queues the in-place update of one parameter; false (nothing done) when the webgpu backend is
 * not active or the update cannot be done in place (data shared with another tensor, or not
 * float32): the tfjs kernel updates it then.
 */
export function fusedAdamWUpdate(u: FusedAdamWUpdate, scalars: FusedAdamWScalars): boolean {
  const backend = activeWebGpu();
  if (!backend) return false;
  const exclusive = (t: tf.Tensor) => backend.tensorMap.get(t.dataId).refCount === 1;
  const ok =
    [u.param, u.grad, u.m, u.v].every((t) => t.dtype === 'float32' && t.size === u.param.size) &&
    [u.param, u.m, u.v].every(exclusive) &&
    u.param.size > 0;
  if (!ok) return false;
  const uniforms: ProgramUniform[] = [u.decays ? 1 : 0, scalars.beta1, scalars.beta2].map((value) => ({
    type: 'float32',
    data: [value],
  }));
  const out: tf.TensorInfo = { dataId: u.param.dataId, shape: u.param.shape, dtype: u.param.dtype };
  const inputs = [u.grad, u.m, u.v, scalars.perStep()];
  backend.runWebGPUProgram(adamWProgram(u.param.shape), inputs, 'float32', uniforms, out);
  // CPU copies tfjs cached from earlier reads are stale now
  for (const t of [u.param, u.m, u.v]) backend.tensorMap.get(t.dataId).values = undefined;
  return true;
}
