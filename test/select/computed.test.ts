// Computed layer selections: chosen from the measurements they name, and chosen by the run itself
// before it loads the cut model (the result records the layers).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { byAngularDistance, byInfluence } from '../../dsl/layers.js';
import { LayercutError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { keepFirst, resolveLayers } from '../../src/models/selection.js';
import { runId } from '../../src/plan/id.js';
import { PAPER_DEFAULTS, type RunPlan } from '../../src/plan/types.js';
import { renderPrompt } from '../../src/prompts/render.js';
import { parseTemplate } from '../../src/prompts/template.js';
import { blockToDrop } from '../../src/select/angular-distance.js';
import { angularDistancesOver, calibrationSample, influenceOver } from '../../src/select/calibration.js';
import {
  chooseComputedLayers,
  keepByInfluence,
  resolveComputedSelection,
} from '../../src/select/computed.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { runExperiment } from '../../src/experiment/run.js';
import { modelFixture } from '../helpers/fixtures.js';
import { fruitDataset, fruitTask, writeTinyGpt2 } from '../helpers/tiny-gpt2.js';

await tf.setBackend('cpu');

const examples: EncodedExample[] = Array.from({ length: 9 }, (_, i) => {
  const ids = Array.from({ length: 4 + (i % 5) }, (_, j) => 3 + ((i * 7 + j * 19) % 90));
  return { ids, scorePosition: ids.length - 1, label: 0 };
});

it('keep by influence: the highest ones, in layer order; ties keep the lower layer', () => {
  assert.deepEqual(keepByInfluence([0.3, 0.1, 0.3, 0.2], 2), [0, 2]);
  assert.deepEqual(keepByInfluence([0.3, 0.1, 0.3, 0.2], 3), [0, 2, 3]);
  assert.deepEqual(keepByInfluence([0.2, 0.2, 0.1], 1), [0]);
  assert.deepEqual(keepByInfluence([0.05, 0.4, 0.2, 0.1], 1), [1]);
});

for (const fixture of ['gpt2-tiny', 'bert-tiny']) {
  it(`${fixture}: the layers each rule keeps follow from its measurement`, async () => {
    const { model } = await loadModel(modelFixture(fixture));
    const options = { batchSize: 4 };
    const influence = await influenceOver(model, examples, options);
    const byBi = await chooseComputedLayers(model, byInfluence({ keep: 2 }), examples, options);
    assert.deepEqual(byBi.scores, influence);
    const ranked = [0, 1, 2, 3].sort((a, b) => influence[b]! - influence[a]!);
    assert.deepEqual(
      byBi.kept,
      ranked.slice(0, 2).sort((a, b) => a - b),
    );

    const distances = await angularDistancesOver(model, examples, 2, options);
    const byAngle = await chooseComputedLayers(model, byAngularDistance({ drop: 2 }), examples, options);
    assert.deepEqual(byAngle.scores, distances);
    assert.equal(distances.length, 3);
    const { start } = blockToDrop(distances, 2);
    assert.deepEqual(
      byAngle.kept,
      [0, 1, 2, 3].filter((l) => l < start || l >= start + 2),
    );
    await assert.rejects(
      chooseComputedLayers(model, byInfluence({ keep: 5 }), examples),
      /cannot keep 5 layers by influence: the model has 4 layers/,
    );
    model.dispose();
  });
}

it('a fixed selection passes through; a computed one is chosen on the full model from the calibration set', async () => {
  const dir = modelFixture('opt-tiny');
  const asked: number[] = [];
  const calibrate = (count: number) => (asked.push(count), examples.slice(0, count));
  assert.deepEqual(await resolveComputedSelection(dir, keepFirst(2), calibrate), { selection: keepFirst(2) });
  assert.deepEqual(asked, []);
  const resolved = await resolveComputedSelection(
    dir,
    byInfluence({ keep: 3, calibration: { examples: 5 } }),
    calibrate,
  );
  assert.deepEqual(asked, [5]);
  const { model } = await loadModel(dir);
  const expected = await chooseComputedLayers(model, byInfluence({ keep: 3 }), examples.slice(0, 5));
  model.dispose();
  assert.deepEqual(resolved.selection, { kind: 'indices', indices: expected.kept });
  assert.deepEqual(resolved.choice!.kept, expected.kept);
  // loading a computed selection directly says what to do instead
  assert.throws(
    () => resolveLayers(byInfluence({ keep: 2 }), 4),
    (error: unknown) =>
      error instanceof LayercutError &&
      /'keep 2 by influence \(64 examples\)' are chosen from calibration data/.test(error.message),
  );
});

it('a run with byAngularDistance chooses its layers from the training split and records them', async () => {
  const modelDir = await writeTinyGpt2({ layers: 4, width: 16, seed: 3 });
  const selection = byAngularDistance({ drop: 2, calibration: { examples: 12 } });
  const plan: RunPlan = {
    model: { kind: 'local', path: modelDir },
    layers: selection,
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { ...PAPER_DEFAULTS.method, kind: 'lm', freezeEmbeddings: true },
    data: { validation: 4, demosPerClass: 0, trainPerClass: 4, test: 6, maxLength: 32, truncate: 'left' },
    train: { ...PAPER_DEFAULTS.train, batchSize: 4, epochs: 1 },
    seed: 5,
    backend: 'cpu',
  };
  const dataset = fruitDataset(60, 10);
  const result = await runExperiment(plan, { task: fruitTask, dataset });
  // the plan (and its id) keep the rule
  assert.deepEqual(result.plan.layers, selection);
  assert.equal(result.id, runId(plan));

  // the same choice made by hand: 12 seeded examples of the training split, rendered as the run renders them
  const tokenizer = await loadTokenizer(modelDir);
  const template = parseTemplate(fruitTask.template, { fields: fruitTask.fields });
  const calibration = calibrationSample(dataset.train, 12, 5).map((example) => {
    const rendered = renderPrompt(template, tokenizer, {
      fields: example.fields,
      maxLength: 32,
      truncation: 'left',
    });
    return { ids: rendered.ids, scorePosition: rendered.answerPosition, label: example.label };
  });
  const { model } = await loadModel(modelDir);
  const distances = await angularDistancesOver(model, calibration, 2, {
    padId: tokenizer.specialTokens.pad?.id ?? tokenizer.specialTokens.eos?.id ?? 0,
  });
  model.dispose();
  const { start } = blockToDrop(distances, 2);
  const expected = [0, 1, 2, 3].filter((l) => l < start || l >= start + 2);
  assert.deepEqual(result.keptLayers, expected);
  assert.deepEqual(expected, [2, 3]); // d(0, 2) 0.053 < d(1, 3) 0.059 < d(2, 4) 0.068: layers 0 and 1 go
  assert.ok(distances[0]! < distances[1]! && distances[1]! < distances[2]!);
  assert.equal(result.size.layersAfter, 2);
  assert.equal(result.size.layersBefore, 4);
});
