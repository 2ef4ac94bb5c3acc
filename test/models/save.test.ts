// A cut model saved as a Hugging Face directory loads back with the same logits.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { saveModel } from '../../src/models/save.js';
import { keepFirst, keepIndices } from '../../src/models/selection.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { modelFixture } from '../helpers/fixtures.js';

await tf.setBackend('cpu');

for (const [fixture, selection, prefix] of [
  ['gpt2-tiny', keepIndices([1, 3]), 'transformer.h.'],
  ['opt-tiny', keepFirst(2), 'model.decoder.layers.'],
  ['opt-tiny-postln', keepIndices([0, 2]), 'model.decoder.layers.'],
] as const) {
  it(`${fixture}: saved cut model reloads with identical logits and renumbered layers`, async () => {
    const source = modelFixture(fixture);
    const { model } = await loadModel(source, { layers: selection });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-save-'));
    await saveModel(model, dir, { sourceDir: source, metadata: { method: 'lm' } });

    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(config['n_layer'] ?? config['num_hidden_layers'], 2);
    assert.deepEqual((config['layercut'] as { kept_layers: number[] }).kept_layers, model.info.keptLayers);
    const checkpoint = await openCheckpoint(dir);
    const layerIndices = new Set(
      checkpoint
        .names()
        .filter((n) => n.startsWith(prefix))
        .map((n) => n.slice(prefix.length).split('.')[0]),
    );
    assert.deepEqual([...layerIndices].sort(), ['0', '1']);
    await checkpoint.close();

    const { model: reloaded } = await loadModel(dir);
    const ids = tf.tensor2d([[5, 9, 17, 3, 44]], [1, 5], 'int32');
    const mask = tf.ones([1, 5], 'int32') as tf.Tensor2D;
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(model.logits(ids, mask), reloaded.logits(ids, mask)))).dataSync()[0]!,
    );
    assert.equal(diff, 0);
    tf.dispose([ids, mask]);
    model.dispose();
    reloaded.dispose();
  });
}
