// matMulBias (src/runtime/ops/linear.ts): x·W + b with tfjs's numbers, keeping only x and W for backward.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { variableGrads } from '../../src/runtime/gradients.js';
import { matMulBias } from '../../src/runtime/ops/linear.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

const [rows, inFeatures, outFeatures] = [37, 24, 40];

describe('matMulBias', () => {
  for (const transposeWeight of [false, true]) {
    it(`equals matMul + add in value and gradients${transposeWeight ? ' (weight stored [out, in])' : ''}`, async () => {
      const x = tf.variable(
        tf.randomNormal([rows, inFeatures], 0, 1, 'float32', 1),
        true,
        `x${transposeWeight}`,
      );
      const w = tf.variable(
        tf.randomNormal(
          transposeWeight ? [outFeatures, inFeatures] : [inFeatures, outFeatures],
          0,
          1,
          'float32',
          2,
        ),
        true,
        `w${transposeWeight}`,
      );
      const b = tf.variable(tf.randomNormal([outFeatures], 0, 1, 'float32', 3), true, `b${transposeWeight}`);
      const r = tf.randomNormal([rows, outFeatures], 0, 1, 'float32', 4);
      const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(f(), r)) as tf.Scalar;
      const expected = tf.variableGrads(
        loss(() => tf.add(tf.matMul(x, w, false, transposeWeight), b)),
        [x, w, b],
      );
      const actual = tf.variableGrads(
        loss(() => matMulBias(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, transposeWeight)),
        [x, w, b],
      );
      assert.deepEqual(await actual.value.data(), await expected.value.data());
      for (const v of [x, w, b])
        assert.deepEqual(await actual.grads[v.name]!.data(), await expected.grads[v.name]!.data(), v.name);
      tf.dispose([
        x,
        w,
        b,
        r,
        expected.value,
        actual.value,
        ...Object.values(expected.grads),
        ...Object.values(actual.grads),
      ]);
    });
  }

  it('frees the product before the bias once the forward pass is done', () => {
    const x = tf.variable(tf.randomNormal([rows, inFeatures]), true, 'x-kept');
    const w = tf.variable(tf.randomNormal([inFeatures, outFeatures]), true, 'w-kept');
    const b = tf.variable(tf.zeros([outFeatures]), true, 'b-kept');
    /** Buffers held when `f`'s forward pass ends, inside a gradient computation (a tensor's
     * clones share its buffer; tf.memory().numBytes would count them again). */
    const heldAfterForward = (f: () => tf.Tensor) => {
      let held = 0;
      const { value, grads } = variableGrads(() => {
        const y = f();
        held = tf.memory().numDataBuffers;
        return tf.sum(y) as tf.Scalar;
      }, [x, w, b]);
      tf.dispose([value, ...Object.values(grads)]);
      return held;
    };
    const separate = heldAfterForward(() => tf.add(tf.matMul(x, w), b));
    const fused = heldAfterForward(() =>
      matMulBias(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, false),
    );
    // tfjs's add keeps its inputs, the [rows, out] product among them; here only the result is left
    assert.equal(separate - fused, 1);
    tf.dispose([x, w, b]);
  });
});
