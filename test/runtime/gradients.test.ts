// layercut's variableGrads (src/runtime/gradients.ts): tfjs's gradients, bit for bit, with the
// backward pass's memory freed as it goes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { variableGrads } from '../../src/runtime/gradients.js';
import { promptLmLoss, type PromptBatch } from '../../src/train/objectives.js';
import { AdamW, Sgd, type Optimizer } from '../../src/train/optimizers.js';
import { modelFixture } from '../helpers/fixtures.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

/** 16 prompts of 32 tokens (the last row padded after 9), scored at their last real token. */
function fixtureBatch(vocab: number): PromptBatch {
  const [rows, seq] = [16, 32];
  const ids = Array.from({ length: rows * seq }, (_, i) => (i * 37 + 11) % vocab);
  const mask = Array.from({ length: rows * seq }, (_, i) => (i >= (rows - 1) * seq + 9 ? 0 : 1));
  return {
    inputIds: tf.tensor2d(ids, [rows, seq], 'int32'),
    attentionMask: tf.tensor2d(mask, [rows, seq], 'int32'),
    answerPositions: tf.tensor1d([...Array(rows - 1).fill(seq - 1), 8], 'int32'),
    labels: tf.tensor1d(
      Array.from({ length: rows }, (_, i) => i % 2),
      'int32',
    ),
  };
}

