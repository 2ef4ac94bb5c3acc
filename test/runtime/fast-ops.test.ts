// The fast building blocks (analytic gradients, device constants) equal the plain tfjs
// formulations they replace: values and gradients on the cpu backend, to 1e-6.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { activation } from '../../src/models/layers.js';
import { attention } from '../../src/runtime/ops/attention.js';
import { causalMaskBias, paddingMaskBias, positionsFromMask } from '../../src/runtime/ops/masks.js';
import { layerNorm, rmsNorm } from '../../src/runtime/ops/norms.js';
import {
  keptConstantCount,
  releaseDeviceConstants,
  setConstantCaching,
} from '../../src/runtime/constants.js';
import { countHostTensors } from '../../src/runtime/host-tensors.js';
import { setPlainOps } from '../../src/runtime/flags.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

/** max |a − b| over two lists of tensors of equal shapes. */
function maxDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  a.forEach((t, i) => {
    assert.deepEqual(t.shape, b[i]!.shape);
    worst = Math.max(
      worst,
      tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!),
    );
  });
  return worst;
}

/**
 * Value and gradients of f(inputs) with a random upstream gradient (Σ f · w), once on the
 * fast path and once on the plain one; `cached` also keeps constants as on a GPU.
 */
function fastAndPlain(
  f: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  cached: boolean,
): { fast: tf.Tensor[]; plain: tf.Tensor[] } {
  const run = (plain: boolean) => {
    setPlainOps(plain);
    setConstantCaching(plain ? false : cached);
    try {
      const value = tf.tidy(() => f(...inputs));
      const weights = tf.randomNormal(value.shape, 0, 1, 'float32', 3);
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), weights)))(inputs);
      weights.dispose();
      return [value, ...grads];
    } finally {
      setPlainOps(undefined);
      setConstantCaching(undefined);
    }
  };
  return { fast: run(false), plain: run(true) };
}

const x = () => tf.randomNormal([2, 5, 16], 0, 1.5, 'float32', 1);
const vector = (seed: number) => tf.randomNormal([16], 0, 1, 'float32', seed);

describe('fast building blocks equal the plain ones (values and gradients)', () => {
  for (const cached of [false, true]) {
    const where = cached ? 'constants kept as on a GPU' : 'fresh constants as on a CPU';
    it(`layerNorm with gain and bias, ${where}`, () => {
      const inputs = [x(), vector(2), vector(3)];
      const { fast, plain } = fastAndPlain((a, g, b) => layerNorm(a!, g, b, 1e-5), inputs, cached);
      assert.ok(maxDiff(fast, plain) < 1e-6, `max|Δ| ${maxDiff(fast, plain)}`);
      assert.equal(fast.length, 4);
      tf.dispose([...inputs, ...fast, ...plain]);
    });

    it(`rmsNorm, ${where}`, () => {
      const inputs = [x(), vector(4)];
      const { fast, plain } = fastAndPlain((a, g) => rmsNorm(a!, g!, 1e-6), inputs, cached);
      assert.ok(maxDiff(fast, plain) < 1e-6, `max|Δ| ${maxDiff(fast, plain)}`);
      tf.dispose([...inputs, ...fast, ...plain]);
    });

    for (const name of ['gelu_new', 'gelu', 'silu', 'relu'] as const) {
      it(`${name}, ${where}`, () => {
        const act = activation(name);
        const inputs = [tf.randomNormal([3, 40], 0, 2.5, 'float32', 5)];
        const { fast, plain } = fastAndPlain((a) => act(a!), inputs, cached);
        assert.ok(maxDiff(fast, plain) < 1e-6, `max|Δ| ${maxDiff(fast, plain)}`);
        tf.dispose([...inputs, ...fast, ...plain]);
      });
    }
  }

  it('the GELU gradient is the derivative (against a central difference)', () => {
    const act = activation('gelu_new');
    const points = [-3, -1, -0.2, 0, 0.4, 1.3, 2.9];
    const grad = tf.tidy(() =>
      tf
        .grad((a: tf.Tensor) => tf.sum(act(a)))(tf.tensor1d(points))
        .arraySync(),
    );
    const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    points.forEach((p, i) => {
      const numeric = (gelu(p + 1e-4) - gelu(p - 1e-4)) / 2e-4;
      assert.ok(
        Math.abs((grad as number[])[i]! - numeric) < 1e-5,
        `at ${p}: ${(grad as number[])[i]} vs ${numeric}`,
      );
    });
  });

  it('masks, positions and scaled attention match the plain path exactly', () => {
    const mask = tf.tensor2d(
      [
        [1, 1, 1, 0],
        [1, 1, 0, 0],
      ],
      [2, 4],
      'int32',
    );
    for (const cached of [false, true]) {
      setConstantCaching(cached);
      const fast = [causalMaskBias(mask), paddingMaskBias(mask), positionsFromMask(mask, 2)];
      setConstantCaching(undefined);
      setPlainOps(true);
      const plain = [causalMaskBias(mask), paddingMaskBias(mask), positionsFromMask(mask, 2)];
      setPlainOps(undefined);
      assert.equal(maxDiff(fast, plain), 0);
      tf.dispose([...fast, ...plain]);
    }
    const q = tf.randomNormal([1, 2, 4, 8], 0, 1, 'float32', 6) as tf.Tensor4D;
    const k = tf.randomNormal([1, 1, 4, 8], 0, 1, 'float32', 7) as tf.Tensor4D;
    const v = tf.randomNormal([1, 1, 4, 8], 0, 1, 'float32', 8) as tf.Tensor4D;
    const bias = causalMaskBias(mask.slice([0, 0], [1, 4]) as tf.Tensor2D);
    const { fast, plain } = fastAndPlain(
      (a, b, c) => attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, bias, 0.35),
      [q, k, v],
      true,
    );
    assert.ok(maxDiff(fast, plain) < 1e-6);
    tf.dispose([mask, q, k, v, bias, ...fast, ...plain]);
  });
});

