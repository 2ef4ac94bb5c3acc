/**
 * Per-forward tensors made from the attention mask, each one WebGPU program instead of a chain of
 * tfjs ops (whatever the depth, they run once per forward pass; at batch 1 every dispatch is host
 * time). Masks are int32 [B, T] with 1 for real tokens.
 *
 *   positions [B, T] int32 = (Σ_{s ≤ t} mask[b, s] − 1) · mask[b, t] + offset
 *             (tfjs: cumsum in log₂ T passes, a subtraction, a product, an addition)
 *   causal bias [B, 1, T, T] = 0 where key ≤ query and mask[b, key] = 1, else −1e9
 *             (tfjs: a cast, a product with the kept lower triangle, a subtraction, a product)
 *
 * The same values as `positionsFromMask` and `causalMaskBias` in src/runtime/ops/masks.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram, runProgram } from './program.js';

/** positions [B, T] from mask [B, T] (int32), plus `offset`. */
export function fusedPositions(mask: tf.Tensor2D, offset: number): tf.Tensor2D {
  const program = new ElementwiseProgram(
    mask.shape,
    ['mask'],
    'layercutPositions',
    `    let T = uniforms.maskShape.y;
    let first = (index / T) * T;
    var count = 0;
    for (var s = first; s <= index; s = s + 1) {
      count = count + mask[s];
    }
    result[index] = (count - 1) * mask[index] + uniforms.offset;`,
  );
  program.uniforms = 'offset : i32,';
  return runProgram(program, [mask], [{ type: 'int32', data: [offset] }], 'int32') as tf.Tensor2D;
}

/** The additive causal bias [B, 1, T, T] from mask [B, T] (int32); `masked` is the value of a masked logit. */
export function fusedCausalBias(mask: tf.Tensor2D, masked: number): tf.Tensor4D {
  const [batch, seq] = mask.shape;
  const program = new ElementwiseProgram(
    [batch, 1, seq, seq],
    ['mask'],
    'layercutCausalBias',
    `    let T = uniforms.maskShape.y;
    let key = index % T;
    let query = (index / T) % T;
    let b = index / (T * T);
    let allowed = key <= query && mask[b * T + key] == 1;
    result[index] = select(uniforms.masked, 0.0, allowed);`,
  );
  program.uniforms = 'masked : f32,';
  return runProgram(program, [mask], [{ type: 'float32', data: [masked] }]) as tf.Tensor4D;
}
