/**
 * Layer measurements of a model whose numbers are not finite are errors that name the measure
 * and the layer, never scores and suggested cuts: the shipped tiny-english with NaN written into
 * one weight of layer 3 (its own F16 safetensors, rewritten), on the default CPU backend (wasm,
 * whose clip turns NaN into −1: an angular distance of 1 that looks like a number).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli.js';
import { loadModel } from '../../src/models/load.js';
import type { LanguageModel } from '../../src/models/types.js';
import { packageRoot } from '../../src/package-root.js';
import { initBackend } from '../../src/runtime/backend.js';
import { angularDistancesOver, depthSimilarity, influenceOver } from '../../src/select/calibration.js';
import { chooseComputedLayers } from '../../src/select/computed.js';
import { depthPreview } from '../../src/select/depth-preview.js';
import { NonFiniteError } from '../../src/select/finite.js';
import { greedyLayerSearch } from '../../src/select/greedy.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { captured } from '../helpers/console.js';
import { copyWithNaN } from '../helpers/nan-checkpoint.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-non-finite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tinyEnglish = path.join(packageRoot, 'models', 'tiny-english');
const broken = path.join(dir, 'tiny-english-nan');

const labelIds = [17, 402, 1033];
const examples: EncodedExample[] = Array.from({ length: 10 }, (_, i) => {
  const ids = Array.from({ length: 4 + (i % 5) }, (_, j) => 5 + ((i * 37 + j * 11) % 4000));
  return { ids, scorePosition: ids.length - 1, label: i % 3 };
});

/** A NonFiniteError whose message starts with `measure` and names `where`. */
function nonFinite(measure: string, where: string) {
  return (error: Error): boolean => {
    assert.ok(error instanceof NonFiniteError, error.message);
    assert.match(
      error.message,
      new RegExp(`^${measure}: \\d+ values in ${where} are not finite numbers \\(NaN or ±Infinity\\)`),
    );
    return true;
  };
}

describe('measurements of a model with a NaN weight in layer 3', () => {
  let model: LanguageModel;
  let healthy: LanguageModel;
  before(async () => {
    await initBackend({ backend: 'wasm' });
    await copyWithNaN(tinyEnglish, broken, 'transformer.h.3.mlp.c_fc.weight', [0]);
    model = (await loadModel(broken)).model;
    healthy = (await loadModel(tinyEnglish)).model;
  });
  after(() => {
    model?.dispose();
    healthy?.dispose();
  });

  it('the same measurements of the untouched model are finite numbers', async () => {
    const influence = await influenceOver(healthy, examples, { batchSize: 4 });
    const distances = await angularDistancesOver(healthy, examples, 1, { batchSize: 4 });
    assert.equal(influence.length, 8);
    assert.ok([...influence, ...distances].every(Number.isFinite));
  });

  it('block influence names layer 3', async () => {
    await assert.rejects(
      influenceOver(model, examples, { batchSize: 4 }),
      nonFinite('block influence', 'the output of layer 3'),
    );
  });

  it('angular distance and the similarity between depths name layer 3', async () => {
    await assert.rejects(
      angularDistancesOver(model, examples, 2, { batchSize: 4 }),
      nonFinite('angular distance', 'the output of layer 3'),
    );
    await assert.rejects(
      depthSimilarity(model, examples),
      nonFinite('layer similarity', 'the output of layer 3'),
    );
  });

  it('the depth preview names depth 4, after layer 3 (the depths before it are fine)', async () => {
    await assert.rejects(
      depthPreview(model, examples, labelIds),
      nonFinite('depth preview', 'the label scores at depth 4 \\(after layer 3\\)'),
    );
  });

  it('the greedy search names the cut whose zero-shot accuracy it could not score', async () => {
    await assert.rejects(
      greedyLayerSearch(model, examples, labelIds, { keep: 1 }),
      nonFinite('zero-shot accuracy', 'the label scores with layers 0, 1, 2, 3, 4, 5, 6, 7'),
    );
  });

  it('a computed selection (by influence) refuses to choose', async () => {
    await assert.rejects(
      chooseComputedLayers(
        model,
        { kind: 'computed', by: 'influence', keep: 2, calibration: { examples: 10 } },
        examples,
      ),
      nonFinite('block influence', 'the output of layer 3'),
    );
  });
});

it('layercut layers on the checkpoint with a NaN weight: exit 2, the measure and the layer, no suggested cuts', async () => {
  const run = await captured(() =>
    main(['layers', broken, '--task', 'spam', '--examples', '8', '--backend', 'wasm']),
  );
  assert.equal(run.code, 2, run.err);
  assert.match(
    run.err,
    /^layercut layers: block influence: \d+ values in the output of layer 3 are not finite numbers \(NaN or ±Infinity\)/m,
  );
  assert.doesNotMatch(run.out, /suggested cuts|NaN/);
});
