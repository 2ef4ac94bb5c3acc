// layercut's WGSL executed, not only validated, without a GPU: Dawn's Vulkan backend over Mesa's
// lavapipe (llvmpipe's Vulkan driver, which runs shaders on the CPU). Each fused program runs
// against its tfjs formulation, as `npm run test:gpu` does on a GPU (the same checks, from
// bench/gpu-checks.ts, without their timings): AdamW two parameters a pass, LayerNorm (alone and
// after a residual add), GELU,
// attention softmax, 2-D grids past 65,535 rows, the gather gradient, the tensor-core matmul's
// split sum with a bias.
// Lavapipe offers no subgroup matrices, so the tensor-core matmul itself runs only on a GPU. And
// the auto backend passes over such an adapter (src/runtime/webgpu.ts, `hardwareOnly`).
//
//   npm run test:lavapipe     needs Mesa's Vulkan drivers 25 or later (Debian bookworm-backports'
//                             mesa-vulkan-drivers; bookworm's 22.3 lacks what Dawn requires);
//                             .ci/run installs them
// Not in `npm test`: that runs on a fresh machine without Debian packages.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, releaseBackend } from '../../src/runtime/backend.js';
import {
  adamwCheck,
  checkLine,
  fusedKernelChecks,
  gatherGradientChecks,
  passes,
  splitSumChecks,
  type Check,
} from '../../bench/gpu-checks.js';
import { benchLearningRate, fineTuneStep } from '../../bench/train-step.js';
import { loadModel } from '../../src/models/load.js';
import { captureStep } from '../../src/runtime/step-graph.js';
import { promptBatchOf, promptBatchTensors } from '../../src/train/objectives.js';
import { ADAMW_STEP_INPUT, AdamW } from '../../src/train/optimizers.js';
import { modelFixture } from '../helpers/fixtures.js';

const lavapipe = '/usr/share/vulkan/icd.d/lvp_icd.json';

before(async () => {
  if (!process.env['VK_DRIVER_FILES']) {
    if (!existsSync(lavapipe))
      throw new Error(
        `no lavapipe (${lavapipe}): install Mesa's Vulkan drivers 25+, e.g. ` +
          '`apt-get install -t bookworm-backports mesa-vulkan-drivers`, or set VK_DRIVER_FILES',
      );
    process.env['VK_DRIVER_FILES'] = lavapipe; // read by the Vulkan loader when Dawn starts
  }
  const backend = await initBackend({ backend: 'webgpu' });
  assert.equal(backend.name, 'webgpu');
  assert.match(backend.detail, /llvmpipe/, `not lavapipe: ${backend.detail}`);
});

after(() => releaseBackend());

/** Asserts every check passed, listing them all. */
function assertAllPass(checks: Check[], atLeast: number) {
  const lines = checks.map(checkLine).join('\n');
  assert.ok(checks.length >= atLeast, `only ${checks.length} checks:\n${lines}`);
  assert.ok(checks.every(passes), lines);
}

describe('WGSL executed on lavapipe, against tfjs ops', () => {
  it('AdamW: two parameters a pass (a larger first, a larger second), one alone', async () => {
    assertAllPass([await adamwCheck()], 1);
  });

  it('LayerNorm (also after a residual add), GELU and attention softmax, forward and backward, 2-D grids included', async () => {
    assertAllPass(await fusedKernelChecks({ timed: false }), 58);
  });

  it('the gather gradient: a row scatter, and one program for few ids', async () => {
    assertAllPass(await gatherGradientChecks({ large: false }), 3);
  });

  it('host values arrive through queue writes (uploads.ts): float32, int32 and bool', async () => {
    const zeros = tf.tidy(() => tf.fill([4], 0)); // on the device
    const [f, i, b] = tf.tidy(() => [
      tf.add(tf.tensor1d([1.5, -2, 3e-8, 65504.25]), zeros),
      tf.add(tf.tensor1d([7, -1, 2 ** 30, 0], 'int32'), tf.cast(zeros, 'int32')),
      tf.logicalOr(tf.tensor1d([true, false, true, false], 'bool'), tf.cast(zeros, 'bool')),
    ]);
    assert.deepEqual(Array.from(await f!.data()), Array.from(Float32Array.from([1.5, -2, 3e-8, 65504.25])));
    assert.deepEqual(Array.from(await i!.data()), [7, -1, 2 ** 30, 0]);
    assert.deepEqual(Array.from(await b!.data()), [1, 0, 1, 0]);
    tf.dispose([zeros, f!, i!, b!]);
  });

  it('the split sum, padded and not, with and without a bias', async () => {
    assertAllPass(await splitSumChecks(), 4);
  });
});

