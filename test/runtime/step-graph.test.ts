// A training step recorded and replayed (src/runtime/step-graph.ts), on Dawn's null device: what
// the capture accepts and refuses, what a replay checks, and the buffers the graph keeps. That a
// replay computes what the step computes is checked where the WGSL runs: test:lavapipe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { benchLearningRate, fineTuneStep } from '../../bench/train-step.js';
import { loadModel } from '../../src/models/load.js';
import { captureStep, markStepInput, StepGraphRefused } from '../../src/runtime/step-graph.js';
import { webGpuMemory } from '../../src/runtime/webgpu.js';
import { promptBatchOf, promptBatchTensors } from '../../src/train/objectives.js';
import { ADAMW_STEP_INPUT, AdamW } from '../../src/train/optimizers.js';
import { modelFixture } from '../helpers/fixtures.js';
import { twoPromptBatch } from '../helpers/tiny-gpt2.js';
import { onNullDevice } from '../helpers/runtime.js';

const watch = onNullDevice();

/** A small step of tfjs ops over `w` (made on the device), reading batch [x]. */
const makeWeight = () => tf.tidy(() => tf.variable(tf.fill([8, 8], 0.5)));
const matMulStep = (w: tf.Variable) => (inputs: readonly tf.Tensor[]) =>
  tf.tidy(() => tf.sum(tf.relu(tf.matMul(inputs[0] as tf.Tensor2D, w))) as tf.Scalar);
const batchOf = () => [tf.tidy(() => tf.fill([4, 8], 1))];

/** Runs `capture` expecting a refusal; returns its message, freeing the refused steps' losses. */
function refusal(capture: () => unknown): string {
  try {
    capture();
  } catch (error) {
    assert.ok(error instanceof StepGraphRefused, String(error));
    const { outputs } = error as StepGraphRefused & { outputs: tf.Tensor[] };
    assert.equal(outputs.length, 3, 'the three steps ran and their losses are handed back');
    tf.dispose(outputs);
    return error.message;
  }
  assert.fail('the capture was not refused');
}

