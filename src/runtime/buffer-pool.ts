/**
 * A cap on tfjs-webgpu's pool of free GPU buffers.
 *
 * tfjs keeps every released buffer for reuse by exact byte size and never gives memory back.
 * A training step allocates buffers of many sizes, so the pool grows with every distinct size
 * until device memory runs out (a 48-layer GPT2-XL AdamW step failed that way on a 141 GB
 * H200). With the cap, a released buffer that would push the pool's free bytes past it is
 * destroyed instead; Dawn frees its memory once the GPU work already submitted is done.
 */
import { envValue } from '../env.js';

/** The fields of tfjs-webgpu's BufferManager this uses. */
interface BufferManagerLike {
  numBytesAllocated: number;
  numBytesUsed: number;
  releaseBuffer(buffer: { size: number }, reuse?: boolean): void;
}

/** Pool cap from LAYERCUT_WEBGPU_POOL_MB (default 32 GiB, src/env.ts). */
export function poolCapBytes(env: NodeJS.ProcessEnv = process.env): number {
  return envValue('webgpuPoolMb', env) * 1024 ** 2;
}

/** Wraps `manager.releaseBuffer` so that the free pool never holds more than `maxFreeBytes`. */
export function capBufferPool(manager: BufferManagerLike, maxFreeBytes: number): void {
  const release = manager.releaseBuffer.bind(manager);
  manager.releaseBuffer = (buffer, reuse = true) => {
    const freeBytes = manager.numBytesAllocated - manager.numBytesUsed; // pooled, not in use
    release(buffer, reuse && freeBytes + buffer.size <= maxFreeBytes);
  };
}

/** The fields of tfjs-webgpu's BufferManager the peak tracker reads and wraps. */
interface AcquiringManagerLike {
  numBytesAllocated: number;
  numBytesUsed: number;
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): unknown;
}

/** Highest device memory seen since the last reset, in bytes. */
export interface BufferPeaks {
  /** Bytes in buffers tensors (and queued uploads) were using. */
  readonly peakUsedBytes: number;
  /** Bytes allocated from the device: used plus pooled free buffers. */
  readonly peakAllocatedBytes: number;
  /** Starts a new measurement from the current figures. */
  reset(): void;
}

/** Wraps `manager.acquireBuffer` to record the highest used and allocated bytes. */
export function trackBufferPeaks(manager: AcquiringManagerLike): BufferPeaks {
  const peaks = {
    peakUsedBytes: manager.numBytesUsed,
    peakAllocatedBytes: manager.numBytesAllocated,
    reset() {
      peaks.peakUsedBytes = manager.numBytesUsed;
      peaks.peakAllocatedBytes = manager.numBytesAllocated;
    },
  };
  const acquire = manager.acquireBuffer.bind(manager);
  manager.acquireBuffer = (size, usage, mappedAtCreation, reuse) => {
    const buffer = acquire(size, usage, mappedAtCreation, reuse);
    if (manager.numBytesUsed > peaks.peakUsedBytes) peaks.peakUsedBytes = manager.numBytesUsed;
    if (manager.numBytesAllocated > peaks.peakAllocatedBytes)
      peaks.peakAllocatedBytes = manager.numBytesAllocated;
    return buffer;
  };
  return peaks;
}

/** The fields of tfjs-webgpu's BufferManager `stableBufferOrder` uses. */
interface FreeListManagerLike {
  freeBuffers: Map<string, { size: number; usage: number }[]>;
  releaseBuffer(buffer: { size: number; usage: number }, reuse?: boolean): void;
}

/**
 * Makes tfjs's pool hand out free buffers in a fixed order: of the free buffers of a size, the
 * one made first. tfjs keeps each size's free buffers as a stack, so which buffer an op gets
 * depends on the order earlier ones were freed, and that drifts from step to step; in a fixed
 * order the same ops of the next step get the same buffers, and their bind groups can be
 * reused (bind-groups.ts). Returns the order number of a buffer (for tests).
 */
export function stableBufferOrder(manager: FreeListManagerLike): (buffer: object) => number {
  const order = new WeakMap<object, number>();
  let next = 0;
  const orderOf = (buffer: object) => {
    let n = order.get(buffer);
    if (n === undefined) order.set(buffer, (n = next++));
    return n;
  };
  const release = manager.releaseBuffer.bind(manager);
  manager.releaseBuffer = (buffer, reuse = true) => {
    orderOf(buffer);
    release(buffer, reuse);
    const free = manager.freeBuffers.get(`${buffer.size}_${buffer.usage}`);
    if (!free || free.at(-1) !== buffer) return; // destroyed, not pooled
    // tfjs pops from the end: keep the list in descending order, the first-made buffer last
    const n = orderOf(buffer);
    if (free.length < 2 || orderOf(free[free.length - 2]!) > n) return; // already in place
    free.pop();
    let low = 0;
    let high = free.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (orderOf(free[mid]!) > n) low = mid + 1;
      else high = mid;
    }
    free.splice(low, 0, buffer);
  };
  return orderOf;
}
