// Block replacement against numpy on the committed fixtures (test/fixtures/healing/make_fixtures.py):
// the normal-equations solution equals numpy.linalg.lstsq's, the calibration through layercut's
// own forward gives the same map, and the cut model with the map folded in gives transformers'
// logits, also after an export and reload. The MLP replacement learns to stand in for the block.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import {
  fitLinear,
  fitReplacement,
  foldIntoMlpOutput,
  NormalEquations,
} from '../../src/models/replacement.js';
import { removedBlock } from '../../src/models/removed-block.js';
import { saveModel } from '../../src/models/save.js';
import { keepIndices as keep } from '../../src/models/selection.js';
import { initBackend } from '../../src/runtime/backend.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { fixturesDir } from '../helpers/fixtures.js';

const healing = path.join(fixturesDir, 'healing');

interface Manifest {
  replace: Record<string, { start: number; end: number }>;
  models: Record<string, string>;
}

async function reference(family: string) {
  const file = path.join(healing, `replace-${family}.safetensors`);
  const checkpoint = await openCheckpoint(file);
  try {
    const floats = new Map<string, { data: Float32Array; shape: number[] }>();
    const ints = new Map<string, { data: Int32Array; shape: number[] }>();
    for (const name of checkpoint.names()) {
      if (checkpoint.info(name).dtype === 'I32') ints.set(name, await checkpoint.readInt32(name));
      else floats.set(name, await checkpoint.readFloat32(name));
    }
    return { floats, ints };
  } finally {
    await checkpoint.close();
  }
}

/** max |a − b| / max |b|. */
function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

async function maskedLogitsDiff(logits: tf.Tensor3D, expected: Float32Array, mask: Int32Array): Promise<number> {
  const got = await logits.data();
  const vocab = logits.shape[2];
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    if (mask[Math.floor(i / vocab)] === 1) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
  return worst;
}

/** The rows of [B, T] ids whose mask is 1, as examples (right-padded: a prefix of each row). */
function examplesOf(ids: Int32Array, mask: Int32Array, shape: number[]): EncodedExample[] {
  const [batch, seq] = shape as [number, number];
  return Array.from({ length: batch }, (_, b) => {
    const row = Array.from(ids.subarray(b * seq, (b + 1) * seq)).filter((_, t) => mask[b * seq + t] === 1);
    return { ids: row, scorePosition: row.length - 1, label: 0 };
  });
}

it('removedBlock finds the one contiguous block a selection removes, and says why there is none', () => {
  assert.deepEqual(removedBlock([0, 3], 4), { start: 1, end: 3 });
  assert.deepEqual(removedBlock([0, 1], 4), { start: 2, end: 4 });
  assert.match(removedBlock([0, 1, 2, 3], 4) as string, /removes no layer/);
  assert.match(removedBlock([0, 2], 4) as string, /one contiguous removed block; this selection removes layers 1, 3/);
  assert.match(removedBlock([2, 3], 4) as string, /starts at layer 0/);
});