describe('a training step recorded and replayed (step-graph.ts)', () => {
  it('trains as the step run each time: the same losses and parameters, bit for bit', async () => {
    // batches of one shape, each its own ids and labels
    const batches = [0, 1, 2, 3, 4, 5].map((k) =>
      tf.tidy(() =>
        promptBatchTensors({
          inputIds: tf.tensor2d([5 + k, 6, 7 * k, 8, 9, 10 + k, 11, 1], [2, 4], 'int32'),
          attentionMask: tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 0], [2, 4], 'int32'),
          answerPositions: tf.tensor1d([3, 2 - (k % 2)], 'int32'),
          labels: tf.tensor1d([k % 2, 1 - (k % 2)], 'int32'),
        }),
      ),
    );
    const labelTokenIds = tf.tensor1d([7, 42], 'int32');
    const train = async (replayed: boolean) => {
      const { model } = await loadModel(modelFixture('gpt2-tiny'));
      const optimizer = new AdamW(model.params, { weightDecay: 0.1 });
      const stepOn = (inputs: readonly tf.Tensor[]) =>
        fineTuneStep(model, promptBatchOf(inputs), labelTokenIds, optimizer)();
      const losses: tf.Scalar[] = [stepOn(batches[0]!)]; // the first step makes the optimizer's state
      let dispatches = 0;
      if (replayed) {
        const { graph, outputs } = captureStep([batches[1]!, batches[2]!, batches[3]!], stepOn);
        losses.push(...outputs);
        for (const batch of batches.slice(4))
          losses.push(graph.replay(batch, { [ADAMW_STEP_INPUT]: optimizer.replayedStep(benchLearningRate) }));
        dispatches = graph.dispatches;
        graph.dispose();
      } else {
        for (const batch of batches.slice(1)) losses.push(stepOn(batch));
      }
      const lossValues = await Promise.all(losses.map(async (l) => (await l.data())[0]!));
      const params = await Promise.all([...model.params.values()].map(async (v) => await v.data()));
      tf.dispose(losses);
      optimizer.dispose();
      model.dispose();
      return { lossValues, params, dispatches, steps: optimizer.steps };
    };
    const eager = await train(false);
    const replay = await train(true);
    assert.ok(replay.dispatches > 20, `${replay.dispatches} dispatches recorded`);
    assert.equal(replay.steps, 6);
    assert.deepEqual(replay.lossValues, eager.lossValues);
    assert.equal(new Set(eager.lossValues).size, 6, 'each step its own loss');
    eager.params.forEach((values, i) => assert.deepEqual(replay.params[i], values, `parameter ${i}`));
    tf.dispose([...batches.flat(), labelTokenIds]);
  });
});

describe('the auto backend', () => {
  // last: it makes another backend current
  it('passes over an adapter that runs shaders on the CPU', async () => {
    const report = await initBackend({ backend: 'auto' });
    assert.notEqual(report.name, 'webgpu');
    const webgpu = report.skipped.find((s) => s.name === 'webgpu');
    assert.match(webgpu?.reason ?? '', /runs shaders on the CPU \(llvmpipe/);
  });
});
