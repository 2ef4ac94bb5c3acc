// The free-buffer pool cap: released buffers are pooled until the cap, destroyed past it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { capBufferPool, poolCapBytes } from '../../src/runtime/buffer-pool.js';

/** The bookkeeping of tfjs-webgpu's BufferManager.releaseBuffer, for buffers of given sizes. */
function manager(usedSizes: number[]) {
  const state = {
    numBytesAllocated: usedSizes.reduce((a, b) => a + b, 0),
    numBytesUsed: usedSizes.reduce((a, b) => a + b, 0),
    pooled: [] as number[],
    destroyed: [] as number[],
    releaseBuffer(buffer: { size: number }, reuse = true) {
      state.numBytesUsed -= buffer.size;
      if (reuse) state.pooled.push(buffer.size);
      else {
        state.destroyed.push(buffer.size);
        state.numBytesAllocated -= buffer.size;
      }
    },
  };
  return state;
}

it('pools released buffers up to the cap and destroys the rest', () => {
  const m = manager([400, 300, 200, 100]);
  capBufferPool(m, 600);
  for (const size of [400, 300, 200, 100]) m.releaseBuffer({ size });
  assert.deepEqual(m.pooled, [400, 200]); // 400 fits; 300 would make 700; 200 makes 600; 100 would make 700
  assert.deepEqual(m.destroyed, [300, 100]);
  assert.equal(m.numBytesAllocated - m.numBytesUsed, 600);
});

it('keeps tfjs’s own decision to destroy (reuse false)', () => {
  const m = manager([10]);
  capBufferPool(m, 1000);
  m.releaseBuffer({ size: 10 }, false);
  assert.deepEqual(m.destroyed, [10]);
});

it('reads the cap from LAYERCUT_WEBGPU_POOL_MB, 32 GiB by default', () => {
  assert.equal(poolCapBytes({}), 32 * 1024 ** 3);
  assert.equal(poolCapBytes({ LAYERCUT_WEBGPU_POOL_MB: '512' }), 512 * 1024 ** 2);
  assert.equal(poolCapBytes({ LAYERCUT_WEBGPU_POOL_MB: 'x' }), 32 * 1024 ** 3);
});
