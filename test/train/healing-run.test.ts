// Healing options in full runs: LoRA adapters learn the task and save both the PEFT adapter and
// the merged checkpoint; a training-free block replacement changes only what it folds into; a
// dropped sublayer stays zero while the rest trains.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { LoraAdapters } from '../../src/models/lora.js';
import { keepFirst } from '../../src/models/selection.js';
import { PAPER_DEFAULTS, type RunPlan } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { runExperiment } from '../../src/experiment/run.js';
import { fruitDataset, fruitTask, writeTinyGpt2 } from '../helpers/tiny-gpt2.js';
import { adamwSpec } from '../../src/plan/options.js';

let modelDir = '';
before(async () => {
  modelDir = await writeTinyGpt2();
  await initBackend({ backend: 'wasm' });
});

it('LoRA: adapters learn the task; the saved adapter on the cut base equals the merged export', async () => {
  const lora = { kind: 'lora', rank: 4, alpha: 8, targets: 'all', dropout: 0 } as const;
  const plan: RunPlan = {
    model: { kind: 'local', path: modelDir },
    layers: keepFirst(1),
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { ...PAPER_DEFAULTS.method, kind: 'lm' },
    data: { validation: 40, demosPerClass: 0, trainPerClass: 80, test: 100, maxLength: 64, truncate: 'left' },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: 1e-2 }),
      batchSize: 16,
      epochs: 10,
      earlyStopPatience: 4,
      adapters: lora,
    },
    seed: 0,
    backend: 'wasm',
  };
  const saveDir = await mkdtemp(path.join(os.tmpdir(), 'layercut-lora-run-'));
  const result = await runExperiment(plan, { task: fruitTask, dataset: fruitDataset(), saveDir });
  assert.ok(result.test.accuracy >= 0.9, `test accuracy ${result.test.accuracy}`);
  assert.ok(result.curves.train.at(-1)!.loss < result.curves.train[0]!.loss);

  const ids = tf.tensor2d([[11, 300, 42, 7, 900, 13]], [1, 6], 'int32');
  const mask = tf.onesLike(ids) as tf.Tensor2D;
  const { model: merged } = await loadModel(saveDir);
  const { model: base } = await loadModel(modelDir, { layers: keepFirst(1) });
  const adapters = new LoraAdapters(base, lora, 123);
  try {
    const untouched = await base.logits(ids, mask).data();
    const mergedLogits = await merged.logits(ids, mask).data();
    assert.ok(
      untouched.some((v, i) => Math.abs(v - mergedLogits[i]!) > 1e-3),
      'training changed the model through its adapters',
    );
    await adapters.load(path.join(saveDir, 'adapter', 'adapter_model.safetensors'));
    const adapted = await base.logits(ids, mask).data();
    let worst = 0;
    adapted.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - mergedLogits[i]!))));
    assert.ok(worst < 1e-4, `adapter vs merged max|Δ| ${worst}`);
  } finally {
    adapters.dispose();
    base.dispose();
    merged.dispose();
    tf.dispose([ids, mask]);
  }
});

it('replaceBlock linear with 0 epochs: training-free, only the MLP output below the block changes in the export', async () => {
  const plan: RunPlan = {
    model: { kind: 'local', path: modelDir },
    layers: keepFirst(1),
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { ...PAPER_DEFAULTS.method, kind: 'lm' },
    data: { validation: 20, demosPerClass: 0, trainPerClass: 40, test: 40, maxLength: 64, truncate: 'left' },
    train: {
      ...PAPER_DEFAULTS.train,
      epochs: 0,
      replace: { kind: 'replace', fit: 'linear', calibration: 40 },
    },
    seed: 0,
    backend: 'wasm',
  };
  const saveDir = await mkdtemp(path.join(os.tmpdir(), 'layercut-replace-run-'));
  const result = await runExperiment(plan, { task: fruitTask, dataset: fruitDataset(), saveDir });
  assert.equal(result.curves.train.length, 0);
  assert.equal(
    result.test.confusion.flat().reduce((a, b) => a + b, 0),
    40,
  );
  const { model: saved } = await loadModel(saveDir);
  const { model: source } = await loadModel(modelDir, { layers: keepFirst(1) });
  try {
    const changed: string[] = [];
    for (const [name, value] of saved.params) {
      const a = await value.data();
      const b = await source.params.get(name)!.data();
      if (a.some((v, i) => v !== b[i])) changed.push(name);
    }
    // (the tiny model's biases are zero, so b T is too)
    assert.ok(changed.includes('h.0.mlp.c_proj.weight'), changed.join(', '));
    assert.deepEqual(
      changed.filter((n) => !n.startsWith('h.0.mlp.c_proj.')),
      [],
    );
  } finally {
    saved.dispose();
    source.dispose();
  }
});

it('sublayer drops in a run: the dropped attention stays zero through training, the rest trains', async () => {
  const plan: RunPlan = {
    model: { kind: 'local', path: modelDir },
    layers: { kind: 'all' },
    sublayers: { attention: [1], mlp: [] },
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { ...PAPER_DEFAULTS.method, kind: 'lm', freezeEmbeddings: true },
    data: { validation: 20, demosPerClass: 0, trainPerClass: 40, test: 40, maxLength: 64, truncate: 'left' },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: 1e-3, weightDecay: 0.1 }),
      batchSize: 16,
      epochs: 2,
    },
    seed: 0,
    backend: 'wasm',
  };
  const saveDir = await mkdtemp(path.join(os.tmpdir(), 'layercut-sublayer-run-'));
  await runExperiment(plan, { task: fruitTask, dataset: fruitDataset(), saveDir });
  const { model: saved } = await loadModel(saveDir);
  const { model: source } = await loadModel(modelDir);
  try {
    const values = async (m: typeof saved, name: string) => Array.from(await m.params.get(name)!.data());
    assert.ok((await values(saved, 'h.1.attn.c_proj.weight')).every((v) => v === 0));
    assert.deepEqual(
      await values(saved, 'h.1.attn.c_attn.weight'),
      await values(source, 'h.1.attn.c_attn.weight'),
    );
    const mlpBefore = await values(source, 'h.1.mlp.c_fc.weight');
    assert.ok((await values(saved, 'h.1.mlp.c_fc.weight')).some((v, i) => v !== mlpBefore[i]));
  } finally {
    saved.dispose();
    source.dispose();
  }
});
