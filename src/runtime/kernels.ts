/**
 * Kernels layercut adds to tfjs's CPU backends.
 *
 * `UnsortedSegmentSum` is the gradient of `gather` (an embedding lookup): it scatter-adds the
 * rows of dy into a [V, D] table. tfjs's `cpu` kernel runs one masked reduction per segment
 * (50,257 of them for GPT-2: a minute per training step) and `wasm` has none, so training an
 * embedding is impossible there. This one is a single O(N·D) pass over the rows.
 */
import * as tf from '@tensorflow/tfjs';

type Values = Float32Array | Int32Array;

/** The parts of the cpu and wasm backends this kernel touches. */
interface HostBackend {
  readSync(dataId: object): unknown;
  makeOutput?(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Values): tf.TensorInfo;
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values?: Values): tf.TensorInfo;
}

/** out[segment[i], :] += x[i, :] for every row i of x (segments of −1 or ≥ numSegments are dropped). */
export function segmentSumRows(
  x: Float32Array,
  rowWidth: number,
  segments: Int32Array,
  numSegments: number,
): Float32Array {
  const out = new Float32Array(numSegments * rowWidth);
  for (let row = 0; row < segments.length; row++) {
    const segment = segments[row]!;
    if (segment < 0 || segment >= numSegments) continue;
    const from = row * rowWidth;
    const to = segment * rowWidth;
    for (let j = 0; j < rowWidth; j++) out[to + j]! += x[from + j]!;
  }
  return out;
}

const segmentSumKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const host = backend as unknown as HostBackend;
  const x = inputs['x'] as tf.TensorInfo;
  const segmentIds = inputs['segmentIds'] as tf.TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const rowWidth = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const values = Float32Array.from(host.readSync(x.dataId) as ArrayLike<number>);
  const segments = Int32Array.from(host.readSync(segmentIds.dataId) as ArrayLike<number>);
  const out = segmentSumRows(values, rowWidth, segments, numSegments);
  const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  if (host.makeTensorInfo) return host.makeTensorInfo(shape, 'float32', out);
  return host.makeOutput!(shape, 'float32', undefined, out);
};

/** Registers the kernel for `backendName` (replacing tfjs's own); safe to call repeatedly. */
export function registerHostKernels(backendName: 'cpu' | 'wasm'): void {
  const existing = tf.getKernel('UnsortedSegmentSum', backendName);
  if (existing?.kernelFunc === segmentSumKernel) return;
  if (existing) tf.unregisterKernel('UnsortedSegmentSum', backendName);
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: segmentSumKernel });
}
