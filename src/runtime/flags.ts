/**
 * Switches for the GPU-speed measures of issue 9.
 *
 * `LAYERCUT_PLAIN_OPS=1` (or `setPlainOps(true)`) makes layercut use the plain tfjs
 * formulations those measures replaced, to compare speed and results of both on one machine:
 *
 *   plain                                         fast (the default)
 *   LayerNorm/RMSNorm through tf.moments/tf.mean  analytic gradients, no host arrays
 *   activations from tfjs ops and JS numbers      analytic gradients, device constants
 *   JS numbers as tensor operands                 persistent device scalars (constants.ts)
 *   AdamW/SGD with numbers as operands            kept constants, one upload per step
 *   the training loss read back every step        read back in groups (readback.ts)
 *
 * Both give the same results up to float32 rounding. Nothing outside the runtime reads the
 * switch: `kernelSet()` (ops/registry.ts) turns it into the plain kernel set, which the ops
 * (the optimizers' updates among them), device constants, gradients and read-back consult.
 */
import { envValue } from '../env.js';

let plainOverride: boolean | undefined;

/** Whether the plain (pre-issue-9) code paths are in force: `setPlainOps`, else LAYERCUT_PLAIN_OPS. */
export function plainOps(): boolean {
  return plainOverride ?? envValue('plainOps');
}

/** Forces the plain (true) or fast (false) paths; `undefined` goes back to LAYERCUT_PLAIN_OPS. */
export function setPlainOps(value: boolean | undefined): void {
  plainOverride = value;
}

/** Runs `fn` with the plain or fast paths forced, restoring the previous setting afterwards. */
export async function withPlainOps<T>(value: boolean, fn: () => Promise<T>): Promise<T> {
  const previous = plainOverride;
  plainOverride = value;
  try {
    return await fn();
  } finally {
    plainOverride = previous;
  }
}