describe('recording a step for replay', () => {
  it("records the fine-tuning step, keeps its temporaries out of tfjs's pool, and gives them back", async () => {
    const { model } = await loadModel(modelFixture('gpt2-tiny'));
    const optimizer = new AdamW(model.params, { weightDecay: 0.1 });
    const { batch, labelTokenIds } = twoPromptBatch();
    const tensors = promptBatchTensors(batch);
    const stepOn = (inputs: readonly tf.Tensor[]) =>
      fineTuneStep(model, promptBatchOf(inputs), labelTokenIds, optimizer)();
    stepOn(tensors).dispose(); // the optimizer's state is made
    const usedBefore = webGpuMemory()!.usedBytes;
    const { graph, outputs } = captureStep([tensors, tensors, tensors], stepOn);
    tf.dispose(outputs);
    assert.equal(optimizer.steps, 4);
    assert.ok(graph.dispatches > 40, `${graph.dispatches} dispatches`);
    assert.ok(graph.keptBytes > 0);
    // the temporaries are in use (by the graph) now, not free in the pool; the graph's inputs too
    const usedWithGraph = webGpuMemory()!.usedBytes;
    assert.ok(
      usedWithGraph >= usedBefore + graph.keptBytes,
      `${usedWithGraph} < ${usedBefore} + ${graph.keptBytes}`,
    );
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const loss = graph.replay(tensors, { [ADAMW_STEP_INPUT]: optimizer.replayedStep(benchLearningRate) });
      assert.deepEqual(loss.shape, []);
      loss.dispose();
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, 'a replay leaves no tensor behind');
    assert.equal(webGpuMemory()!.usedBytes, usedWithGraph, 'nor buffers');
    assert.equal(optimizer.steps, 7);
    // what a replay refuses
    assert.throws(() => graph.replay(tensors), /without step input 'adamw step'/);
    const copy = tf.clone(model.params.values().next().value!); // shares the data AdamW updates in place
    assert.throws(
      () => graph.replay(tensors, { [ADAMW_STEP_INPUT]: new Float32Array(3) }),
      /shared with another/,
    );
    copy.dispose();
    const [ids, ...rest] = tensors;
    const shorter = tf.zeros([2, 3], 'int32');
    assert.throws(() => graph.replay([shorter, ...rest]), /input 0 is int32 \[2,3\], not as captured/);
    graph.dispose();
    assert.ok(
      webGpuMemory()!.usedBytes <= usedWithGraph - graph.keptBytes,
      'dispose gives the temporaries back',
    );
    assert.throws(() => graph.replay(tensors), /disposed/);
    tf.dispose([shorter, ids!, ...rest, labelTokenIds]);
    optimizer.dispose();
    model.dispose();
    assert.deepEqual(watch().uncaptured, []);
  });

  it('a replay refuses once a tensor the step uses was freed', () => {
    const w = makeWeight();
    const batch = batchOf();
    const { graph, outputs } = captureStep([batch, batch, batch], matMulStep(w));
    tf.dispose(outputs);
    graph.replay(batch).dispose();
    w.dispose();
    assert.throws(() => graph.replay(batch), /was freed: capture the step again/);
    graph.dispose();
    tf.dispose(batch);
  });

  it('refuses a step that uploads host values not marked as a step input or constant, and says where', () => {
    const w = makeWeight();
    const batch = batchOf();
    const step = (inputs: readonly tf.Tensor[]) =>
      tf.tidy(
        () =>
          tf.sum(
            tf.add(tf.matMul(inputs[0] as tf.Tensor2D, w), tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8])),
          ) as tf.Scalar,
      );
    assert.match(
      refusal(() => captureStep([batch, batch, batch], step)),
      /an upload of 32 bytes not marked as a step input or constant \(at .*step-graph\.test\.ts/,
    );
    // marked as a step input, the same upload is recorded
    const marked = (inputs: readonly tf.Tensor[]) =>
      tf.tidy(
        () =>
          tf.sum(
            tf.add(
              tf.matMul(inputs[0] as tf.Tensor2D, w),
              tf.tensor1d(markStepInput(new Float32Array(8).fill(2), 'shift')),
            ),
          ) as tf.Scalar,
      );
    const { graph, outputs } = captureStep([batch, batch, batch], marked);
    tf.dispose(outputs);
    assert.throws(() => graph.replay(batch, { shift: new Float32Array(4) }), /'shift' has 16 bytes, not 32/);
    graph.replay(batch, { shift: new Float32Array(8) }).dispose();
    graph.dispose();
    tf.dispose([w, ...batch]);
  });

  it('refuses a step that does not repeat itself: new buffers each step, or other commands', () => {
    const w = makeWeight();
    const batch = batchOf();
    // assign gives the variable a new buffer each step: its programs bind other buffers
    const assigning = (inputs: readonly tf.Tensor[]) =>
      tf.tidy(() => {
        w.assign(tf.neg(w));
        return tf.sum(tf.matMul(inputs[0] as tf.Tensor2D, w)) as tf.Scalar;
      });
    assert.match(
      refusal(() => captureStep([batch, batch, batch], assigning)),
      /other pipeline or buffers/,
    );
    let calls = 0;
    const growing = (inputs: readonly tf.Tensor[]) =>
      tf.tidy(() => {
        let y = tf.matMul(inputs[0] as tf.Tensor2D, w);
        for (let i = 0; i < calls; i++) y = tf.relu(y);
        calls++;
        return tf.sum(y) as tf.Scalar;
      });
    assert.match(
      refusal(() => captureStep([batch, batch, batch], growing)),
      /commands, then/,
    );
    tf.dispose([w, ...batch]);
  });

  it('refuses a readback inside the step', async () => {
    const w = makeWeight();
    const batch = batchOf();
    const reads: Promise<unknown>[] = [];
    const reading = (inputs: readonly tf.Tensor[]) => {
      reads.push(w.data()); // a sync inside the step: a replay could not hand the value back
      return matMulStep(w)(inputs);
    };
    assert.match(
      refusal(() => captureStep([batch, batch, batch], reading)),
      /a readback in the step/,
    );
    await Promise.all(reads);
    tf.dispose([w, ...batch]);
  });
});
