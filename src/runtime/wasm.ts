/**
 * The `wasm` backend (`@tensorflow/tfjs-backend-wasm`, XNNPACK compiled to WebAssembly): the
 * default on machines without a GPU, far faster than the plain JavaScript `cpu` backend.
 * Under Node the .wasm binaries are read from the package's own dist folder.
 *
 * Threads: tfjs turns WebAssembly threads off under Node (its threaded build starts workers
 * from blob: URLs, which Node's worker_threads refuse), so the backend runs single-threaded;
 * `wasmThreads` is passed on and takes effect where tfjs enables threads.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { BackendUnavailableError, firstLineOf } from './backend-error.js';

const wasmPackage = '@tensorflow/tfjs-backend-wasm';

/** The folder holding `tfjs-backend-wasm*.wasm`, ending with '/' as `setWasmPaths` wants. */
export function wasmBinariesDir(): string {
  const entry = createRequire(import.meta.url).resolve(wasmPackage); // …/dist/tf-backend-wasm.node.js
  return `${path.dirname(entry)}/`;
}

/** Makes `wasm` the active tfjs backend; returns the report's detail line. */
export async function startWasmBackend(threads: number | undefined): Promise<string> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  let binariesDir: string;
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    binariesDir = wasmBinariesDir();
  } catch (error) {
    throw new BackendUnavailableError(
      'wasm',
      `${wasmPackage} could not be loaded: ${firstLineOf(error)}`,
      `reinstall layercut's dependencies (npm install), or use --backend cpu`,
    );
  }
  // Paths and threads are read once, when the backend instance is created.
  const alreadyStarted = tf.engine().registry['wasm'] !== undefined;
  if (!alreadyStarted) {
    wasm.setWasmPaths(binariesDir);
    if (threads !== undefined) wasm.setThreadsCount(threads);
  }
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailableError(
      'wasm',
      `the WebAssembly module in ${binariesDir} failed to start (see the warning above)`,
      'use --backend cpu',
    );
  }
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threadCount = wasm.getThreadsCount();
  const threadNote =
    threads !== undefined && threads !== threadCount
      ? ` (asked for ${threads}; tfjs runs wasm single-threaded under Node)`
      : '';
  return (
    `${wasmPackage} ${wasm.version_wasm}, tfjs ${tf.version.tfjs}, ` +
    `${simd ? 'SIMD' : 'no SIMD'}, ${threadCount} thread${threadCount === 1 ? '' : 's'}${threadNote}`
  );
}
