// Host values reach the GPU through queue.writeBuffer (src/runtime/uploads.ts), on Dawn's null
// device: no staging buffer made and destroyed per upload, the compute pass left open. (That the
// values arrive is checked where WGSL executes: npm run test:lavapipe, and every GPU check.)
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { activeWebGpuDevice } from '../../src/runtime/webgpu.js';
import { onNullDevice } from '../helpers/runtime.js';

const watch = onNullDevice();

it('uploads float32, int32 and bool host values without a buffer made for each', async () => {
  const device = activeWebGpuDevice()!;
  const onDevice = tf.tidy(() => tf.fill([3], 0)); // a program's output: on the device already
  await onDevice.data();
  const create = device.createBuffer.bind(device);
  const made: GPUBufferDescriptor[] = [];
  device.createBuffer = (descriptor) => (made.push(descriptor), create(descriptor));
  const writes: number[] = [];
  const write = device.queue.writeBuffer.bind(device.queue) as (...args: unknown[]) => undefined;
  (device.queue as { writeBuffer: unknown }).writeBuffer = (
    buffer: GPUBuffer,
    offset: number,
    data: ArrayBufferView,
  ) => (writes.push(data.byteLength), write(buffer, offset, data));
  try {
    const { errors } = await watch().check('uploads', async () => {
      // warm: the pool gets a buffer of each size, as the first step of a run does
      for (let round = 0; round < 2; round++) {
        made.length = 0;
        writes.length = 0;
        const sums = tf.tidy(() => [
          tf.add(tf.tensor1d([1.5, -2, 3]), onDevice),
          tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.cast(onDevice, 'int32')),
          tf.logicalAnd(tf.tensor1d([true, false, true], 'bool'), tf.cast(onDevice, 'bool')),
        ]);
        await Promise.all(sums.map((t) => t.data()));
        tf.dispose(sums);
      }
    });
    assert.deepEqual(errors, [], errors.join('\n'));
    // the second round: every buffer from the pool, each upload one queue write of its 12 bytes
    assert.deepEqual(
      made.filter((d) => d.mappedAtCreation),
      [],
      made.map((d) => `${d.size} bytes, usage ${d.usage}`).join('; '),
    );
    assert.deepEqual(writes.filter((bytes) => bytes === 12).length, 3, writes.join(', '));
  } finally {
    device.createBuffer = create;
    (device.queue as { writeBuffer: unknown }).writeBuffer = write;
    onDevice.dispose();
  }
});
