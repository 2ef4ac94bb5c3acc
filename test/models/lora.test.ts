// LoRA adapters equal PEFT's on the committed fixtures (test/fixtures/healing/make_fixtures.py):
// forward logits, the gradients of a prompt-style loss w.r.t. every lora_A / lora_B, the saved
// adapter key for key, the merged weights and the merged model's logits after a save and reload.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { LoraAdapters } from '../../src/models/lora.js';
import { layerProjections, selectProjections } from '../../src/models/lora-targets.js';
import { saveModel } from '../../src/models/save.js';
import { keepFirst } from '../../src/models/selection.js';
import { families } from '../../src/models/load.js';
import type { LoraSpec } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { atPositions, crossEntropy } from '../../src/train/objectives.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { fixturesDir, modelFixture } from '../helpers/fixtures.js';

const healing = path.join(fixturesDir, 'healing');

interface Manifest {
  lora: Record<string, { r: number; lora_alpha: number; target_modules: string[]; fan_in_fan_out: boolean }>;
  models: Record<string, string>;
}

async function manifest(): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(healing, 'manifest.json'), 'utf8')) as Manifest;
}

/** Every float tensor of a safetensors file by name. */
async function readAll(file: string): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  const checkpoint = await openCheckpoint(file);
  try {
    const out = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of checkpoint.names()) {
      if (checkpoint.info(name).dtype === 'I32' || checkpoint.info(name).dtype === 'I64') continue;
      out.set(name, await checkpoint.readFloat32(name));
    }
    return out;
  } finally {
    await checkpoint.close();
  }
}

