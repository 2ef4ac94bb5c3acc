/**
 * layercut's compute runtime: choosing and starting the tfjs backend (tensorflow, webgpu,
 * wasm, cpu), describing it, a quick matmul check, and the GPU-speed helpers: device
 * constants, grouped read-back, host-tensor counting, and the LAYERCUT_PLAIN_OPS switch.
 */
export {
  autoOrder,
  BackendUnavailableError,
  backendNames,
  describeBackend,
  initBackend,
  parseBackendName,
  releaseBackend,
  type BackendName,
  type BackendOptions,
  type BackendReport,
  type ConcreteBackendName,
  type WebGpuOptions,
} from './backend.js';
export { checkMatmul, type MatmulCheck } from './sanity.js';
export { deferredSubmitBatchSize, listWebGpuAdapters, type WebGpuAdapterEntry } from './webgpu.js';
export { probeVulkanLoader, type VulkanLoaderProbe } from './vulkan.js';
export { plainOps, setPlainOps, withPlainOps } from './flags.js';
export {
  cachesDeviceConstants,
  deviceConstant,
  deviceScalar,
  keptConstantCount,
  releaseDeviceConstants,
  setConstantCaching,
} from './constants.js';
export { variableGrads } from './gradients.js';
export { countHostTensors, type HostTensorCount } from './host-tensors.js';
export { DEFAULT_READBACK, DeferredScalars, type ReadbackPolicy, type ReadEntry } from './readback.js';
export { webGpuMemory, type WebGpuMemory } from './webgpu.js';
