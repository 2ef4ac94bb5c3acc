// Training options: SGD with momentum, gradient accumulation, linear probing (frozen backbone).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { PAPER_DEFAULTS, type MethodName, type TrainSpec } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { Sgd } from '../../src/train/optimizers.js';
import { makeScorer } from '../../src/train/scorers.js';
import { train } from '../../src/train/trainer.js';
import { modelFixture } from '../helpers/fixtures.js';
import { tinyPromptExamples, tinyVerbalizer } from '../helpers/prompt-examples.js';

await initBackend({ backend: 'cpu' });

it('SGD with momentum follows torch.optim.SGD: buf = μ·buf + g (buf = g first), p −= lr·buf', () => {
  const p = tf.variable(tf.tensor1d([1, -2]));
  const sgd = new Sgd(new Map([['p', p]]), { momentum: 0.9 });
  let expected = [1, -2];
  let buffer: number[] | undefined;
  for (let step = 0; step < 3; step++) {
    const grad = expected.map((v) => 2 * v); // d/dp of Σ p²
    buffer = buffer ? buffer.map((b, i) => 0.9 * b + grad[i]!) : grad;
    expected = expected.map((v, i) => v - 0.1 * buffer![i]!);
    const g = tf.tidy(() => tf.mul(p, 2));
    sgd.step({ p: g }, 0.1);
    g.dispose();
  }
  const actual = Array.from(p.dataSync());
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${v} vs ${expected[i]}`));
  sgd.dispose();
  p.dispose();
});

const examples = tinyPromptExamples;
const verbalizer = tinyVerbalizer;

/** Trains once from the fixture's weights; the parameters after, and which trainable ones changed. */
async function trainOnce(
  method: MethodName,
  spec: Partial<TrainSpec>,
): Promise<{ params: Map<string, Float32Array>; changed: string[] }> {
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const scorer = makeScorer(model, { ...PAPER_DEFAULTS.method, kind: method }, verbalizer, 0);
  const snapshot = (variables: Iterable<[string, tf.Variable]>) =>
    new Map([...variables].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
  const before = snapshot(scorer.trainable);
  await train(scorer, examples, [], {
    spec: {
      ...PAPER_DEFAULTS.train,
      optimizer: { kind: 'sgd', lr: 0.5, momentum: 0, weightDecay: 0 },
      epochs: 1,
      ...spec,
    },
    seed: 0,
    padId: 0,
    labels: verbalizer.labels,
  });
  const params = snapshot([...model.params, ...scorer.head]);
  const changed = [...scorer.trainable.keys()].filter((n) =>
    params.get(n)!.some((x, i) => x !== before.get(n)![i]),
  );
  scorer.dispose();
  model.dispose();
  return { params, changed };
}

it('two accumulated batches of 4 make the same step as one batch of 8', async () => {
  const whole = await trainOnce('lm', { batchSize: 8, gradientAccumulation: 1 });
  const accumulated = await trainOnce('lm', { batchSize: 4, gradientAccumulation: 2 });
  let worst = 0;
  for (const [name, values] of whole.params) {
    const other = accumulated.params.get(name)!;
    values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - other[i]!))));
  }
  assert.ok(worst < 1e-6, `max |Δ| ${worst}`);
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const initial = model.params.get('h.0.attn.c_attn.weight')!.dataSync();
  assert.ok(
    whole.params.get('h.0.attn.c_attn.weight')!.some((v, i) => v !== initial[i]),
    'the step changed the weights',
  );
  model.dispose();
});

it('linear-probe trains only the new head: the backbone is unchanged', async () => {
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const initial = new Map([...model.params].map(([n, v]) => [n, v.dataSync().slice()]));
  model.dispose();
  const after = await trainOnce('linear-probe', { batchSize: 4, epochs: 2 });
  for (const [name, values] of initial) assert.deepEqual(after.params.get(name), values, `${name} changed`);
  assert.deepEqual(after.changed, ['score.weight']);
});
