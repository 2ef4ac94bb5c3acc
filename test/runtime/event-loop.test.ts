/**
 * Long loops give the event loop a turn at every step or batch, so that an abort fired from a
 * timer — as Ctrl-C's handler, a worker's `stop` message or a notebook's interrupt fire it —
 * stops them there, on the default CPU backend (wasm), whose ops never give the event loop a
 * turn of their own. Each loop is long enough (seconds) that, without the turns, it would run
 * to its end before the timer could fire.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import type { LanguageModel } from '../../src/models/types.js';
import { pretrainLoop } from '../../src/pretrain/train-loop.js';
import { initBackend } from '../../src/runtime/backend.js';
import { InterruptedError, yieldToEventLoop } from '../../src/runtime/event-loop.js';
import { influenceOver } from '../../src/select/calibration.js';
import { depthPreview } from '../../src/select/depth-preview.js';
import { greedyLayerSearch } from '../../src/select/greedy.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { modelFixture } from '../helpers/fixtures.js';
import { adamwSpec } from '../../src/plan/options.js';

/** An abort signal that a timer fires `ms` from now. */
function abortAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

/** 2000 one-example batches of the 99-token gpt2-tiny fixture: seconds of work on wasm. */
const examples: EncodedExample[] = Array.from({ length: 2000 }, (_, i) => {
  const ids = Array.from({ length: 4 + (i % 5) }, (_, j) => 3 + ((i * 13 + j * 7) % 90));
  return { ids, scorePosition: ids.length - 1, label: i % 2 };
});

describe('interruption points on wasm', () => {
  let model: LanguageModel;
  before(async () => {
    await initBackend({ backend: 'wasm' });
    model = (await loadModel(modelFixture('gpt2-tiny'))).model;
  });

  it('yieldToEventLoop lets a due timer run', async () => {
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const until = performance.now() + 50;
    // reading tensors back on wasm resolves in microtasks only: the timer has to wait
    while (performance.now() < until) {
      const t = tf.tensor([1]);
      await t.data();
      t.dispose();
    }
    assert.equal(fired, false);
    await yieldToEventLoop();
    await yieldToEventLoop();
    assert.equal(fired, true);
  });

  it('pretraining stops at the next step', async () => {
    const steps: number[] = [];
    const tokens = Int32Array.from({ length: 64 * 17 }, (_, i) => 3 + ((i * 7) % 90));
    const started = performance.now();
    await assert.rejects(
      pretrainLoop(
        model,
        { train: tokens, validation: tokens },
        {
          spec: {
            optimizer: adamwSpec({ lr: 1e-3, betas: [0.9, 0.95] }),
            schedule: { kind: 'constant', warmupSteps: 0 },
            batchSize: 4,
            contextLength: 16,
            steps: 3000,
            maxMinutes: null,
            maxGradNorm: 0,
            evalEvery: 100_000,
            evalSequences: 4,
          },
          seed: 1,
          readback: { everySteps: 1, maxSeconds: 0 },
          onEvent: (event) => void (event.kind === 'step' && steps.push(event.step)),
          signal: abortAfter(300),
        },
      ),
      (error: Error) => error instanceof InterruptedError && error.message === 'pretraining was interrupted',
    );
    assert.ok(steps.length > 0 && steps.length < 3000, `${steps.length} of 3000 steps`);
    assert.ok(performance.now() - started < 3000, 'stopped soon after the abort');
  });

  it('block influence stops at the next batch', async () => {
    await assert.rejects(
      influenceOver(model, examples, { batchSize: 1, signal: abortAfter(200) }),
      (error: Error) =>
        error instanceof InterruptedError && /^the layer measurement was interrupted/.test(error.message),
    );
  });

  it('the depth preview and the greedy search stop at the next batch', async () => {
    const labelIds = [7, 42];
    await assert.rejects(
      depthPreview(model, examples, labelIds, { batchSize: 1, signal: abortAfter(200) }),
      (error: Error) =>
        error instanceof InterruptedError && /^the depth preview was interrupted/.test(error.message),
    );
    await assert.rejects(
      // 10 scorings of 200 examples (all 4 layers, then every cut down to 1)
      greedyLayerSearch(model, examples.slice(0, 200), labelIds, {
        keep: 1,
        batchSize: 1,
        signal: abortAfter(200),
      }),
      (error: Error) =>
        error instanceof InterruptedError && /^the greedy search was interrupted/.test(error.message),
    );
  });
});
