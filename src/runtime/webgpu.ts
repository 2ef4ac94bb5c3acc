/**
 * The `webgpu` backend: `@tensorflow/tfjs-backend-webgpu` running on Dawn (the `webgpu` npm
 * package), which reaches the GPU through Vulkan on Linux, Metal on macOS, D3D12 on Windows.
 *
 * Steps: load Dawn → `create(flags)` → request an adapter (power preference, optionally a
 * specific one) → put `navigator.gpu` in place (tfjs checks it) → import the tfjs backend →
 * create the device ourselves and register a `webgpu` backend built on it, so the adapter we
 * report is the adapter tfjs uses.
 *
 * Choosing among several GPUs (`adapterIndex`, or LAYERCUT_GPU in a worker): see adapter.ts.
 * `listWebGpuAdapters` shows Dawn's list.
 *
 * While a Dawn instance is alive Node does not exit on its own: call `stopWebGpuBackend()`
 * (or `releaseBackend()` from backend.ts) when done.
 */
import * as tf from '@tensorflow/tfjs';

import { envValue } from '../env.js';
import { LayercutError } from '../errors.js';
import {
  chooseAdapter,
  GPU_ENV,
  gpuBindingLine,
  gpuIndexFromEnv,
  identicalAdaptersHint,
  pinByPciAddress,
  webGpuBinding,
  type AdapterChoice,
  type WebGpuAdapterEntry,
} from './adapter.js';
import { BackendUnavailableError, firstLineOf } from './backend-error.js';
import { cacheBindGroups, type BindGroupCache } from './bind-groups.js';
import {
  capBufferPool,
  poolCapBytes,
  stableBufferOrder,
  trackBufferPeaks,
  type BufferPeaks,
} from './buffer-pool.js';
import { releaseDeviceConstants } from './constants.js';
import { installDirectiveHoisting } from './shader-directives.js';
import { cacheUniforms, type UniformMakingBackend } from './uniforms.js';
import { uploadByQueueWrites, type UploadingBackend } from './uploads.js';
import {
  installTensorCoreMatMul,
  pickSubgroupMatrix,
  subgroupSize,
  uninstallTensorCoreMatMul,
  type SubgroupMatrixShape,
} from './tensor-core-matmul.js';
import { probeVulkanLoader, vulkanLoaderName, type VulkanLoaderProbe } from './vulkan.js';
import { installWebGpuKernels, uninstallWebGpuKernels } from './webgpu-kernels.js';

export interface WebGpuOptions {
  /** Index into Dawn's adapter list (see `listWebGpuAdapters`). */
  adapterIndex?: number;
  /** Default 'high-performance' (what tfjs asks for). */
  powerPreference?: 'high-performance' | 'low-power';
  /** Dawn toggles to enable, e.g. 'allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'. */
  dawnToggles?: string[];
  /** Raw Dawn `create()` flags, e.g. 'enable-dawn-features=…', 'backend=vulkan', 'adapter=H200'. */
  createFlags?: string[];
  /**
   * Refuse an adapter that runs shaders on the CPU (Mesa's lavapipe, SwiftShader): the `auto`
   * backend's choice, as such an adapter is slower than the cpu backends. Asked for by name,
   * webgpu takes it (test:lavapipe executes the WGSL programs on it).
   */
  hardwareOnly?: boolean;
}

export type { WebGpuAdapterEntry };

type Dawn = typeof import('webgpu');

/**
 * tfjs submits queued GPU work every this many ops. tfjs's default is 15; a very large value
 * starves the GPU; measured on the H200, 15–50 is right (see DESIGN.md).
 */
export const deferredSubmitBatchSize = 32;
const tfjsDefaultSubmitBatchSize = 15;

/** Device features requested when the adapter offers them (the subgroup ones need 'allow_unsafe_apis'). */
const optionalDeviceFeatures = new Set([
  'timestamp-query',
  'shader-f16',
  'subgroups',
  'chromium-experimental-subgroup-matrix',
]);

/** What must be undone to let the process exit. */
interface ActiveWebGpu {
  device: GPUDevice;
  removeNavigatorGpu: () => void;
  peaks: BufferPeaks;
  manager: { numBytesUsed: number; numBytesAllocated: number };
  bindGroups: BindGroupCache;
}
let active: ActiveWebGpu | undefined;

/**
 * Dawn toggles always enabled: they expose `shader-f16` on NVIDIA and the experimental
 * subgroup-matrix feature (the tensor cores of 'mixed' precision). Neither changes fp32 work.
 */
export const defaultDawnToggles = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

function dawnFlags(options: WebGpuOptions): string[] {
  const flags = [...(options.createFlags ?? [])];
  const toggles = [...new Set([...defaultDawnToggles, ...(options.dawnToggles ?? [])])];
  flags.push(`enable-dawn-features=${toggles.join(',')}`);
  return flags;
}

