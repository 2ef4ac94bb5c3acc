/**
 * AdamW in one GPU pass per two parameters, in place, on the `webgpu` backend.
 *
 * Written with tfjs ops, one AdamW step is ten element-wise programs per parameter, each reading
 * and writing whole tensors (for GPT2-XL's 80 M-entry embedding alone that is gigabytes of memory
 * traffic per step) and each writing a fresh tensor. This pass reads p, g, m̂, v̂ once and writes
 * p, m̂, v̂ back into their own buffers, with the same maths as `adamWUpdate`'s other kernels
 * (./ops/optimizer-updates.ts, whose webgpu kernel this is):
 *
 *   m̂ ← β1·m̂ + g      v̂ ← β2·v̂ + g²      p ← p·decay − A · m̂ / (√v̂ + E)
 *
 * (decay is 1 for a parameter that does not decay). A parameter's m̂ and v̂ are one tensor, its
 * `moments` [2, ...p's shape]: m̂ then v̂. So two parameters (a weight and its bias, as their
 * gradients come out together) take one pass of 7 storage buffers (p, g and moments each, and
 * the step's scalars), within WebGPU's default 8: invocation i updates element i of each
 * parameter it has. A step of a transformer makes half as many dispatches for AdamW.
 *
 * It is one of tfjs's programs, queued with the others (so it can run for two parameters while
 * the backward pass still computes the others' gradients): the first parameter is its output,
 * written in place, and the moments and the second parameter are inputs it also writes
 * (`writesBinding`). Tensors whose data another tensor shares are not updated in place (the op's
 * tfjs kernel updates them), and CPU copies tfjs cached are dropped.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram, type ProgramUniform } from './fused/program.js';
import { writesBinding } from './shader-directives.js';
import { noteWrittenInPlace } from './step-graph.js';

/** One parameter's update: its value, gradient, moments, and whether it decays. */
export interface AdamWParameter {
  param: tf.Variable;
  grad: tf.Tensor;
  /** [2, ...param.shape]: m̂, then v̂. */
  moments: tf.Variable;
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

/**
 * WGSL updating element i of parameter p (gradient g, moments s, `size` elements; decays: the
 * uniform saying whether it decays) in place.
 */
const updateElement = (p: string, g: string, s: string, size: string, decays: string) => `
    {
      let gi = ${g}[i];
      let mi = uniforms.beta1 * ${s}[i] + gi;
      let vi = uniforms.beta2 * ${s}[${size} + i] + gi * gi;
      ${s}[i] = mi;
      ${s}[${size} + i] = vi;
      let decay = select(1.0, step[2], ${decays} != 0.0);
      ${p}[i] = ${p}[i] * decay - step[0] * mi / (sqrt(vi) + step[1]);
    }`;

/**
 * The pass over one parameter (the output: `result`, of `shape`) or two (the second: p2, g2,
 * moments2, of `size2` elements, when `size2` is given): invocation i updates element i of each.
 */
class AdamWProgram extends ElementwiseProgram {
  /** Whether the pass has a second parameter. */
  private readonly second: boolean;

  constructor(shape: number[], size2?: number) {
    const second = size2 !== undefined;
    super(
      shape,
      second ? ['g', 'moments', 'p2', 'g2', 'moments2', 'step'] : ['g', 'moments', 'step'],
      second ? 'layercutAdamWPair' : 'layercutAdamW',
      '',
      [writesBinding('moments'), ...(second ? [writesBinding('p2'), writesBinding('moments2')] : [])].join(
        '\n',
      ),
    );
    this.uniforms = `decays : f32, beta1 : f32, beta2 : f32,${second ? ' decays2 : f32, size2 : i32,' : ''}`;
    if (second) {
      const size = shape.reduce((a, b) => a * b, 1);
      this.dispatch = [Math.ceil(Math.max(size, size2) / this.workgroupSize[0]), 1, 1];
    }
    this.second = second;
  }

  override getUserCode(): string {
    const first = updateElement('result', 'g', 'moments', 'uniforms.size', 'uniforms.decays');
    const second = updateElement('p2', 'g2', 'moments2', 'uniforms.size2', 'uniforms.decays2');
    return `${this.prelude}
fn main(index : i32) {
  let i = index;
  if (i < uniforms.size) {${first}
  }${
    this.second
      ? `
  if (i < uniforms.size2) {${second}
  }`
      : ''
  }
}`;
  }
}

/**
 * Queues the in-place updates of `parameters`, two per pass (in their order); returns those it
 * could not take, for the tfjs kernel: all of them when the webgpu backend is not active, else
 * those that cannot be updated in place (data shared with another tensor, or not float32).
 */
export function fusedAdamWUpdates(
  parameters: readonly AdamWParameter[],
  scalars: FusedAdamWScalars,
): AdamWParameter[] {
  const backend = activeWebGpu();
  if (!backend) return [...parameters];
  const exclusive = (t: tf.Tensor) => backend.tensorMap.get(t.dataId).refCount === 1;
  const inPlace = (u: AdamWParameter) =>
    [u.param, u.grad, u.moments].every((t) => t.dtype === 'float32') &&
    u.grad.size === u.param.size &&
    u.moments.size === 2 * u.param.size &&
    [u.param, u.moments].every(exclusive) &&
    u.param.size > 0;
  const taken = parameters.filter(inPlace);
  const f32 = (value: number): ProgramUniform => ({ type: 'float32', data: [value] });
  for (let k = 0; k < taken.length; k += 2) {
    const [first, second] = [taken[k]!, taken[k + 1]];
    const uniforms = [f32(first.decays ? 1 : 0), f32(scalars.beta1), f32(scalars.beta2)];
    const inputs: tf.TensorInfo[] = [first.grad, first.moments];
    if (second) {
      uniforms.push(f32(second.decays ? 1 : 0), { type: 'int32', data: [second.param.size] });
      inputs.push(second.param, second.grad, second.moments);
    }
    inputs.push(scalars.perStep());
    const out: tf.TensorInfo = { dataId: first.param.dataId, shape: first.param.shape, dtype: 'float32' };
    const program = new AdamWProgram(first.param.shape, second?.param.size);
    backend.runWebGPUProgram(program, inputs, 'float32', uniforms, out);
    // CPU copies tfjs cached from earlier reads are stale now
    for (const u of second ? [first, second] : [first])
      for (const t of [u.param, u.moments]) {
        const entry = backend.tensorMap.get(t.dataId);
        entry.values = undefined;
        noteWrittenInPlace(entry); // and after each replay of a recorded step
      }
  }
  return parameters.filter((u) => !taken.includes(u));
}
