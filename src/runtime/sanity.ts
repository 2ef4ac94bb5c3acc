/**
 * A quick check that the current backend computes: one small matmul compared with the same
 * product computed in plain JavaScript. The inputs are small multiples of 1/4 and 1/8, so
 * every product and partial sum is exact in float32 (and TF32): any error means a broken
 * backend, not rounding.
 */
import * as tf from '@tensorflow/tfjs';

export interface MatmulCheck {
  /** The tfjs backend that computed it. */
  backend: string;
  /** Square matrices of this size were multiplied. */
  size: number;
  maxAbsError: number;
  ok: boolean;
  /** Wall time of the backend's matmul including the read back. */
  milliseconds: number;
}

/** Entry (i, j) of the left input: values -5/4 … 5/4. */
function leftEntry(i: number, j: number): number {
  return (((i * 7 + j * 3) % 11) - 5) / 4;
}

/** Entry (i, j) of the right input: values -6/8 … 6/8. */
function rightEntry(i: number, j: number): number {
  return (((i * 5 + j * 2) % 13) - 6) / 8;
}

function filled(size: number, entry: (i: number, j: number) => number): Float32Array {
  const values = new Float32Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) values[i * size + j] = entry(i, j);
  return values;
}

/** Multiplies two size×size matrices on the current backend and checks every entry. */
export async function checkMatmul(size = 64): Promise<MatmulCheck> {
  const left = filled(size, leftEntry); // [size, size], row-major
  const right = filled(size, rightEntry); // [size, size]
  const started = performance.now();
  const product = tf.tidy(() => tf.matMul(tf.tensor2d(left, [size, size]), tf.tensor2d(right, [size, size])));
  const computed = await product.data(); // [size * size]
  const milliseconds = performance.now() - started;
  product.dispose();

  let maxAbsError = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let expected = 0;
      for (let k = 0; k < size; k++) expected += leftEntry(i, k) * rightEntry(k, j);
      maxAbsError = Math.max(maxAbsError, Math.abs((computed[i * size + j] ?? Number.NaN) - expected));
    }
  }
  // NaN compares false: a NaN anywhere fails the check.
  const ok = maxAbsError <= 1e-4;
  return { backend: tf.getBackend(), size, maxAbsError, ok, milliseconds };
}
