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
  const peaks = { used: manager.numBytesUsed, allocated: manager.numBytesAllocated };
  const acquire = manager.acquireBuffer.bind(manager);
  manager.acquireBuffer = (size, usage, mappedAtCreation, reuse) => {
    const buffer = acquire(size, usage, mappedAtCreation, reuse);
    if (manager.numBytesUsed > peaks.used) peaks.used = manager.numBytesUsed;
    if (manager.numBytesAllocated > peaks.allocated) peaks.allocated = manager.numBytesAllocated;
    return buffer;
  };
  return {
    get peakUsedBytes() {
      return peaks.used;
    },
    get peakAllocatedBytes() {
      return peaks.allocated;
    },
    reset() {
      peaks.used = manager.numBytesUsed;
      peaks.allocated = manager.numBytesAllocated;
    },
  };
}