async function readInts(file: string, name: string): Promise<{ data: Int32Array; shape: number[] }> {
  const checkpoint = await openCheckpoint(file);
  try {
    return await checkpoint.readInt32(name);
  } finally {
    await checkpoint.close();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Max |Δ| of logits [B, T, V] over the real positions of `mask`. */
async function logitsDiff(logits: tf.Tensor3D, expected: Float32Array, mask: Int32Array): Promise<number> {
  const got = await logits.data();
  const vocab = logits.shape[2];
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    if (mask[Math.floor(i / vocab)] === 1) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
  }
  return worst;
}

const TOLERANCE = 1e-5;

for (const family of ['gpt2', 'llama'] as const) {
  describe(`LoRA on ${family} against PEFT`, () => {
    it('forward, gradients, saved adapter, merged weights and merged export', async () => {
      await initBackend({ backend: 'cpu' });
      const settings = (await manifest()).lora[family]!;
      const modelDir = path.join(healing, (await manifest()).models[family]!);
      const reference = path.join(healing, `lora-${family}.safetensors`);
      const expected = await readAll(reference);
      const ids = await readInts(reference, 'input_ids');
      const mask = await readInts(reference, 'attention_mask');
      const answers = await readInts(reference, 'answer_positions');
      const labelIds = await readInts(reference, 'label_token_ids');
      const labels = await readInts(reference, 'labels');
      const shape = ids.shape as [number, number];

      const { model } = await loadModel(modelDir);
      const before = tf.memory().numTensors;
      const adapters = new LoraAdapters(
        model,
        { kind: 'lora', rank: settings.r, alpha: settings.lora_alpha, targets: settings.target_modules, dropout: 0 },
        0,
      );
      await adapters.load(path.join(healing, `lora-${family}`, 'adapter_model.safetensors'));
      const inputIds = tf.tensor2d(ids.data, shape, 'int32');
      const attentionMask = tf.tensor2d(mask.data, shape, 'int32');
      try {
        // forward
        const logits = model.logits(inputIds, attentionMask);
        const forward = await logitsDiff(logits, expected.get('logits')!.data, mask.data);
        logits.dispose();
        assert.ok(forward <= TOLERANCE, `logits max|Δ| ${forward}`);

        // gradients of the prompt-style loss w.r.t. every adapter weight (and nothing else)
        const { value, grads } = tf.variableGrads(() => {
          const { lastHidden } = model.forward(inputIds, attentionMask);
          const answer = tf.tensor1d(answers.data, 'int32');
          const scores = model.lmHead(atPositions(lastHidden, answer), tf.tensor1d(labelIds.data, 'int32'));
          return crossEntropy(scores as tf.Tensor2D, tf.tensor1d(labels.data, 'int32'));
        }, [...adapters.params.values()]);
        const loss = (await value.data())[0]!;
        assert.ok(Math.abs(loss - expected.get('loss')!.data[0]!) <= TOLERANCE, `loss ${loss}`);
        const byVariable = new Map([...adapters.params].map(([name, v]) => [v.name, name]));
        assert.equal(Object.keys(grads).length, adapters.params.size);
        for (const [variableName, grad] of Object.entries(grads)) {
          const key = adapters.savedKey(byVariable.get(variableName)!);
          const want = expected.get(`grad.${key}`);
          assert.ok(want, `the fixture has a gradient for ${key}`);
          const worst = maxAbsDiff(await grad.data(), want.data);
          assert.ok(worst <= TOLERANCE, `${key}: gradient max|Δ| ${worst}`);
        }
        tf.dispose([value, ...Object.values(grads)]);

        // the saved adapter: PEFT's keys, shapes and values, and its config's settings
        const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-lora-'));
        await adapters.save(path.join(dir, 'adapter'), { baseModel: modelDir });
        const saved = await readAll(path.join(dir, 'adapter', 'adapter_model.safetensors'));
        const peft = await readAll(path.join(healing, `lora-${family}`, 'adapter_model.safetensors'));
        assert.deepEqual([...saved.keys()].sort(), [...peft.keys()].sort());
        for (const [key, tensor] of peft) {
          assert.deepEqual(saved.get(key)!.shape, tensor.shape, key);
          assert.equal(maxAbsDiff(saved.get(key)!.data, tensor.data), 0, key);
        }
        const ours = JSON.parse(await readFile(path.join(dir, 'adapter', 'adapter_config.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        const theirs = JSON.parse(
          await readFile(path.join(healing, `lora-${family}`, 'adapter_config.json'), 'utf8'),
        ) as Record<string, unknown>;
        for (const [key, value] of Object.entries(ours)) {
          assert.ok(key in theirs, `PEFT's adapter_config.json has '${key}'`);
          if (key !== 'base_model_name_or_path') assert.deepEqual(value, theirs[key], key);
        }

        // merged: the weights equal PEFT's merge_and_unload, and so do the logits
        adapters.merge();
        for (const [key, tensor] of expected) {
          if (!key.startsWith('merged.')) continue;
          const name = key.slice('merged.'.length).replace(/^model\./, '');
          const worst = maxAbsDiff(await model.params.get(name)!.data(), tensor.data);
          assert.ok(worst <= 1e-6, `${name}: merged weight max|Δ| ${worst}`);
        }
        const merged = model.logits(inputIds, attentionMask);
        const mergedDiff = await logitsDiff(merged, expected.get('logits_merged')!.data, mask.data);
        merged.dispose();
        assert.ok(mergedDiff <= TOLERANCE, `merged logits max|Δ| ${mergedDiff}`);

        // the merged export is a plain checkpoint with the source's keys; reloaded, the same logits
        await saveModel(model, path.join(dir, 'merged'), { sourceDir: modelDir });
        const exported = await openCheckpoint(path.join(dir, 'merged', 'model.safetensors'));
        const source = await openCheckpoint(path.join(modelDir, 'model.safetensors'));
        const strip = (k: string) => k.replace(/^transformer\./, '');
        assert.deepEqual(exported.names().map(strip).sort(), source.names().map(strip).sort());
        await Promise.all([exported.close(), source.close()]);
        const { model: reloaded } = await loadModel(path.join(dir, 'merged'));
        const again = reloaded.logits(inputIds, attentionMask);
        const reloadDiff = await logitsDiff(again, expected.get('logits_merged')!.data, mask.data);
        again.dispose();
        reloaded.dispose();
        assert.ok(reloadDiff <= TOLERANCE, `reloaded merged logits max|Δ| ${reloadDiff}`);
      } finally {
        tf.dispose([inputIds, attentionMask]);
        adapters.dispose();
        assert.equal(tf.memory().numTensors, before, 'adapters leave no tensors behind');
        model.dispose();
      }
    });
  });
}

describe('LoRA targets', () => {
  it("match PEFT's suffix rule, name the projections when one matches nothing, and skip frozen layers", async () => {
    await initBackend({ backend: 'cpu' });
    const gpt2 = families.find((f) => f.modelTypes.includes('gpt2'))!;
    const { model } = await loadModel(modelFixture('gpt2-tiny'), { layers: keepFirst(3) });
    try {
      const projections = layerProjections(gpt2, model.info.config);
      assert.deepEqual(projections, ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']);
      assert.deepEqual(selectProjections(projections, ['c_proj']).selected, ['attn.c_proj', 'mlp.c_proj']);
      assert.deepEqual(selectProjections(projections, ['attn.c_proj', 'q_proj']).unmatched, ['q_proj']);
      assert.throws(
        () => new LoraAdapters(model, { kind: 'lora', rank: 2, alpha: 2, targets: ['q_proj'], dropout: 0 }, 0),
        /LoRA target 'q_proj' matches no projection of gpt2.*attn\.c_attn, attn\.c_proj, mlp\.c_fc, mlp\.c_proj/s,
      );
      const adapters = new LoraAdapters(
        model,
        { kind: 'lora', rank: 2, alpha: 4, targets: 'all', dropout: 0 },
        3,
        [1],
      );
      try {
        // layers 0 and 2 (not frozen 1) × 4 projections × (A, B)
        assert.equal(adapters.params.size, 2 * 4 * 2);
        assert.ok(!adapters.params.has('h.1.attn.c_attn.lora_A.weight'));
        // B starts at zero: the adapted model computes what the model did
        const ids = tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32');
        const mask = tf.onesLike(ids) as tf.Tensor2D;
        const withAdapters = await model.logits(ids, mask).data();
        adapters.merge();
        const merged = await model.logits(ids, mask).data();
        assert.equal(maxAbsDiff(withAdapters, merged), 0);
        tf.dispose([ids, mask]);
        // the saved adapter renumbers the kept layers and lists the adapted ones
        const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-lora-'));
        await adapters.save(dir, { baseModel: 'gpt2-tiny' });
        const config = JSON.parse(await readFile(path.join(dir, 'adapter_config.json'), 'utf8')) as {
          layers_to_transform: number[];
          target_modules: string[];
        };
        assert.deepEqual(config.layers_to_transform, [0, 2]);
        assert.deepEqual(config.target_modules, projections);
      } finally {
        adapters.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});

describe('LoRA dropout', () => {
  it('drops adapter inputs during training steps only, with masks that repeat run to run', async () => {
    await initBackend({ backend: 'cpu' });
    const spec: LoraSpec = { kind: 'lora', rank: 2, alpha: 4, targets: ['c_attn'], dropout: 0.5 };
    const ids = tf.tensor2d([[5, 6, 7, 8, 9]], [1, 5], 'int32');
    const mask = tf.onesLike(ids) as tf.Tensor2D;
    /** Logits outside and inside gradient recording, with every lora_B set to 0.3. */
    const readings = async () => {
      const { model } = await loadModel(modelFixture('gpt2-tiny'));
      const adapters = new LoraAdapters(model, spec, 5);
      for (const [name, v] of adapters.params) if (name.includes('lora_B')) v.assign(tf.fill(v.shape, 0.3));
      const plain = await model.logits(ids, mask).data();
      const again = await model.logits(ids, mask).data();
      let training: Float32Array | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.logits(ids, mask);
        training = logits.dataSync() as Float32Array;
        return tf.sum(logits) as tf.Scalar;
      }, [...adapters.params.values()]);
      tf.dispose([value, ...Object.values(grads)]);
      adapters.dispose();
      model.dispose();
      return { plain, again, training: training! };
    };
    const first = await readings();
    const second = await readings();
    assert.deepEqual(Array.from(first.again), Array.from(first.plain), 'no dropout outside training steps');
    assert.ok(maxAbsDiff(first.training, first.plain) > 1e-3, 'dropout inside a training step');
    assert.deepEqual(Array.from(second.training), Array.from(first.training), 'seeded masks');
    tf.dispose([ids, mask]);
  });
});