describe('device constants', () => {
  it('on a CPU backend nothing is kept: tensor counts stay as without them', () => {
    releaseDeviceConstants();
    const before = tf.memory().numTensors;
    const input = x();
    tf.dispose(tf.tidy(() => activation('gelu_new')(layerNorm(input, undefined, undefined, 1e-5))));
    input.dispose();
    assert.equal(keptConstantCount(), 0);
    assert.equal(tf.memory().numTensors, before);
  });

  it('when kept, a second forward makes no tensors from host values, and release frees them', () => {
    releaseDeviceConstants();
    setConstantCaching(true);
    try {
      const input = x();
      const gain = vector(2);
      const mask = tf.ones([2, 5], 'int32') as tf.Tensor2D;
      const forward = () =>
        tf.tidy(() => {
          const h = activation('gelu_new')(layerNorm(input, gain, undefined, 1e-5));
          return tf.add(tf.sum(h), tf.sum(causalMaskBias(mask)));
        });
      const beforeFirst = tf.memory().numTensors;
      tf.dispose(forward());
      const kept = keptConstantCount();
      assert.ok(kept >= 4, `kept ${kept}`); // eps, the GELU's k1 and k2, the causal mask, 1, −1e9
      assert.equal(tf.memory().numTensors, beforeFirst + kept);
      const count = countHostTensors();
      tf.dispose(forward());
      count.stop();
      assert.equal(count.tensors, 0);
      assert.equal(keptConstantCount(), kept);
      releaseDeviceConstants();
      assert.equal(tf.memory().numTensors, beforeFirst);
      tf.dispose([input, gain, mask]);
    } finally {
      setConstantCaching(undefined);
    }
  });

  it('the plain path makes host tensors at every call (what the fast path avoids)', () => {
    const input = x();
    setPlainOps(true);
    const count = countHostTensors();
    tf.dispose(tf.tidy(() => activation('gelu_new')(layerNorm(input, undefined, undefined, 1e-5))));
    count.stop();
    setPlainOps(undefined);
    assert.ok(count.tensors >= 5, `host tensors ${count.tensors}`); // eps, 0.5, 1, √(2/π), 0.044715, 3
    input.dispose();
  });
});
