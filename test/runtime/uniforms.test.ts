// Reused uniform buffers on the webgpu backend (src/runtime/uniforms.ts), on Dawn's null device (a
// WebGPU device without a GPU: the host side of every dispatch runs, nothing executes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { cacheUniforms, type UniformMakingBackend } from '../../src/runtime/uniforms.js';
import { activeWebGpuDevice, webGpuBindGroups } from '../../src/runtime/webgpu.js';
import { onNullDevice } from '../helpers/runtime.js';
import { tinyGpt2AdamWSteps } from '../helpers/tiny-gpt2.js';

const watch = onNullDevice();

type Uniform = { type: 'float32' | 'int32'; data: number[] };
const uniforms = (...values: [Uniform['type'], number][]): Uniform[] =>
  values.map(([type, value]) => ({ type, data: [value] }));

describe('uniform buffers', () => {
  it('the same values get the same buffer; other values, types or −0 another', () => {
    const backend = tf.backend() as unknown as UniformMakingBackend;
    const make = (u: Uniform[]) => backend.makeUniforms(u).buffer;
    const a = make(uniforms(['float32', 1.5], ['int32', 7]));
    assert.equal(make(uniforms(['float32', 1.5], ['int32', 7])), a);
    const others = [
      make(uniforms(['float32', 1.5], ['int32', 8])),
      make(uniforms(['int32', 1.5], ['int32', 7])),
      make(uniforms(['float32', 0])),
      make(uniforms(['float32', -0])),
    ];
    assert.equal(new Set([a, ...others]).size, 5);
  });

  it('a full cache gives its buffers back to the pool after the next submit, not at once', () => {
    const backend = new WebGPUBackend(activeWebGpuDevice()!);
    try {
      const internals = backend as unknown as UniformMakingBackend;
      const cache = cacheUniforms(internals, 2);
      const first = internals.makeUniforms(uniforms(['float32', 1])).buffer;
      const second = internals.makeUniforms(uniforms(['float32', 2])).buffer;
      assert.deepEqual(internals.uniformPendingDisposal, []); // kept, not returned after the submit
      internals.makeUniforms(uniforms(['float32', 3]));
      assert.deepEqual(internals.uniformPendingDisposal, [first, second]);
      assert.notEqual(internals.makeUniforms(uniforms(['float32', 1])).buffer, undefined);
      assert.deepEqual([cache.hits, cache.misses], [0, 4]);
    } finally {
      backend.dispose();
    }
  });

  it('a GPT-2 training step writes no uniforms once the steps before it have', async () => {
    const { step, dispose } = await tinyGpt2AdamWSteps();
    const queue = activeWebGpuDevice()!.queue;
    const writeBuffer = queue.writeBuffer;
    let writes = 0;
    queue.writeBuffer = function (this: GPUQueue, ...args: Parameters<GPUQueue['writeBuffer']>) {
      // uniform buffers only: host values go up by queue writes too (uploads.ts)
      if (args[0].usage & GPUBufferUsage.UNIFORM) writes++;
      return writeBuffer.apply(this, args);
    } as GPUQueue['writeBuffer'];
    const bindGroups = webGpuBindGroups()!;
    try {
      const { errors } = await watch().check('training steps', async () => {
        for (let i = 0; i < 3; i++) await step(1e-3);
        const [writesBefore, madeBefore] = [writes, bindGroups.misses];
        await step(5e-4); // another learning rate: AdamW's per-step values are a tensor, not uniforms
        assert.equal(writes - writesBefore, 0);
        assert.equal(bindGroups.misses - madeBefore, 0);
      });
      assert.deepEqual(errors, [], errors.join('\n'));
    } finally {
      queue.writeBuffer = writeBuffer;
      dispose();
    }
  });
});
