/**
 * Training precision. 'fp32' is plain float32 everywhere. 'mixed' runs matmuls on the GPU's
 * tensor cores (f16 inputs, f32 accumulation; src/runtime/tensor-core-matmul.ts) while weights,
 * optimizer state and every other op stay float32, and scales the loss so that small gradients
 * survive the f16 inputs of the backward matmuls.
 */
import type { TrainSpec } from '../plan/types.js';
import { matMulPrecision, setMatMulPrecision, type MatMulPrecision } from '../runtime/tensor-core-matmul.js';

/**
 * The loss multiplier under 'mixed' (static, as in early mixed-precision training): gradients of
 * 1e-7 become 1e-4, well inside f16's normal range, while an activation gradient would have to
 * exceed 64 to overflow f16's 65504.
 */
export const MIXED_LOSS_SCALE = 1024;

/** The loss multiplier for a training spec: 1 in fp32. */
export function lossScaleFor(spec: Pick<TrainSpec, 'precision'>): number {
  return spec.precision === 'mixed' ? MIXED_LOSS_SCALE : 1;
}

/** Runs `fn` with webgpu matmuls in `precision`, restoring the previous setting afterwards. */
export async function withMatMulPrecision<T>(precision: MatMulPrecision, fn: () => Promise<T>): Promise<T> {
  const previous = matMulPrecision();
  setMatMulPrecision(precision);
  try {
    return await fn();
  } finally {
    setMatMulPrecision(previous);
  }
}
