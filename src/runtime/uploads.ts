/**
 * Host values uploaded with `queue.writeBuffer` on the webgpu backend.
 *
 * tfjs uploads a tensor's host values (a batch's token ids, the optimizer's per-step factors, a
 * `tf.scalar`) through a staging buffer made for each upload: `createBuffer` mapped at creation,
 * a copy into a buffer from its pool, the staging buffer destroyed after the next submit, and
 * the compute pass ended for the copy. On Dawn's Vulkan backend the buffer made and destroyed
 * costs the host more than a dozen dispatches (bench/RESULTS.md: 11 % of a GPT-2 small batch-1
 * step's main thread for 3 uploads of 4–12 bytes on an H100 machine). `queue.writeBuffer` into
 * the buffer from the pool does the same without either, and leaves the pass open.
 *
 * The order is the same: the write runs on the queue before every command submitted after it,
 * which includes those already recorded into tfjs's open command encoder (it submits them
 * later), and after everything submitted before. A buffer reaches the pool only once no recorded
 * command uses it (tfjs holds back buffers of tensors its queue uses until the next submit), so
 * the write cannot land under a command that reads the buffer's earlier contents.
 */

/** The parts of tfjs-webgpu's WebGPUBackend this uses. */
export interface UploadingBackend {
  device: GPUDevice;
  tensorMap: {
    get(
      dataId: object,
    ): { values: ArrayLike<number> | null; resource: unknown; dtype: string; shape: number[] } | undefined;
  };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uploadToGPU(dataId: object): void;
}

/** Replaces the backend's `uploadToGPU` with one that writes host values through the queue. */
export function uploadByQueueWrites(backend: UploadingBackend): void {
  const stagingUpload = backend.uploadToGPU.bind(backend);
  // tfjs's usage of a tensor's buffer (backend_webgpu.ts, uploadToGPU)
  const tensorUsage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  backend.uploadToGPU = (dataId) => {
    const data = backend.tensorMap.get(dataId);
    if (!data || data.resource != null || !data.values) return stagingUpload(dataId);
    if (data.dtype !== 'float32' && data.dtype !== 'int32' && data.dtype !== 'bool')
      return stagingUpload(dataId);
    const values =
      data.dtype === 'float32'
        ? data.values instanceof Float32Array
          ? data.values
          : Float32Array.from(data.values)
        : data.values instanceof Int32Array
          ? data.values
          : Int32Array.from(data.values);
    const buffer = backend.bufferManager.acquireBuffer(values.byteLength, tensorUsage);
    if (values.byteLength > 0) backend.device.queue.writeBuffer(buffer, 0, values);
    data.values = null; // as tfjs: once uploaded, the host copy goes
    data.resource = buffer;
  };
}
