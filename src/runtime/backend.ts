/**
 * Choosing the compute backend tfjs runs on. tfjs keeps one global "current backend"; this
 * module sets it, once, to the fastest one that works here:
 *
 *   tensorflow  TensorFlow's C library (CUDA or CPU) via the optional @tensorflow/tfjs-node[-gpu]
 *   webgpu      the GPU through Dawn (Vulkan/Metal/D3D12) and @tensorflow/tfjs-backend-webgpu
 *   wasm        XNNPACK in WebAssembly: the default on CPU-only machines
 *   cpu         plain JavaScript: slow, always there
 *
 * `auto` (the default, or LAYERCUT_BACKEND) tries them in that order and reports why each
 * earlier one was skipped. Asking for one by name fails with a BackendUnavailableError that
 * says what to install. Calling `initBackend` again with the same options returns the first
 * report without starting anything again.
 */
import * as tf from '@tensorflow/tfjs';

import { envValue } from '../env.js';
import { LayercutError } from '../errors.js';
import { gpuBindingLine, gpuIndexFromEnv, tensorflowBinding } from './adapter.js';
import { BackendUnavailableError, type ConcreteBackendName } from './backend-error.js';
import { backendNames, concreteBackendNames, type BackendName } from './backend-names.js';
import { startTensorflowBackend } from './tensorflow.js';
import { registerHostKernels } from './kernels.js';
import { startWasmBackend } from './wasm.js';
import { startWebGpuBackend, stopWebGpuBackend, webGpuPrecheck, type WebGpuOptions } from './webgpu.js';

export { BackendUnavailableError };
export type { ConcreteBackendName, WebGpuOptions };

export { backendNames, type BackendName } from './backend-names.js';

/** The order `auto` tries backends in: fastest first. */
export const autoOrder: readonly ConcreteBackendName[] = concreteBackendNames;

export interface BackendOptions {
  /** Default: LAYERCUT_BACKEND, else 'auto'. */
  backend?: BackendName;
  webgpu?: WebGpuOptions;
  /** Threads for the wasm backend's XNNPACK pool (tfjs runs it single-threaded under Node). */
  wasmThreads?: number;
  /** Where the report lines go. Default: stderr when LAYERCUT_VERBOSE is set, else nowhere. */
  log?: (line: string) => void;
}

export interface BackendReport {
  /** The backend now active in tfjs. */
  name: ConcreteBackendName;
  /** Why each backend tried before it was skipped (only `auto` skips). */
  skipped: { name: string; reason: string }[];
  /** What runs: adapter, package versions, threads. */
  detail: string;
}

/** Checks a backend name from the user (an option, LAYERCUT_BACKEND); case does not matter. */
export function parseBackendName(value: string, source = 'backend'): BackendName {
  const name = value.trim().toLowerCase();
  const known = backendNames.find((candidate) => candidate === name);
  if (known === undefined) {
    throw new LayercutError(
      `unknown backend '${value}' (from ${source})`,
      `use one of: ${backendNames.join(', ')}`,
    );
  }
  return known;
}

function requestedBackend(options: BackendOptions): BackendName {
  if (options.backend !== undefined) return parseBackendName(options.backend, 'the backend option');
  const fromEnv = envValue('backend');
  if (fromEnv !== undefined) return parseBackendName(fromEnv, 'LAYERCUT_BACKEND');
  return 'auto';
}

function defaultLog(): ((line: string) => void) | undefined {
  if (!envValue('verbose')) return undefined;
  return (line) => process.stderr.write(`${line}\n`);
}

async function startCpuBackend(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) {
    throw new BackendUnavailableError('cpu', 'tf.setBackend("cpu") failed (see the warning above)');
  }
  // The cpu backend greets its first tensor under Node with advice to install tfjs-node;
  // here cpu was chosen on purpose (and `auto` already tried tfjs-node), so mark it used.
  const cpuBackend = tf.engine().registry['cpu'] as unknown as { firstUse?: boolean } | undefined;
  if (cpuBackend && typeof cpuBackend.firstUse === 'boolean') cpuBackend.firstUse = false;
  return `tfjs-backend-cpu ${tf.version['tfjs-backend-cpu']}, plain JavaScript (slow: for tests and small checks)`;
}

/** Starts one backend and makes it current; returns its detail line. */
async function startBackend(
  name: ConcreteBackendName,
  options: BackendOptions,
  log: ((line: string) => void) | undefined,
): Promise<string> {
  switch (name) {
    case 'tensorflow':
      return startTensorflowBackend();
    case 'webgpu':
      return startWebGpuBackend(options.webgpu ?? {}, log);
    case 'wasm':
      registerHostKernels('wasm');
      return startWasmBackend(options.wasmThreads);
    case 'cpu':
      registerHostKernels('cpu');
      return startCpuBackend();
  }
}