describe('variableGrads', () => {
  it('gives the GPT-2 fixture the same loss and gradients as tf.variableGrads, with less memory at its peak and no tensor left over', async () => {
    const { model } = await loadModel(modelFixture('gpt2-tiny'));
    const batch = fixtureBatch(model.info.config.vocabSize);
    const labelTokenIds = tf.tensor1d([5, 9], 'int32');
    const variables = [...model.params.values()];
    const loss = () => promptLmLoss(model, batch, labelTokenIds);

    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    // tf.profile hands back one object it reuses: copy what each run needs
    const profile = async (grads: typeof variableGrads) => {
      const info = await tf.profile(() => {
        const { value, grads: byName } = grads(loss, variables);
        return [value, ...Object.values(byName)];
      });
      return { result: info.result as tf.Tensor[], peakBytes: info.peakBytes };
    };
    const theirs = await profile(tf.variableGrads);
    const ours = await profile(variableGrads);
    const [theirValue, ...theirGrads] = theirs.result;
    const [ourValue, ...ourGrads] = ours.result;
    assert.equal(ourGrads.length, variables.length);
    assert.deepEqual(await ourValue!.data(), await theirValue!.data());
    for (const [i, grad] of ourGrads.entries()) {
      assert.deepEqual(grad.shape, theirGrads[i]!.shape);
      assert.deepEqual(await grad.data(), await theirGrads[i]!.data(), `gradient ${variables[i]!.name}`);
    }
    // tfjs keeps every saved activation and every intermediate gradient to the end of backward
    const [ourPeak, theirPeak] = [ours.peakBytes - bytesBefore, theirs.peakBytes - bytesBefore];
    assert.ok(
      ourPeak < 0.8 * theirPeak,
      `bytes added at the peak: ${ourPeak} (layercut) vs ${theirPeak} (tfjs)`,
    );
    tf.dispose([...theirs.result, ...ours.result]);
    assert.equal(tf.memory().numTensors, tensorsBefore);
    tf.dispose([labelTokenIds, ...Object.values(batch)]);
    model.dispose();
  });

  it('keeps a gradient a custom gradient passes through unchanged to several inputs', async () => {
    const a = tf.variable(tf.tensor1d([1, 2, 3]), true, 'pass-a');
    const b = tf.variable(tf.tensor1d([4, 5, 6]), true, 'pass-b');
    const c = tf.variable(tf.tensor1d([-1, 0.5, 2]), true, 'pass-c');
    // z = a + b, differentiated as (dy, dy): one tensor handed to both inputs
    const passThrough = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.add(args[0] as tf.Tensor, args[1] as tf.Tensor),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [dy as tf.Tensor, dy as tf.Tensor],
    }));
    // a reaches the loss twice: its gradient is accumulated onto the passed-through one
    const f = () => tf.sum(tf.mul(tf.add(passThrough(a, b), tf.mul(a, c)), tf.exp(c))) as tf.Scalar;
    const expected = tf.variableGrads(f, [a, b, c]);
    const actual = variableGrads(f, [a, b, c]);
    for (const name of ['pass-a', 'pass-b', 'pass-c'])
      assert.deepEqual(await actual.grads[name]!.data(), await expected.grads[name]!.data(), name);
    tf.dispose([
      expected.value,
      actual.value,
      ...Object.values(expected.grads),
      ...Object.values(actual.grads),
    ]);
    tf.dispose([a, b, c]);
  });

  it('hands each gradient to onReady once, as soon as it is complete; an optimizer applying them there ends where step() does', async () => {
    const makeOptimizers: [string, (params: Map<string, tf.Variable>) => Optimizer][] = [
      ['AdamW', (params) => new AdamW(params, { weightDecay: 0.1 })],
      ['SGD', (params) => new Sgd(params, { momentum: 0.9, weightDecay: 0.01 })],
    ];
    for (const [optimizerName, makeOptimizer] of makeOptimizers) {
      const runs = [];
      for (const early of [false, true]) {
        const { model } = await loadModel(modelFixture('gpt2-tiny'));
        const batch = fixtureBatch(model.info.config.vocabSize);
        const labelTokenIds = tf.tensor1d([5, 9], 'int32');
        const variables = [...model.params.values()];
        const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
        const optimizer = makeOptimizer(model.params);
        const loss = () => promptLmLoss(model, batch, labelTokenIds);
        const handed: string[] = [];
        /** Bytes more than at the step's start when the backward pass has ended (the gradients held). */
        let heldAfterBackward = 0;
        const oneStep = () => {
          const before = tf.memory().numBytes;
          if (early) {
            const updates = optimizer.begin(1e-2);
            const { value, grads } = variableGrads(loss, variables, {
              onReady: (variable, grad) => {
                handed.push(variable.name);
                updates.update(nameOf.get(variable.name)!, grad);
                grad.dispose();
              },
            });
            heldAfterBackward = tf.memory().numBytes - before - value.size * 4;
            updates.finish();
            assert.deepEqual(Object.keys(grads), []);
            value.dispose();
          } else {
            const { value, grads } = variableGrads(loss, variables);
            heldAfterBackward = tf.memory().numBytes - before - value.size * 4;
            const named: tf.NamedTensorMap = {};
            for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
            optimizer.step(named, 1e-2);
            tf.dispose([value, named]);
          }
        };
        for (let step = 0; step < 3; step++) oneStep();
        const values = new Map<string, Float32Array>();
        for (const [name, v] of model.params) values.set(name, (await v.data()) as Float32Array);
        runs.push({ values, handed, heldAfterBackward });
        optimizer.dispose();
        model.dispose();
        tf.dispose([labelTokenIds, ...Object.values(batch)]);
      }
      const [late, early] = runs as [(typeof runs)[0], (typeof runs)[0]];
      assert.equal(
        early.handed.length,
        3 * late.values.size,
        `${optimizerName}: every parameter, every step`,
      );
      assert.equal(new Set(early.handed.slice(0, late.values.size)).size, late.values.size);
      for (const [name, value] of late.values)
        assert.deepEqual(early.values.get(name), value, `${optimizerName}: ${name} after 3 steps`);
      // the tied embedding's gradient is complete only at the end: the first handed over is a later layer's
      assert.ok(!early.handed[0]!.includes('wte'), early.handed[0]);
      // without onReady every gradient is alive when the backward pass ends; with it none
      const paramBytes = [...late.values.values()].reduce((n, v) => n + v.length * 4, 0);
      assert.equal(late.heldAfterBackward, paramBytes, `${optimizerName}: gradients held without onReady`);
      // (with onReady, only the optimizer's per-step scalars: a few floats)
      assert.ok(
        early.heldAfterBackward <= 16,
        `${optimizerName}: ${early.heldAfterBackward} bytes held with onReady`,
      );
    }
  });

  it('frees during backward what undifferentiated ops saved and what a custom gradient computed for undifferentiated inputs', () => {
    const x = tf.randomNormal([16, 16], 0, 1, 'float32', 1);
    const frozen = tf.variable(tf.randomNormal([16, 16], 0, 1, 'float32', 2), false, 'free-frozen');
    const v = tf.variable(tf.randomNormal([16, 16], 0, 1, 'float32', 3), true, 'free-trained');
    /** Buffers alive when backward reaches `probe` (the loss's last op, so the first to be differentiated). */
    let heldInBackward = 0;
    const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.sum(args[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        heldInBackward = tf.memory().numDataBuffers;
        return tf.mul(tf.onesLike(args[0] as tf.Tensor), dy as tf.Tensor);
      },
    }));
    // a custom gradient that computes both inputs' gradients at once (the second's is not asked for)
    const eagerMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, b] = args as [tf.Tensor, tf.Tensor];
      (args[2] as tf.GradSaveFunc)([a, b]);
      return {
        value: tf.mul(a, b),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [
          tf.mul(dy as tf.Tensor, saved[1]!),
          tf.mul(dy as tf.Tensor, saved[0]!),
        ],
      };
    });
    const heldAfterBackward = (f: () => tf.Scalar) => {
      let afterLastNode = 0;
      const { value } = variableGrads(f, [v], {
        onReady: (_, grad) => {
          afterLastNode = tf.memory().numDataBuffers;
          grad.dispose();
        },
      });
      value.dispose();
      return { heldInBackward, afterLastNode };
    };
    // the frozen part: tanh saves its output, which nothing on the path from v keeps
    const frozenPart = () => tf.exp(tf.tanh(tf.matMul(x, frozen)));
    const precomputed = tf.tidy(frozenPart);
    const outside = heldAfterBackward(() => probe(eagerMul(v, precomputed)) as tf.Scalar);
    precomputed.dispose();
    const inside = heldAfterBackward(() => probe(eagerMul(v, frozenPart())) as tf.Scalar);
    // once eagerMul has run: v's gradient in, probe's output gradient out, and nothing left of the
    // gradient eagerMul computed for its second input
    assert.equal(outside.afterLastNode, outside.heldInBackward, 'buffers once eagerMul has run');
    // computed inside the gradient computation or before it: the same buffers when backward begins
    assert.equal(inside.heldInBackward, outside.heldInBackward, 'buffers when backward begins');
    tf.dispose([x, frozen, v]);
  });

  it('leaves out variables the loss does not reach, and refuses a loss that reaches none', () => {
    const used = tf.variable(tf.scalar(2), true, 'reached');
    const unused = tf.variable(tf.scalar(3), true, 'unreached');
    const { value, grads } = variableGrads(() => tf.square(used) as tf.Scalar, [used, unused]);
    assert.deepEqual(Object.keys(grads), ['reached']);
    assert.equal(grads['reached']!.dataSync()[0], 4);
    tf.dispose([value, ...Object.values(grads)]);
    assert.throws(() => variableGrads(() => tf.scalar(1), [used]), /connection between any variable/);
    tf.dispose([used, unused]);
  });
});
