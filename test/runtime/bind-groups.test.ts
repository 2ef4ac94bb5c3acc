// Stable buffers and reused bind groups on the webgpu backend, on Dawn's null device (a WebGPU
// device without a GPU: the host side of every dispatch runs, nothing executes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { cacheBindGroups } from '../../src/runtime/bind-groups.js';
import { activeWebGpuDevice, webGpuBindGroups } from '../../src/runtime/webgpu.js';
import { tinyGpt2AdamWSteps } from '../helpers/tiny-gpt2.js';
import { onNullDevice } from '../helpers/runtime.js';

const watch = onNullDevice();

/** tfjs's buffer manager, as far as these checks use it. */
interface Manager {
  acquireBuffer(size: number, usage: number): GPUBuffer;
  releaseBuffer(buffer: GPUBuffer): void;
}

describe('the webgpu buffer pool', () => {
  it('hands out the free buffer made first, whatever order buffers were freed in', () => {
    const manager = (tf.backend() as unknown as { bufferManager: Manager }).bufferManager;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const size = 4 * 7919; // a size no tensor of these tests has
    const [a, b, c] = [0, 1, 2].map(() => manager.acquireBuffer(size, usage));
    for (const buffer of [b!, c!, a!]) manager.releaseBuffer(buffer);
    const again = [0, 1, 2].map(() => manager.acquireBuffer(size, usage));
    assert.deepEqual(again, [a, b, c]); // tfjs's own stack would give a, c, b
    for (const buffer of again) manager.releaseBuffer(buffer);
  });
});

describe('bind groups', () => {
  it('the same layout, buffers and ranges get the same bind group; another range or a full cache another', () => {
    const device = activeWebGpuDevice()!;
    const wrapped = device.createBindGroup;
    try {
      const cache = cacheBindGroups(device, 3); // a second cache in front of the backend's, for its own counts
      const pipeline = device.createComputePipeline({
        layout: 'auto',
        compute: {
          module: device.createShaderModule({
            code: `@group(0) @binding(0) var<storage, read_write> out : array<f32>;
@group(0) @binding(1) var<uniform> u : vec4<f32>;
@compute @workgroup_size(1) fn main() { out[0] = u.x; }`,
          }),
          entryPoint: 'main',
        },
      });
      const layout = pipeline.getBindGroupLayout(0);
      const storage = [0, 1].map(() => device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE }));
      const uniform = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM });
      const group = (out: GPUBuffer, size: number) =>
        device.createBindGroup({
          layout,
          entries: [
            { binding: 0, resource: { buffer: out } },
            { binding: 1, resource: { buffer: uniform, offset: 0, size } },
          ],
        });
      const a = group(storage[0]!, 16);
      assert.equal(group(storage[0]!, 16), a);
      assert.equal(pipeline.getBindGroupLayout(0), layout); // one layout object per pipeline
      const others = [group(storage[1]!, 16), group(storage[0]!, 32)];
      assert.equal(new Set([a, ...others]).size, 3);
      assert.deepEqual([cache.hits, cache.misses], [1, 3]);
      // (identities past this point would come from the backend's own cache, beneath this one)
      group(storage[1]!, 32); // a fourth: the cache of 3 is full and starts again
      group(storage[0]!, 16); // made again
      group(storage[0]!, 16); // and found
      assert.deepEqual([cache.hits, cache.misses], [2, 5]);
    } finally {
      device.createBindGroup = wrapped;
    }
  });

  it('a GPT-2 training step makes no bind group once the steps before it have', async () => {
    const { step, dispose } = await tinyGpt2AdamWSteps();
    const cache = webGpuBindGroups()!;
    const { errors } = await watch().check('training steps', async () => {
      for (let i = 0; i < 3; i++) await step(1e-3);
      const [hits, misses] = [cache.hits, cache.misses];
      await step(1e-3);
      // every dispatch of the fourth step found its bind group (tfjs asks for one per dispatch)
      assert.equal(cache.misses, misses);
      assert.ok(cache.hits - hits > 100, `${cache.hits - hits} bind groups reused in a step`);
    });
    assert.deepEqual(errors, [], errors.join('\n'));
    dispose();
  });
});
