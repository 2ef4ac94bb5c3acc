// Sublayer drops against transformers with the same modules deleted (test/fixtures/healing/
// make_fixtures.py): logits of each case, the export (re-indexed where a whole layer goes) reloaded,
// and block influence / angular distance per sublayer against the reference residual stream.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { saveModel } from '../../src/models/save.js';
import { keepIndices } from '../../src/models/selection.js';
import { applySublayerDrops, layersLeft } from '../../src/models/sublayer-drops.js';
import { initBackend } from '../../src/runtime/backend.js';
import { sublayerMeasures, sublayerStates } from '../../src/select/sublayer-measures.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { fixturesDir, modelFixture } from '../helpers/fixtures.js';

const healing = path.join(fixturesDir, 'healing');
const TOLERANCE = 1e-4;

interface Manifest {
  sublayers: Record<string, { drop_attn: number[]; drop_mlp: number[] }[]>;
  models: Record<string, string>;
}

async function reference(family: string) {
  const checkpoint = await openCheckpoint(path.join(healing, `sublayers-${family}.safetensors`));
  try {
    const floats = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of checkpoint.names())
      if (checkpoint.info(name).dtype !== 'I32') floats.set(name, await checkpoint.readFloat32(name));
    return {
      floats,
      ids: await checkpoint.readInt32('input_ids'),
      mask: await checkpoint.readInt32('attention_mask'),
    };
  } finally {
    await checkpoint.close();
  }
}

async function maskedDiff(values: tf.Tensor, expected: Float32Array, mask: Int32Array): Promise<number> {
  const got = await values.data();
  const perToken = got.length / mask.length;
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    if (mask[Math.floor(i / perToken)] === 1) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
  return worst;
}

for (const family of ['gpt2', 'llama'] as const) {
  describe(`sublayer drops on ${family} against transformers`, () => {
    it('every case: logits, frozen parameters, and the export reloaded', async () => {
      await initBackend({ backend: 'cpu' });
      const manifest = JSON.parse(await readFile(path.join(healing, 'manifest.json'), 'utf8')) as Manifest;
      const modelDir = path.join(healing, manifest.models[family]!);
      const { floats, ids, mask } = await reference(family);
      const inputIds = tf.tensor2d(ids.data, ids.shape as [number, number], 'int32');
      const attentionMask = tf.tensor2d(mask.data, mask.shape as [number, number], 'int32');
      try {
        for (const [k, spec] of manifest.sublayers[family]!.entries()) {
          const drops = { attention: spec.drop_attn, mlp: spec.drop_mlp };
          const kept = layersLeft([0, 1, 2, 3], drops);
          const { model } = await loadModel(modelDir, { layers: keepIndices(kept) });
          try {
            const frozen = applySublayerDrops(model, drops);
            const attnProjection = family === 'gpt2' ? 'attn.c_attn.weight' : 'self_attn.q_proj.weight';
            const prefix = family === 'gpt2' ? 'h' : 'layers';
            for (const layer of drops.attention.filter((l) => kept.includes(l)))
              assert.ok(frozen.has(`${prefix}.${layer}.${attnProjection}`), `layer ${layer}'s attention is frozen`);
            const logits = model.logits(inputIds, attentionMask);
            const diff = await maskedDiff(logits, floats.get(`logits_case${k}`)!.data, mask.data);
            logits.dispose();
            assert.ok(diff <= TOLERANCE, `case ${k}: max|Δ| ${diff}`);

            const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-sublayers-'));
            await saveModel(model, dir, { sourceDir: modelDir });
            const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, number>;
            assert.equal(config[family === 'gpt2' ? 'n_layer' : 'num_hidden_layers'], kept.length);
            const { model: reloaded } = await loadModel(dir);
            const again = reloaded.logits(inputIds, attentionMask);
            const reloadDiff = await maskedDiff(again, floats.get(`logits_case${k}`)!.data, mask.data);
            again.dispose();
            reloaded.dispose();
            assert.ok(reloadDiff <= TOLERANCE, `case ${k} reloaded: max|Δ| ${reloadDiff}`);
          } finally {
            model.dispose();
          }
        }
        // gpt2's case 0 drops both sublayers of layer 3: that layer is not loaded at all
        if (family === 'gpt2') assert.deepEqual(layersLeft([0, 1, 2, 3], { attention: [1, 3], mlp: [0, 3] }), [0, 1, 2]);
      } finally {
        tf.dispose([inputIds, attentionMask]);
      }
    });

    it('block influence and angular distance per sublayer', async () => {
      await initBackend({ backend: 'cpu' });
      const manifest = JSON.parse(await readFile(path.join(healing, 'manifest.json'), 'utf8')) as Manifest;
      const { floats, ids, mask } = await reference(family);
      const { model } = await loadModel(path.join(healing, manifest.models[family]!));
      const inputIds = tf.tensor2d(ids.data, ids.shape as [number, number], 'int32');
      const attentionMask = tf.tensor2d(mask.data, mask.shape as [number, number], 'int32');
      const before = tf.memory().numTensors;
      try {
        const states = sublayerStates(model, inputIds, attentionMask);
        const stacked = tf.stack(states);
        const expected = floats.get('sub_states')!;
        assert.deepEqual(stacked.shape, expected.shape);
        // [2L+1, B, T, D]: compare at real tokens of every state
        const perState = expected.data.length / expected.shape[0]!;
        const got = await stacked.data();
        let worst = 0;
        for (let i = 0; i < got.length; i++) {
          const token = Math.floor((i % perState) / expected.shape[3]!);
          if (mask.data[token] === 1) worst = Math.max(worst, Math.abs(got[i]! - expected.data[i]!));
        }
        assert.ok(worst <= TOLERANCE, `sublayer states max|Δ| ${worst}`);
        tf.dispose([stacked, ...states]);
        const measures = await sublayerMeasures(model, inputIds, attentionMask);
        const near = (a: number[], b: Float32Array, what: string) =>
          a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= TOLERANCE, `${what}[${i}]: ${v} vs ${b[i]}`));
        assert.equal(measures.influence.length, 8);
        near(measures.influence, floats.get('sublayer_influence')!.data, 'influence');
        near(measures.angular, floats.get('sublayer_angular')!.data, 'angular');
        assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
      } finally {
        tf.dispose([inputIds, attentionMask]);
        model.dispose();
      }
    });
  });
}

