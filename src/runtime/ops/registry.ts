/**
 * The one place where layercut chooses how its ops are computed.
 *
 * Model and training code call backend-blind ops (`layerNorm`, `geluTanh`, `selfAttention`,
 * `matMulBias`, `crossEntropy`, …, in this folder). Each op is defined once, with `defineOp`, as a
 * set of kernels, one per kernel set, and `kernelSet()` picks the set at each call (as tfjs picks
 * a registered kernel by backend behind `tf.matMul`):
 *
 *   webgpu   layercut's fused WGSL programs (src/runtime/fused/, attention/flash.ts) on the
 *            webgpu backend; an op whose program does not take the given shapes or dtypes
 *            falls back to its tfjs kernel
 *   tfjs     tfjs ops with analytic gradients and device constants: every other backend, and
 *            webgpu under LAYERCUT_NO_FUSED_KERNELS=1
 *   plain    the plain tfjs formulations those replaced (tf.moments, JS numbers as operands),
 *            a benchmark device: LAYERCUT_PLAIN_OPS=1 or `setPlainOps(true)` (flags.ts) selects
 *            it to compare speed and results; an op without a plain kernel uses its tfjs one
 *
 * All three give the same results up to float32 rounding (test/runtime/fast-ops.test.ts on the
 * CPU, bench/gpu-checks.ts on a GPU).
 */
import * as tf from '@tensorflow/tfjs';
import { envValue } from '../../env.js';
import { plainOps } from '../flags.js';

export type KernelSet = 'webgpu' | 'tfjs' | 'plain';

/** The kernel set in force now: plain under the bench switch, webgpu on webgpu unless opted out, else tfjs. */
export function kernelSet(): KernelSet {
  if (plainOps()) return 'plain';
  if (tf.getBackend() === 'webgpu' && !envValue('noFusedKernels')) return 'webgpu';
  return 'tfjs';
}

/**
 * An op's kernels. `tfjs` computes it anywhere; `webgpu` returns undefined where its program does
 * not take the arguments (the tfjs kernel runs then); `plain` defaults to `tfjs`.
 */
export interface OpKernels<Args extends unknown[], Result> {
  tfjs: (...args: Args) => Result;
  webgpu?: (...args: Args) => Result | undefined;
  plain?: (...args: Args) => Result;
}

const registered = new Map<string, KernelSet[]>();

/** The op `name` as a function that runs the kernel of the set in force (see the file comment). */
export function defineOp<Args extends unknown[], Result>(
  name: string,
  kernels: OpKernels<Args, Result>,
): (...args: Args) => Result {
  if (registered.has(name)) throw new Error(`internal: op '${name}' is defined twice`);
  registered.set(
    name,
    (['webgpu', 'tfjs', 'plain'] as const).filter((set) => kernels[set] !== undefined),
  );
  const { tfjs, webgpu, plain } = kernels;
  return (...args: Args): Result => {
    const set = kernelSet();
    if (set === 'webgpu' && webgpu) return webgpu(...args) ?? tfjs(...args);
    if (set === 'plain' && plain) return plain(...args);
    return tfjs(...args);
  };
}

/** Every op defined so far with the kernel sets it has its own kernel for, by name. */
export function registeredOps(): ReadonlyMap<string, readonly KernelSet[]> {
  return registered;
}