/** The adapter's subgroup-matrix shape for the tensor-core matmul, when the device can run it. */
function tensorCoreShape(adapter: GPUAdapter, device: GPUDevice): SubgroupMatrixShape | undefined {
  if (!device.features.has('shader-f16') || !device.features.has('chromium-experimental-subgroup-matrix'))
    return undefined;
  const info = adapter.info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
    subgroupMatrixConfigs?: {
      componentType: string;
      resultComponentType: string;
      M: number;
      N: number;
      K: number;
    }[];
  };
  // the kernel maps invocations to subgroups as index / 32
  if (info.subgroupMinSize !== subgroupSize || info.subgroupMaxSize !== subgroupSize) return undefined;
  return pickSubgroupMatrix(info.subgroupMatrixConfigs ?? []);
}

/** True when the flags (or DAWNNODE_BACKEND) make Dawn use something other than its platform default. */
function choosesDawnBackend(flags: string[]): boolean {
  return flags.some((flag) => flag.startsWith('backend=')) || (process.env.DAWNNODE_BACKEND ?? '') !== '';
}

async function loadDawn(): Promise<Dawn> {
  try {
    return await import('webgpu');
  } catch (error) {
    throw new BackendUnavailableError(
      'webgpu',
      `the webgpu package (Dawn) could not be loaded on ${process.platform}-${process.arch}: ${firstLineOf(error)}`,
      'reinstall layercut’s dependencies (npm install), or use --backend wasm',
    );
  }
}

/** The error for "Dawn found no adapter", saying what is most likely missing on this machine. */
export function noAdapterError(probe: VulkanLoaderProbe): BackendUnavailableError {
  if (probe.found === false) {
    return new BackendUnavailableError(
      'webgpu',
      `no GPU adapter: the Vulkan loader ${vulkanLoaderName} is not installed, so Dawn cannot reach a GPU`,
      'install libvulkan1 and an NVIDIA/AMD/Intel Vulkan driver (Debian/Ubuntu: apt-get install libvulkan1; ' +
        'NVIDIA’s driver ships its Vulkan ICD, AMD/Intel use mesa-vulkan-drivers), or use --backend wasm',
    );
  }
  if (probe.found === true) {
    return new BackendUnavailableError(
      'webgpu',
      `no GPU adapter: the Vulkan loader is installed (${probe.path}) but no Vulkan driver reports a GPU`,
      'install an NVIDIA/AMD/Intel Vulkan driver; `vulkaninfo --summary` shows what Vulkan sees, and ' +
        'VK_DRIVER_FILES can point the loader at a driver’s ICD file (e.g. nvidia_icd.json). Or use --backend wasm',
    );
  }
  return new BackendUnavailableError(
    'webgpu',
    'no GPU adapter: Dawn found none',
    'WebGPU needs a GPU with Metal (macOS) or D3D12 (Windows) drivers; or use --backend wasm',
  );
}

/**
 * Lists the adapters Dawn sees. Dawn has no listing call; asked for an adapter name that does
 * not exist it rejects with the list ("Available adapters: * backend: 'vulkan', name: '…'"),
 * which we parse. With no adapter at all it resolves to null: an empty list.
 */
export async function listWebGpuAdapters(options: WebGpuOptions = {}): Promise<WebGpuAdapterEntry[]> {
  const dawn = await loadDawn();
  const flags = dawnFlags(options).filter((flag) => !flag.startsWith('adapter='));
  const gpu = dawn.create([...flags, 'adapter=layercut: no adapter has this name']);
  try {
    const adapter = await gpu.requestAdapter({
      powerPreference: options.powerPreference ?? 'high-performance',
    });
    if (adapter === null) return [];
    throw new Error('Dawn returned an adapter for a name no adapter has');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const entries: WebGpuAdapterEntry[] = [];
    for (const line of message.split('\n')) {
      const match = /^\s*\* backend: '([^']*)', name: '(.*)'\s*$/.exec(line);
      if (match) entries.push({ backend: match[1] ?? '', name: match[2] ?? '' });
    }
    if (entries.length === 0) {
      throw new BackendUnavailableError('webgpu', `Dawn could not list its adapters: ${firstLineOf(error)}`);
    }
    return entries;
  }
}

/**
 * The adapter asked for: `adapterIndex` (an identical name before it is an error), else
 * LAYERCUT_GPU (of identical adapters, the one asked for where Mesa's device-select layer can
 * confine the process to it, else the first, and the binding line says so).
 */
