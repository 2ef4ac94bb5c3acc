// Training maths equal PyTorch: prompt-based loss, clipping and three AdamW steps with warm-up
// and weight decay (fixture test/fixtures/models/train-gpt2-adamw, made by make_fixtures.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { clipByGlobalNorm } from '../../src/train/clip.js';
import { promptLmLoss, type PromptBatch } from '../../src/train/objectives.js';
import { AdamW } from '../../src/train/optimizers.js';
import { lrFactor, type LrSchedule } from '../../src/train/schedule.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

const fixtureDir = modelFixture('train-gpt2-adamw');
const settings = JSON.parse(readFileSync(path.join(fixtureDir, 'settings.json'), 'utf8')) as {
  lr: number;
  warmup_steps: number;
  total_steps: number;
  weight_decay: number;
  betas: [number, number];
  eps: number;
  max_grad_norm: number;
  steps: number;
};

it('three AdamW steps of prompt-based fine-tuning match torch.optim.AdamW to 1e-5', async () => {
  const reference = await openCheckpoint(path.join(fixtureDir, 'reference.safetensors'));
  const int = async (name: string) => (await reference.readInt32(name)).data;
  const float = async (name: string) => (await reference.readFloat32(name)).data;
  const ids = await reference.readInt32('input_ids');
  const [batchSize, seq] = ids.shape as [number, number];
  const batch: PromptBatch = {
    inputIds: tf.tensor2d(ids.data, [batchSize, seq], 'int32'),
    attentionMask: tf.tensor2d(await int('attention_mask'), [batchSize, seq], 'int32'),
    answerPositions: tf.tensor1d(await int('answer_positions'), 'int32'),
    labels: tf.tensor1d(await int('labels'), 'int32'),
  };
  const labelTokenIds = tf.tensor1d(await int('label_token_ids'), 'int32');

  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const optimizer = new AdamW(model.params, {
    betas: settings.betas,
    eps: settings.eps,
    weightDecay: settings.weight_decay,
  });
  const schedule: LrSchedule = {
    kind: 'linear',
    warmupSteps: settings.warmup_steps,
    totalSteps: settings.total_steps,
  };
  const variables = [...model.params.values()];
  const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));

  for (let step = 0; step < settings.steps; step++) {
    const lr = settings.lr * lrFactor(schedule, step);
    assert.ok(Math.abs(lr - (await float(`lr_step${step}`))[0]!) < 1e-9, `lr at step ${step}`);
    const { value, grads } = tf.variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
    const byName: tf.NamedTensorMap = {};
    for (const [varName, g] of Object.entries(grads)) byName[nameOf.get(varName)!] = g;
    const clipped = clipByGlobalNorm(byName, settings.max_grad_norm);
    const expectedLoss = (await float(`loss_step${step}`))[0]!;
    const expectedNorm = (await float(`grad_norm_step${step}`))[0]!;
    assert.ok(
      Math.abs(value.dataSync()[0]! - expectedLoss) < 1e-5,
      `loss at step ${step}: ${value.dataSync()[0]} vs ${expectedLoss}`,
    );
    assert.ok(
      Math.abs(clipped.norm.dataSync()[0]! - expectedNorm) < 1e-5 * Math.max(1, expectedNorm),
      `grad norm at step ${step}`,
    );
    optimizer.step(clipped.grads, lr);
    tf.dispose([value, grads, clipped.grads, clipped.norm]);
  }

  // The key bias has an exactly zero gradient (adding a constant to every score of a query
  // leaves its softmax unchanged), so Adam divides rounding noise by rounding noise there:
  // float32 and float64 noise differ, and the update is bounded by Σ lr, not reproducible.
  const KEY_BIAS = { begin: 32, end: 64 }; // c_attn.bias is [q | k | v], D = 32
  let keyBiasDrift = 0;
  let worst = 0;
  let worstName = '';
  for (const [name, variable] of model.params) {
    const expected = await float(`after.${name}`);
    const actual = variable.dataSync();
    for (let i = 0; i < expected.length; i++) {
      if (name.endsWith('c_attn.bias') && i >= KEY_BIAS.begin && i < KEY_BIAS.end) {
        keyBiasDrift = Math.max(keyBiasDrift, Math.abs(actual[i]! - expected[i]!));
        continue;
      }
      const diff = Math.abs(actual[i]! - expected[i]!);
      if (diff > worst) [worst, worstName] = [diff, name];
    }
  }
  assert.ok(worst < 1e-5, `weights after ${settings.steps} steps: max |Δ| ${worst} in ${worstName}`);
  const lrSum = [0, 1, 2].reduce((sum, s) => sum + settings.lr * lrFactor(schedule, s), 0);
  assert.ok(keyBiasDrift <= lrSum, `key-bias drift ${keyBiasDrift} exceeds Σ lr ${lrSum}`);
  assert.equal(model.params.size, reference.names().filter((n) => n.startsWith('after.')).length);
  optimizer.dispose();
  model.dispose();
  tf.dispose([batch.inputIds, batch.attentionMask, batch.answerPositions, batch.labels, labelTokenIds]);
  await reference.close();
});

it('the key bias gradient is zero up to rounding (why the test above sets it apart)', async () => {
  const { model } = await loadModel(modelFixture('gpt2-tiny'), { layers: { kind: 'first', count: 1 } });
  const reference = await openCheckpoint(path.join(fixtureDir, 'reference.safetensors'));
  const ids = await reference.readInt32('input_ids');
  const shape = ids.shape as [number, number];
  const batch: PromptBatch = {
    inputIds: tf.tensor2d(ids.data, shape, 'int32'),
    attentionMask: tf.tensor2d((await reference.readInt32('attention_mask')).data, shape, 'int32'),
    answerPositions: tf.tensor1d((await reference.readInt32('answer_positions')).data, 'int32'),
    labels: tf.tensor1d((await reference.readInt32('labels')).data, 'int32'),
  };
  const labelTokenIds = tf.tensor1d((await reference.readInt32('label_token_ids')).data, 'int32');
  const bias = model.params.get('h.0.attn.c_attn.bias')!;
  const { grads } = tf.variableGrads(() => promptLmLoss(model, batch, labelTokenIds), [bias]);
  const g = grads[bias.name]!.dataSync();
  const keyPart = Array.from(g.slice(32, 64), Math.abs);
  const queryPart = Array.from(g.slice(0, 32), Math.abs);
  assert.ok(Math.max(...keyPart) < 1e-6, `key-bias gradient ${Math.max(...keyPart)}`);
  assert.ok(Math.max(...queryPart) > 1e-4, 'the query bias does learn');
  tf.dispose([
    grads,
    batch.inputIds,
    batch.attentionMask,
    batch.answerPositions,
    batch.labels,
    labelTokenIds,
  ]);
  model.dispose();
  await reference.close();
});

it('schedules follow the Hugging Face formulas', () => {
  const linear: LrSchedule = { kind: 'linear', warmupSteps: 2, totalSteps: 10 };
  assert.deepEqual(
    [0, 1, 2, 6, 10, 12].map((s) => lrFactor(linear, s)),
    [0, 0.5, 1, 0.5, 0, 0],
  );
  const cosine: LrSchedule = { kind: 'cosine', warmupSteps: 0, totalSteps: 4 };
  assert.deepEqual(
    [0, 2, 4].map((s) => +lrFactor(cosine, s).toFixed(12)),
    [1, 0.5, 0],
  );
  assert.equal(lrFactor({ kind: 'constant' }, 1000), 1);
  assert.equal(lrFactor({ kind: 'constant', warmupSteps: 4 }, 1), 0.25);
});
