// matMulBias and addLowRank (src/runtime/ops/linear.ts): x·W + b and a LoRA update with tfjs's
// numbers, keeping only what their gradients read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { variableGrads } from '../../src/runtime/gradients.js';
import { addLowRank, matMulBias } from '../../src/runtime/ops/linear.js';
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

describe('addLowRank', () => {
  const rank = 3;
  const make = (shape: number[], seed: number, name: string) =>
    tf.variable(tf.randomNormal(shape, 0, 1, 'float32', seed), true, name);

  for (const scale of [1, 2]) {
    it(`equals matMul + ${scale === 1 ? '' : 'mul + '}add in value and gradients, with tfjs's and layercut's backward`, async () => {
      const product = make([rows, outFeatures], 1, `product${scale}`);
      const low = make([rows, rank], 2, `low${scale}`);
      const b = make([outFeatures, rank], 3, `b${scale}`);
      const scaling = scale === 1 ? undefined : tf.scalar(scale);
      const r = tf.randomNormal([rows, outFeatures], 0, 1, 'float32', 4);
      const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(f(), r)) as tf.Scalar;
      const separate = () => {
        const update = tf.matMul(low, b, false, true);
        return tf.add(product, scaling ? tf.mul(update, scaling) : update);
      };
      const fused = () => addLowRank(product as tf.Tensor2D, low as tf.Tensor2D, b as tf.Tensor2D, scaling);
      const expected = tf.variableGrads(loss(separate), [product, low, b]);
      for (const grads of [tf.variableGrads, variableGrads]) {
        const actual = grads(loss(fused), [product, low, b]);
        assert.deepEqual(await actual.value.data(), await expected.value.data());
        for (const v of [product, low, b])
          assert.deepEqual(await actual.grads[v.name]!.data(), await expected.grads[v.name]!.data(), v.name);
        tf.dispose([actual.value, ...Object.values(actual.grads)]);
      }
      tf.dispose([product, low, b, r, expected.value, ...Object.values(expected.grads), scaling ?? []]);
    });
  }

  it('keeps only low and B (and the scaling) once the forward pass is done: not the [N, out] product and update', () => {
    const x = make([rows, inFeatures], 1, 'x-lowrank');
    const w = make([inFeatures, outFeatures], 2, 'w-lowrank');
    const a = make([rank, inFeatures], 3, 'a-lowrank');
    const b = make([outFeatures, rank], 4, 'b-lowrank');
    const scaling = tf.scalar(2);
    const heldAfterForward = (update: (product: tf.Tensor2D, low: tf.Tensor2D) => tf.Tensor) => {
      let held = 0;
      const { value, grads } = variableGrads(() => {
        // in its own tidy, as src/models/layers.ts runs a projection
        const y = tf.tidy(() => update(tf.matMul(x, w), tf.matMul(x, a, false, true)));
        held = tf.memory().numDataBuffers;
        return tf.sum(y) as tf.Scalar;
      }, [a, b]);
      tf.dispose([value, ...Object.values(grads)]);
      return held;
    };
    const separate = heldAfterForward((product, low) =>
      tf.add(product, tf.mul(tf.matMul(low, b, false, true), scaling)),
    );
    const fused = heldAfterForward((product, low) => addLowRank(product, low, b as tf.Tensor2D, scaling));
    // tfjs's add keeps the product and the scaled update, its mul the update: three [N, out] buffers
    assert.equal(separate - fused, 3);
    tf.dispose([x, w, a, b, scaling]);
  });
});

describe('gradients asked for', () => {
  it('matMulBias computes no gradient for a weight and bias that are not differentiated', async () => {
    const x = tf.variable(tf.randomNormal([rows, inFeatures], 0, 1, 'float32', 1), true, 'x-asked');
    const w = tf.variable(tf.randomNormal([inFeatures, outFeatures], 0, 1, 'float32', 2), false, 'w-frozen');
    const b = tf.variable(tf.randomNormal([outFeatures], 0, 1, 'float32', 3), false, 'b-frozen');
    const profile = await tf.profile(() => {
      const { value, grads } = variableGrads(
        () => tf.sum(matMulBias(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, false)) as tf.Scalar,
        [x],
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    // what each kernel made (Identity: the clones that keep x and W for backward)
    const shapes = profile.kernels
      .filter((k) => k.name !== 'Identity')
      .flatMap((k) => k.outputShapes.map((shape) => `${k.name} ${String(shape)}`));
    assert.ok(
      shapes.includes(`BatchMatMul ${String([rows, inFeatures])}`),
      `dx is computed: ${shapes.join(' | ')}`,
    );
    assert.ok(
      !shapes.includes(`BatchMatMul ${String([inFeatures, outFeatures])}`),
      `no dW: ${shapes.join(' | ')}`,
    );
    assert.ok(!shapes.includes(`Sum ${String([outFeatures])}`), `no db: ${shapes.join(' | ')}`);
    tf.dispose([x, w, b]);
  });
});