async function selectBackend(
  requested: BackendName,
  options: BackendOptions,
  log: ((line: string) => void) | undefined,
): Promise<BackendReport> {
  if (requested !== 'auto') {
    return { name: requested, skipped: [], detail: await startBackend(requested, options, log) };
  }
  const skipped: BackendReport['skipped'] = [];
  for (const name of autoOrder) {
    try {
      const precheckFailure = name === 'webgpu' ? webGpuPrecheck(options.webgpu ?? {}) : undefined;
      if (precheckFailure) throw precheckFailure;
      // auto takes a GPU, not a driver that runs shaders on the CPU
      const chosen = { ...options, webgpu: { ...options.webgpu, hardwareOnly: true } };
      return { name, skipped, detail: await startBackend(name, chosen, log) };
    } catch (error) {
      // Only "cannot run here" moves on; a wrong option or a bug must reach the user.
      if (!(error instanceof BackendUnavailableError)) throw error;
      skipped.push({ name, reason: error.reason });
      log?.(`layercut: backend ${name} skipped: ${error.reason}`);
    }
  }
  throw new LayercutError(
    `no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
    'reinstall layercut’s dependencies (npm install)',
  );
}

/** Reports of finished selections, by options; reused while their backend is still registered. */
const reportsByOptions = new Map<string, BackendReport>();
/** Selections in progress, so concurrent identical calls share one. */
const selectionsInFlight = new Map<string, Promise<BackendReport>>();
let latestReport: BackendReport | undefined;

/** Makes `name` current again if tfjs still holds its instance. */
async function reactivate(name: ConcreteBackendName): Promise<boolean> {
  const engine = tf.engine();
  if ((engine.backendName as string | null) === name) return true;
  if (engine.registry[name] === undefined) return false;
  return tf.setBackend(name);
}

/**
 * Selects and starts the backend (see the file comment) and makes it tfjs's current one.
 * Throws BackendUnavailableError when the backend asked for by name cannot run here, and
 * LayercutError for an unknown backend name.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendReport> {
  const requested = requestedBackend(options);
  const key = JSON.stringify([requested, options.webgpu ?? {}, options.wasmThreads ?? null]);
  const known = reportsByOptions.get(key);
  if (known && (await reactivate(known.name))) {
    latestReport = known;
    return known;
  }
  let selection = selectionsInFlight.get(key);
  if (!selection) {
    const log = options.log ?? defaultLog();
    selection = selectBackend(requested, options, log).then((report) => {
      log?.(`layercut: backend ${report.name} (${report.detail})`);
      const gpu = report.name === 'tensorflow' ? gpuIndexFromEnv() : undefined; // webgpu.ts writes its own
      if (gpu !== undefined)
        process.stderr.write(`${gpuBindingLine(tensorflowBinding(gpu, report.detail))}\n`);
      return report;
    });
    selectionsInFlight.set(key, selection);
    void selection.then(
      () => selectionsInFlight.delete(key),
      () => selectionsInFlight.delete(key),
    );
  }
  const report = await selection;
  if (report.name === 'webgpu') {
    // A new webgpu start replaced the device earlier reports describe.
    for (const [otherKey, other] of reportsByOptions) {
      if (other.name === 'webgpu' && otherKey !== key) reportsByOptions.delete(otherKey);
    }
  }
  reportsByOptions.set(key, report);
  latestReport = report;
  return report;
}

/** The current tfjs backend and tfjs version, with the detail of the report that chose it. */
export function describeBackend(): string {
  const current = tf.engine().backendName as string | null;
  if (!current) return `no backend started yet (tfjs ${tf.version.tfjs}); call initBackend()`;
  const detail = latestReport?.name === current ? `: ${latestReport.detail}` : '';
  return `${current} (tfjs ${tf.version.tfjs})${detail}`;
}

/**
 * Frees GPU resources held for the webgpu backend — Dawn keeps Node from exiting while they
 * live — and forgets the reports that described them. Call it when done computing; tfjs
 * falls back to its best remaining backend for any later op.
 */
export function releaseBackend(): void {
  stopWebGpuBackend();
  for (const [key, report] of reportsByOptions) {
    if (report.name === 'webgpu') reportsByOptions.delete(key);
  }
  if (latestReport?.name === 'webgpu') latestReport = undefined;
}