for (const family of ['gpt2', 'llama'] as const) {
  describe(`least-squares replacement on ${family} against numpy`, () => {
    it('lstsq, calibration, folded logits and the exported checkpoint', async () => {
      await initBackend({ backend: 'cpu' });
      const manifest = JSON.parse(await readFile(path.join(healing, 'manifest.json'), 'utf8')) as Manifest;
      const { start, end } = manifest.replace[family]!;
      const modelDir = path.join(healing, manifest.models[family]!);
      const { floats, ints } = await reference(family);
      const numpyT = floats.get('T')!.data;

      // the normal equations on the fixture's own calibration rows
      const mlpOut = floats.get('mlp_out')!;
      const [rows, width] = mlpOut.shape as [number, number];
      const attnResid = floats.get('attn_resid')!.data;
      const hOut = floats.get('h_out')!.data;
      const equations = new NormalEquations(width, width);
      equations.add(
        mlpOut.data,
        hOut.map((v, i) => v - attnResid[i]!),
        rows,
      );
      const direct = equations.solve();
      assert.ok(relativeDiff(direct, numpyT) <= 1e-4, `T vs lstsq: ${relativeDiff(direct, numpyT)}`);

      // calibrated through layercut's forward on the same calibration ids
      const calib = examplesOf(
        ints.get('calib_ids')!.data,
        ints.get('calib_mask')!.data,
        ints.get('calib_ids')!.shape,
      );
      const fitted = await fitLinear(modelDir, { start, end }, calib, 0);
      assert.equal(fitted.tokens, rows);
      assert.ok(relativeDiff(fitted.solution, numpyT) <= 1e-3, `fitted T: ${relativeDiff(fitted.solution, numpyT)}`);

      // the cut model, plain and with T folded in, against transformers
      const ids = ints.get('input_ids')!;
      const mask = ints.get('attention_mask')!;
      const inputIds = tf.tensor2d(ids.data, ids.shape as [number, number], 'int32');
      const attentionMask = tf.tensor2d(mask.data, mask.shape as [number, number], 'int32');
      const kept = [0, 1, 2, 3].filter((l) => l < start || l >= end);
      const { model } = await loadModel(modelDir, { layers: keep(kept) });
      try {
        const cut = model.logits(inputIds, attentionMask);
        assert.ok((await maskedLogitsDiff(cut, floats.get('logits_cut')!.data, mask.data)) <= 1e-4);
        cut.dispose();
        foldIntoMlpOutput(model, start - 1, fitted.solution);
        const healed = model.logits(inputIds, attentionMask);
        const healedDiff = await maskedLogitsDiff(healed, floats.get('logits_replaced')!.data, mask.data);
        healed.dispose();
        assert.ok(healedDiff <= 1e-3, `replaced logits max|Δ| ${healedDiff}`);
        for (const [key, tensor] of floats) {
          if (!key.startsWith('folded.')) continue;
          const name = key.slice('folded.'.length).replace(/^model\./, '');
          const diff = relativeDiff(await model.params.get(name)!.data(), tensor.data);
          assert.ok(diff <= 1e-4, `${name}: ${diff}`);
        }
        // the export is a plain checkpoint of the cut model: reloaded, the same logits
        const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-replace-'));
        await saveModel(model, dir, { sourceDir: modelDir });
        const { model: reloaded } = await loadModel(dir);
        const again = reloaded.logits(inputIds, attentionMask);
        const reloadDiff = await maskedLogitsDiff(again, floats.get('logits_replaced')!.data, mask.data);
        again.dispose();
        reloaded.dispose();
        assert.ok(reloadDiff <= 1e-3, `reloaded max|Δ| ${reloadDiff}`);
      } finally {
        model.dispose();
        tf.dispose([inputIds, attentionMask]);
      }
    });
  });
}

it('the MLP replacement (LLM-Streamline) learns the block: closer to the uncut logits than the plain cut', async () => {
  await initBackend({ backend: 'cpu' });
  const { floats, ints } = await reference('gpt2');
  const modelDir = path.join(healing, '..', 'models', 'gpt2-tiny');
  const calib = examplesOf(ints.get('calib_ids')!.data, ints.get('calib_mask')!.data, ints.get('calib_ids')!.shape);
  const before = tf.memory().numTensors;
  const replacement = await fitReplacement(
    modelDir,
    [0, 3],
    { kind: 'replace', fit: 'mlp', calibration: calib.length, hidden: 32, steps: 200, lr: 1e-2 },
    calib,
    0,
    1,
  );
  const { model } = await loadModel(modelDir, { layers: keep([0, 3]) });
  const { model: full } = await loadModel(modelDir);
  const inputIds = tf.tensor2d(ints.get('input_ids')!.data, [2, 12], 'int32');
  const attentionMask = tf.tensor2d(ints.get('attention_mask')!.data, [2, 12], 'int32');
  try {
    const fullLogits = full.logits(inputIds, attentionMask);
    const expected = (await fullLogits.data()) as Float32Array;
    fullLogits.dispose();
    const cutLogits = model.logits(inputIds, attentionMask);
    const plainCut = await maskedLogitsDiff(cutLogits, expected, ints.get('attention_mask')!.data);
    cutLogits.dispose();
    assert.ok(floats.get('logits_cut'));
    replacement.apply(model);
    const healedLogits = model.logits(inputIds, attentionMask);
    const healed = await maskedLogitsDiff(healedLogits, expected, ints.get('attention_mask')!.data);
    healedLogits.dispose();
    assert.ok(healed < 0.7 * plainCut, `healed max|Δ| ${healed} vs plain cut ${plainCut}`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-replace-mlp-'));
    await replacement.save(dir, model);
    const saved = await openCheckpoint(path.join(dir, 'replacement.safetensors'));
    assert.deepEqual(saved.names().sort(), ['replacement.b1', 'replacement.b2', 'replacement.w1', 'replacement.w2']);
    await saved.close();
  } finally {
    tf.dispose([inputIds, attentionMask]);
    model.dispose();
    full.dispose();
    replacement.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
});
