// Mixed precision's loss scaling: on the CPU (where matmuls stay fp32) a 'mixed' run must train
// exactly as the fp32 run does: the loss × 1024 gradients, the scaled clipping threshold, AdamW's
// scaled ε and SGD's scaled rate and decay undo the scale. (The f16 matmul itself is checked on a
// GPU by bench/matmul.ts; its CPU model is in test/runtime/tensor-core-matmul.test.ts.)
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { PAPER_DEFAULTS, type OptimizerSpec, type TrainSpec } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { lossScaleFor, MIXED_LOSS_SCALE } from '../../src/train/precision.js';
import { makeScorer } from '../../src/train/scorers.js';
import { train, type TrainOutcome } from '../../src/train/trainer.js';
import { modelFixture } from '../helpers/fixtures.js';
import { tinyPromptExamples, tinyVerbalizer } from '../helpers/prompt-examples.js';
import { adamwSpec } from '../../src/plan/options.js';

await initBackend({ backend: 'cpu' });

const examples = tinyPromptExamples;
const verbalizer = tinyVerbalizer;

async function trainWith(
  spec: Partial<TrainSpec>,
): Promise<{ outcome: TrainOutcome; params: Map<string, Float32Array> }> {
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const scorer = makeScorer(model, { ...PAPER_DEFAULTS.method, kind: 'lm' }, verbalizer, 0);
  const outcome = await train(scorer, examples, [], {
    spec: { ...PAPER_DEFAULTS.train, batchSize: 4, epochs: 3, maxGradNorm: 0.5, ...spec },
    seed: 0,
    padId: 0,
    labels: verbalizer.labels,
  });
  const params = new Map([...model.params].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
  scorer.dispose();
  model.dispose();
  return { outcome, params };
}

const optimizers: OptimizerSpec[] = [
  adamwSpec({ lr: 1e-3, weightDecay: 0.01 }),
  { kind: 'sgd', lr: 0.3, momentum: 0.9, weightDecay: 0.01 },
];

for (const optimizer of optimizers) {
  it(`a 'mixed' run trains as the fp32 run on the CPU (${optimizer.kind}, clipping, weight decay)`, async () => {
    const fp32 = await trainWith({ optimizer });
    const mixed = await trainWith({ optimizer, precision: 'mixed' });
    const losses = (o: TrainOutcome) => o.curves.train.map((p) => p.loss);
    assert.equal(losses(mixed.outcome).length, 6);
    losses(fp32.outcome).forEach((loss, i) => {
      const other = losses(mixed.outcome)[i]!;
      assert.ok(Math.abs(loss - other) <= 1e-5 * Math.abs(loss), `step ${i + 1}: loss ${loss} vs ${other}`);
    });
    let worst = 0;
    let moved = 0;
    const { model } = await loadModel(modelFixture('gpt2-tiny'));
    for (const [name, values] of fp32.params) {
      const other = mixed.params.get(name)!;
      const initial = model.params.get(name)!.dataSync();
      values.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - other[i]!));
        moved = Math.max(moved, Math.abs(v - initial[i]!));
      });
    }
    model.dispose();
    assert.ok(moved > 1e-3, `training moved the weights (${moved})`);
    assert.ok(worst < 1e-5, `max |Δ| between fp32 and mixed weights ${worst}`);
  });
}

it('scales the loss only for mixed precision', () => {
  assert.equal(lossScaleFor({}), 1);
  assert.equal(lossScaleFor({ precision: 'mixed' }), MIXED_LOSS_SCALE);
  assert.equal(tf.getBackend(), 'cpu');
});

it('stops with an error that says what to change when the loss stops being finite', async () => {
  // a learning rate of 1e30 sends the weights to infinity in one step
  const run = trainWith({
    optimizer: { kind: 'sgd', lr: 1e30, momentum: 0, weightDecay: 0 },
    maxGradNorm: 0,
    precision: 'mixed',
  });
  await assert.rejects(run, (error: Error & { hint?: string }) => {
    assert.match(error.message, /training diverged: the loss is (NaN|Infinity) at step \d+/);
    assert.match(error.hint ?? '', /precision: 'fp32'/);
    return true;
  });
});
