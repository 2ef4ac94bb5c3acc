// The layercut half of the export check (scripts/export-check.ts): the saved folder loads again
// in layercut and gives exactly the logits written beside it; fine-tuning changed them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { checkInputs, exportForCheck } from '../../scripts/export-check.js';
import { loadModel } from '../../src/models/load.js';
import { keepIndices } from '../../src/models/selection.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

const out = mkdtempSync(path.join(os.tmpdir(), 'layercut-export-check-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** max |a − b| over positions whose mask is 1; a, b: [B, T, V] flattened. */
function maxDiffOnReal(a: Float32Array, b: Float32Array, mask: Int32Array, vocab: number): number {
  let max = 0;
  mask.forEach((real, position) => {
    if (!real) return;
    for (let v = 0; v < vocab; v++) {
      max = Math.max(max, Math.abs(a[position * vocab + v]! - b[position * vocab + v]!));
    }
  });
  return max;
}

for (const [fixture, layers, kept] of [
  ['gpt2-tiny', '0, 2', [0, 2]],
  ['roberta-tiny', 'first 1 + last 1', [0, 3]],
] as const) {
  it(`${fixture}: the saved cut reloads with the written logits; two AdamW steps changed them`, async () => {
    const dir = path.join(out, fixture);
    const summary = await exportForCheck({ model: fixture, layers, out: dir, trainSteps: 2 });
    assert.deepEqual(summary.keptLayers, [...kept]);
    assert.equal(summary.reloadMaxAbsDiff, 0);
    assert.deepEqual(summary.shape, [2, 12, 99]);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'export-check.json'), 'utf8')), summary);

    const file = await openCheckpoint(path.join(dir, 'layercut-logits.safetensors'));
    const ids = await file.readInt32('input_ids');
    const mask = await file.readInt32('attention_mask');
    const written = await file.readFloat32('logits');
    await file.close();
    assert.deepEqual(ids.shape, [2, 12]);
    assert.deepEqual(Array.from(mask.data), [...Array(12).fill(1), ...Array(8).fill(1), 0, 0, 0, 0]);
    const padId = fixture === 'roberta-tiny' ? 1 : 0;
    assert.deepEqual(ids.data, checkInputs(99, padId, 0).ids);
    assert.ok(Array.from(ids.data.slice(0, 20)).every((id) => id >= 3 && id < 99 && id !== padId));

    const inputIds = tf.tensor2d(ids.data, [2, 12], 'int32');
    const attentionMask = tf.tensor2d(mask.data, [2, 12], 'int32');
    const { model: saved } = await loadModel(path.join(dir, 'model'));
    assert.equal(saved.info.layersAfter, 2);
    const again = saved.logits(inputIds, attentionMask);
    assert.equal(maxDiffOnReal((await again.data()) as Float32Array, written.data, mask.data, 99), 0);

    // the same cut without training scores differently: the saved weights are the trained ones
    const { model: untrained } = await loadModel(modelFixture(fixture), { layers: keepIndices([...kept]) });
    const before = untrained.logits(inputIds, attentionMask);
    assert.ok(maxDiffOnReal((await before.data()) as Float32Array, written.data, mask.data, 99) > 1e-3);
    tf.dispose([inputIds, attentionMask, again, before]);
    saved.dispose();
    untrained.dispose();
  });
}