// The families without a transformers reference for sublayer drops: dropping both sublayers of a
// layer by their layout must equal not loading that layer, which checks the layout's names.
for (const fixture of ['opt-tiny', 'qwen2-tiny', 'qwen3-tiny', 'mistral-tiny', 'phi3-tiny', 'gemma-tiny', 'gpt-neox-tiny', 'gpt-neox-tiny-sequential']) {
  it(`${fixture}: both sublayers of layer 1 dropped = layer 1 not loaded; one dropped changes the logits`, async () => {
    await initBackend({ backend: 'cpu' });
    const dir = modelFixture(fixture);
    const ids = tf.tensor2d([[3, 9, 14, 27, 40, 2]], [1, 6], 'int32');
    const mask = tf.onesLike(ids) as tf.Tensor2D;
    const logits = async (layers: number[], drops: { attention: number[]; mlp: number[] }) => {
      const { model } = await loadModel(dir, { layers: keepIndices(layers) });
      try {
        applySublayerDrops(model, drops);
        return Array.from(await model.logits(ids, mask).data());
      } finally {
        model.dispose();
      }
    };
    const none = { attention: [], mlp: [] };
    const removed = await logits([0, 2, 3], none);
    const bothDropped = await logits([0, 1, 2, 3], { attention: [1], mlp: [1] });
    const worst = Math.max(...removed.map((v, i) => Math.abs(v - bothDropped[i]!)));
    assert.ok(worst <= 1e-5, `max|Δ| ${worst}`);
    const full = await logits([0, 1, 2, 3], none);
    const attentionOnly = await logits([0, 1, 2, 3], { attention: [1], mlp: [] });
    assert.ok(Math.max(...full.map((v, i) => Math.abs(v - attentionOnly[i]!))) > 1e-4);
    tf.dispose([ids, mask]);
  });
}
