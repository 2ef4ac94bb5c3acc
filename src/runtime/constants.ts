/**
 * Constants that stay in device memory.
 *
 * On a GPU backend every JS number used as a tensor operand (`tf.mul(x, 0.5)`) becomes a new
 * tensor that tfjs uploads from the host before the op runs: a staging buffer and a break in
 * the GPU command stream, per use (DESIGN.md, "speed traps"). `deviceScalar(0.5)` instead
 * returns one persistent tensor per (backend, dtype, value), made on the device (`tf.fill`
 * runs as a GPU program there) and reused by every later call.
 *
 * On CPU backends (cpu, wasm, tensorflow) nothing is uploaded, so nothing is kept: the
 * helpers return a fresh tensor that the caller's `tf.tidy` disposes, and tensor counts stay
 * exactly as without them. In the plain kernel set (ops/registry.ts) they also return fresh tensors.
 *
 * Never dispose what these helpers return: use it as an operand inside `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelSet } from './ops/registry.js';

/** Backends that copy host values into device memory before a kernel can read them. */
const UPLOADING_BACKENDS: ReadonlySet<string> = new Set(['webgpu', 'webgl']);

let cachingOverride: boolean | undefined;
/** Cached constants per backend instance (a restarted backend gets a new cache). */
const cacheByBackend = new WeakMap<object, Map<string, tf.Tensor>>();
/** Every cached tensor, whichever backend holds it, for `releaseDeviceConstants`. */
const everyCached = new Set<tf.Tensor>();

/** Whether constants are kept on the device now: forced by `setConstantCaching`, else on GPU backends. */
export function cachesDeviceConstants(): boolean {
  if (cachingOverride !== undefined) return cachingOverride;
  if (kernelSet() === 'plain') return false;
  const backend = tf.engine().backendName as string | null;
  return backend !== null && UPLOADING_BACKENDS.has(backend);
}

/** Forces caching on or off (tests, benchmarks); `undefined` goes back to the per-backend rule. */
export function setConstantCaching(value: boolean | undefined): void {
  cachingOverride = value;
}

/**
 * A constant tensor by `key`: made by `make` once per backend and kept while caching is on
 * (see the file comment), else made afresh at each call. `make` must give the same values for
 * the same key; it runs inside `tf.tidy`.
 */
export function deviceConstant<T extends tf.Tensor>(key: string, make: () => T): T {
  if (!cachesDeviceConstants()) return make();
  const backend = tf.engine().backend as object;
  let cache = cacheByBackend.get(backend);
  if (!cache) {
    cache = new Map();
    cacheByBackend.set(backend, cache);
  }
  const known = cache.get(key);
  if (known && !known.isDisposed) return known as T;
  const made = tf.keep(tf.tidy(make));
  cache.set(key, made);
  everyCached.add(made);
  return made;
}

/**
 * The scalar `value` as an operand: kept on the device where uploads cost (see the file
 * comment), else a fresh `tf.scalar` (exactly what a JS number operand becomes).
 */
export function deviceScalar(value: number, dtype: 'float32' | 'int32' = 'float32'): tf.Scalar {
  if (!cachesDeviceConstants()) return tf.scalar(value, dtype);
  return deviceConstant(`scalar:${dtype}:${value}`, () => tf.fill([], value, dtype) as tf.Scalar);
}

/** How many constants are kept now, over all backends. */
export function keptConstantCount(): number {
  for (const t of everyCached) if (t.isDisposed) everyCached.delete(t);
  return everyCached.size;
}

/** Disposes every kept constant (before a backend is removed, or to return to a clean count). */
export function releaseDeviceConstants(): void {
  for (const t of everyCached) if (!t.isDisposed) t.dispose();
  everyCached.clear();
}
