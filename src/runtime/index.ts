/**
 * layercut's compute runtime: choosing and starting the tfjs backend (tensorflow, webgpu,
 * wasm, cpu), describing it, and a quick matmul check.
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