async function adapterChoice(options: WebGpuOptions): Promise<AdapterChoice | undefined> {
  const named = options.createFlags?.some((flag) => flag.startsWith('adapter=')) ?? false;
  const index = options.adapterIndex ?? (named ? undefined : gpuIndexFromEnv());
  if (index === undefined) return undefined;
  const adapters = await listWebGpuAdapters(options);
  if (adapters.length === 0) throw noAdapterError(probeVulkanLoader());
  const choice = chooseAdapter(
    index,
    adapters,
    options.adapterIndex === undefined ? GPU_ENV : 'adapterIndex',
  );
  if (options.adapterIndex === undefined)
    return pinByPciAddress(choice, adapters, () => listWebGpuAdapters(options));
  if (choice.unreachable)
    throw new LayercutError(
      `webgpu adapterIndex ${index} cannot be selected: ${choice.unreachable}`,
      identicalAdaptersHint,
    );
  return choice;
}

/** Sets `navigator.gpu` (Node 21+ has a `navigator` object; Node 20 has none). Returns the undo. */
function installNavigatorGpu(gpu: GPU): () => void {
  const holder = globalThis as { navigator?: object };
  const existing = holder.navigator;
  if (typeof existing === 'object' && existing !== null) {
    const previous = Object.getOwnPropertyDescriptor(existing, 'gpu');
    if (Reflect.defineProperty(existing, 'gpu', { value: gpu, configurable: true, writable: true })) {
      return () => {
        if (previous) Reflect.defineProperty(existing, 'gpu', previous);
        else Reflect.deleteProperty(existing, 'gpu');
      };
    }
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return () => {
    Reflect.deleteProperty(globalThis, 'navigator');
    if (existing !== undefined) holder.navigator = existing;
  };
}

/** The device tfjs needs: the adapter's largest limits (as tfjs asks), plus useful features. */
function deviceDescriptorFor(adapter: GPUAdapter): GPUDeviceDescriptor {
  const limits = adapter.limits;
  const features = [...adapter.features].filter((feature) => optionalDeviceFeatures.has(feature));
  return {
    requiredFeatures: features as GPUFeatureName[],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  };
}

/** E.g. "nvidia-h200 (vendor nvidia, driver NVIDIA: 580.159.04); features: subgroups timestamp-query". */
function describeAdapter(info: GPUAdapterInfo | undefined, device: GPUDevice): string {
  const labelled = [
    ['vendor', info?.vendor],
    ['architecture', info?.architecture],
    ['driver', info?.description],
  ].filter((pair): pair is [string, string] => typeof pair[1] === 'string' && pair[1] !== '');
  const about = labelled.map(([label, value]) => `${label} ${value}`).join(', ');
  const name = info?.device || 'unnamed adapter';
  const features = [...device.features].filter((f) => optionalDeviceFeatures.has(f)).sort();
  return `${name}${about ? ` (${about})` : ''}; features: ${features.join(' ') || 'none'}`;
}

/** Frees the GPU device and Dawn's hold on the process. Safe to call when nothing is active. */
export function stopWebGpuBackend(): void {
  if (!active) return;
  const { device, removeNavigatorGpu } = active;
  active = undefined;
  releaseDeviceConstants();
  uninstallTensorCoreMatMul();
  uninstallWebGpuKernels();
  if (tf.engine().registryFactory['webgpu']) tf.removeBackend('webgpu');
  device.destroy();
  removeNavigatorGpu();
}

/** True for an adapter that runs shaders on the CPU: Mesa's lavapipe (llvmpipe), SwiftShader. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(info.device);
}

/** Makes `webgpu` the active tfjs backend; returns the report's detail line. */
export async function startWebGpuBackend(
  options: WebGpuOptions,
  log?: (line: string) => void,
): Promise<string> {
  stopWebGpuBackend();
  const dawn = await loadDawn();
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, … as in a browser
  const flags = dawnFlags(options);
  const choice = await adapterChoice(options);
  if (choice) flags.push(choice.flag);

  const gpu = dawn.create(flags);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  } catch (error) {
    // Dawn rejects (rather than answering null) when flags name a missing adapter or backend.
    throw new BackendUnavailableError(
      'webgpu',
      `Dawn refused the adapter request: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (adapter === null) {
    throw choosesDawnBackend(flags)
      ? new BackendUnavailableError('webgpu', `no GPU adapter for Dawn flags ${flags.join(' ')}`)
      : noAdapterError(probeVulkanLoader());
  }
  if (options.hardwareOnly && isSoftwareAdapter(adapter.info)) {
    throw new BackendUnavailableError(
      'webgpu',
      `the only adapter runs shaders on the CPU (${adapter.info.device || adapter.info.description}): slower than the cpu backends`,
    );
  }

  // tfjs-backend-webgpu looks for navigator.gpu when it is imported: set it first.
  const removeNavigatorGpu = installNavigatorGpu(gpu);
  let device: GPUDevice | undefined;
  let tracked: Pick<ActiveWebGpu, 'peaks' | 'manager' | 'bindGroups'>;
  try {
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    device = await adapter.requestDevice(deviceDescriptorFor(adapter));
    installDirectiveHoisting(device);
    void device.lost.then((lost) => {
      if (lost.reason !== 'destroyed') log?.(`webgpu device lost: ${lost.message}`);
    });
    const backend = new WebGPUBackend(device, adapter.info);
    const manager = (
      backend as unknown as {
        bufferManager: Parameters<typeof capBufferPool>[0] &
          Parameters<typeof trackBufferPeaks>[0] &
          Parameters<typeof stableBufferOrder>[0];
      }
    ).bufferManager;
    capBufferPool(manager, poolCapBytes());
    stableBufferOrder(manager);
    const bindGroups = envValue('noBindGroupCache') ? { hits: 0, misses: 0 } : cacheBindGroups(device);
    if (!envValue('noBindGroupCache')) cacheUniforms(backend as unknown as UniformMakingBackend);
    uploadByQueueWrites(backend as unknown as UploadingBackend);
    tracked = { peaks: trackBufferPeaks(manager), manager, bindGroups };
    if (tf.engine().registryFactory['webgpu']) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => backend, 3 /* tfjs's own priority for webgpu */);
    if (!(await tf.setBackend('webgpu')))
      throw new Error('tf.setBackend("webgpu") failed (see the warning above)');
  } catch (error) {
    device?.destroy();
    removeNavigatorGpu();
    throw new BackendUnavailableError('webgpu', `the GPU device could not be set up: ${firstLineOf(error)}`);
  }
  active = { device, removeNavigatorGpu, ...tracked };
  installWebGpuKernels();
  const matrix = tensorCoreShape(adapter, device);
  if (matrix) installTensorCoreMatMul(matrix, device.limits.maxComputeWorkgroupStorageSize);
  else uninstallTensorCoreMatMul();

  // A worker bound to a GPU says which adapter it got, always (the pool checks these lines).
  if (choice && options.adapterIndex === undefined)
    process.stderr.write(`${gpuBindingLine(webGpuBinding(choice, describeAdapter(adapter.info, device)))}\n`);

  const batchFlag = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
  if (tf.env().get(batchFlag) === tfjsDefaultSubmitBatchSize)
    tf.env().set(batchFlag, deferredSubmitBatchSize);
  const toggles = options.dawnToggles?.length ? `, Dawn toggles ${options.dawnToggles.join(',')}` : '';
  const tensorCores = matrix ? `, tensor cores f16 ${matrix.m}x${matrix.n}x${matrix.k}` : '';
  return (
    `${describeAdapter(adapter.info, device)}; tfjs ${tf.version.tfjs}, ` +
    `submit batch ${String(tf.env().get(batchFlag))}${toggles}${tensorCores}`
  );
}

/** The GPU device of the running webgpu backend (undefined when none runs). */
export function activeWebGpuDevice(): GPUDevice | undefined {
  return active?.device;
}

/** Bind groups the running webgpu backend reused and made (bind-groups.ts); undefined when none runs. */
export function webGpuBindGroups(): BindGroupCache | undefined {
  return active?.bindGroups;
}

/** Device memory of the running webgpu backend, in bytes (undefined when none runs). */
export interface WebGpuMemory {
  usedBytes: number;
  allocatedBytes: number;
  peakUsedBytes: number;
  peakAllocatedBytes: number;
}

/** Current and peak device memory of the webgpu backend; `reset` starts new peaks. */
export function webGpuMemory(options: { reset?: boolean } = {}): WebGpuMemory | undefined {
  if (!active) return undefined;
  const { peaks, manager } = active;
  const figures = {
    usedBytes: manager.numBytesUsed,
    allocatedBytes: manager.numBytesAllocated,
    peakUsedBytes: peaks.peakUsedBytes,
    peakAllocatedBytes: peaks.peakAllocatedBytes,
  };
  if (options.reset) peaks.reset();
  return figures;
}

/**
 * Called by `auto` before trying webgpu: on Linux without a Vulkan loader Dawn cannot find an
 * adapter, so skip it without loading Dawn (which would print "Couldn't load Vulkan").
 * Returns the error to skip with, or undefined to go ahead.
 */
export function webGpuPrecheck(options: WebGpuOptions): BackendUnavailableError | undefined {
  if (choosesDawnBackend(dawnFlags(options))) return undefined;
  const probe = probeVulkanLoader();
  return probe.found === false ? noAdapterError(probe) : undefined;
}
