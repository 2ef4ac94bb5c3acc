/**
 * AdamW in one GPU pass per parameter, in place, on the `webgpu` backend.
 *
 * Written with tfjs ops, one AdamW step is ten element-wise programs per parameter, each reading
 * and writing whole tensors (for GPT2-XL's 80 M-entry embedding alone that is gigabytes of memory
 * traffic per step) and each writing a fresh tensor. This pass reads p, g, m̂, v̂ once and writes
 * p, m̂, v̂ back into their own buffers, with the same maths as `AdamW` (src/train/optimizers.ts):
 *
 *   m̂ ← β1·m̂ + g      v̂ ← β2·v̂ + g²      p ← p·decay − A · m̂ / (√v̂ + E)
 *
 * It runs outside tfjs's command stream: tfjs's queued work (which computes the gradients) is
 * submitted first, then one command buffer with a dispatch per parameter, so queue order keeps
 * both in sequence. Tensors whose data another tensor shares are not updated in place (the
 * caller falls back to tfjs ops for them), and CPU copies tfjs cached are dropped.
 */
import * as tf from '@tensorflow/tfjs';

/** One parameter's update: its value, gradient, moments, and whether it decays. */
export interface FusedAdamWUpdate {
  param: tf.Variable;
  grad: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
  decays: boolean;
}

/** The step's scalars, as in `AdamW.step`: A, E, the decay factor (1 − lr·wd), β1, β2. */
export interface FusedAdamWScalars {
  scale: number;
  eps: number;
  decay: number;
  beta1: number;
  beta2: number;
}

/** The parts of tfjs's WebGPUBackend this pass uses. */
interface WebGpuBackendInternals {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource?: unknown; values?: unknown; refCount: number } };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const workgroupSize = 256;
/** Workgroups per dispatch at most; each invocation loops over the rest (grid stride). */
const maxWorkgroups = 4096;

const shader = /* wgsl */ `
struct Scalars { scale : f32, eps : f32, decay : f32, beta1 : f32, beta2 : f32, count : u32 };

@group(0) @binding(0) var<uniform> s : Scalars;
@group(0) @binding(1) var<storage, read_write> param : array<f32>;
@group(0) @binding(2) var<storage, read> grad : array<f32>;
@group(0) @binding(3) var<storage, read_write> m : array<f32>;
@group(0) @binding(4) var<storage, read_write> v : array<f32>;

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(global_invocation_id) id : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
  let stride = groups.x * ${workgroupSize}u;
  for (var i = id.x; i < s.count; i = i + stride) {
    let g = grad[i];
    let mi = s.beta1 * m[i] + g;
    let vi = s.beta2 * v[i] + g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * s.decay - s.scale * mi / (sqrt(vi) + s.eps);
  }
}
`;

/** Uniform block bytes: five f32 and a u32, padded to 16-byte rows. */
const uniformBytes = 32;

/** The pipeline and per-step uniform buffers of one device. */
interface DeviceState {
  pipeline: GPUComputePipeline;
  /** Uniform buffers reused across steps, one per parameter in order of the update list. */
  uniforms: GPUBuffer[];
}

const states = new WeakMap<GPUDevice, DeviceState>();

function stateFor(device: GPUDevice): DeviceState {
  let state = states.get(device);
  if (!state) {
    const module = device.createShaderModule({ code: shader, label: 'layercut fused AdamW' });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    state = { pipeline, uniforms: [] };
    states.set(device, state);
  }
  return state;
}

/** The webgpu backend's internals when it is the active backend, else undefined. */
function activeWebGpu(): WebGpuBackendInternals | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const backend = tf.backend() as unknown as Partial<WebGpuBackendInternals>;
  return backend.device && backend.tensorMap && backend.submitQueue
    ? (backend as WebGpuBackendInternals)
    : undefined;
}

/** True when the fused pass can run (the webgpu backend is active). */
export function fusedAdamWAvailable(): boolean {
  return activeWebGpu() !== undefined;
}

/**
 * Applies the updates it can in place and returns those it could not (their data is shared
 * with another tensor, or they are not float32): the caller updates those with tfjs ops.
 */
export function fusedAdamWStep<U extends FusedAdamWUpdate>(updates: U[], scalars: FusedAdamWScalars): U[] {
  const backend = activeWebGpu();
  if (!backend) return updates;
  const { device } = backend;
  const state = stateFor(device);
  const bufferOf = (t: tf.Tensor): GPUBuffer => {
    backend.uploadToGPU(t.dataId);
    return backend.tensorMap.get(t.dataId).resource as GPUBuffer;
  };
  const exclusive = (t: tf.Tensor) => backend.tensorMap.get(t.dataId).refCount === 1;
  const fused: U[] = [];
  const left: U[] = [];
  for (const u of updates) {
    const ok =
      [u.param, u.grad, u.m, u.v].every((t) => t.dtype === 'float32' && t.size === u.param.size) &&
      [u.param, u.m, u.v].every(exclusive) &&
      u.param.size > 0;
    (ok ? fused : left).push(u);
  }
  if (fused.length === 0) return left;

  // Bind every tensor (uploads any still on the host) before tfjs's queue is flushed.
  const bindings = fused.map((u) => ({ u, buffers: [u.param, u.grad, u.m, u.v].map(bufferOf) }));
  // tfjs's queued programs (the gradients) go first: close its pass, submit its encoder
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  while (state.uniforms.length < fused.length) {
    state.uniforms.push(
      device.createBuffer({ size: uniformBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
    );
  }
  const encoder = device.createCommandEncoder({ label: 'layercut fused AdamW' });
  const pass = encoder.beginComputePass();
  pass.setPipeline(state.pipeline);
  const block = new ArrayBuffer(uniformBytes);
  const floats = new Float32Array(block);
  const counts = new Uint32Array(block);
  bindings.forEach(({ u, buffers }, index) => {
    floats.set([scalars.scale, scalars.eps, u.decays ? scalars.decay : 1, scalars.beta1, scalars.beta2]);
    counts[5] = u.param.size;
    const uniform = state.uniforms[index]!;
    device.queue.writeBuffer(uniform, 0, block);
    const bytes = u.param.size * 4;
    const bindGroup = device.createBindGroup({
      layout: state.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: uniform } },
        ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer, size: bytes } })),
      ],
    });
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.min(maxWorkgroups, Math.ceil(u.param.size / workgroupSize)));
  });
  pass.end();
  device.queue.submit([encoder.finish()]);
  // CPU copies tfjs cached from earlier reads are stale now
  for (const { u } of bindings)
    for (const t of [u.param, u.m, u.v]) backend.tensorMap.get(t.dataId).values = undefined;
  return left;
}
