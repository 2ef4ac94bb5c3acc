// The layer report: its numbers equal the separate measurements, its suggestions follow from them,
// its plots render; `layercut layers` prints it and writes the plots.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { layersCommand } from '../../src/cli/layers.js';
import { LayercutError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { blockInfluenceSpec, similarityHeatmapSpec } from '../../src/plots/layer-plots.js';
import { renderSvg } from '../../src/plots/render.js';
import { blockToDrop } from '../../src/select/angular-distance.js';
import { angularDistancesOver, influenceOver } from '../../src/select/calibration.js';
import { depthPreview } from '../../src/select/depth-preview.js';
import { layerReport, measureLayers, modelSourceFromText } from '../../src/select/report.js';
import type { EncodedExample } from '../../src/train/batching.js';
import { captured } from '../helpers/console.js';
import { modelFixture } from '../helpers/fixtures.js';
import { fruitDataset, fruitTask, writeTinyGpt2 } from '../helpers/tiny-gpt2.js';

await tf.setBackend('cpu');

const out = mkdtempSync(path.join(os.tmpdir(), 'layercut-layers-'));
after(() => rmSync(out, { recursive: true, force: true }));

const labelIds = [7, 42, 77];
const examples: EncodedExample[] = Array.from({ length: 10 }, (_, i) => {
  const ids = Array.from({ length: 3 + (i % 6) }, (_, j) => 3 + ((i * 23 + j * 5) % 90));
  return { ids, scorePosition: ids.length - 1, label: i % 3 };
});

it('opt-tiny: every number of the report equals its own measurement', async () => {
  const { model } = await loadModel(modelFixture('opt-tiny'));
  const options = { batchSize: 3 };
  const report = await measureLayers(model, examples, labelIds, { ...options, greedy: true });
  assert.deepEqual(report.layers, [0, 1, 2, 3]);
  assert.deepEqual(report.influence, await influenceOver(model, examples, options));
  const near = (a: readonly number[], b: readonly number[]) =>
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 2e-6, `${x} vs ${b[i]}`));
  near(report.angularToNext, await angularDistancesOver(model, examples, 1, options));
  assert.deepEqual(
    report.previewAccuracy,
    (await depthPreview(model, examples, labelIds)).map((r) => r.accuracy),
  );

  const { influenceDropOrder, angularBlocks, previewDepth } = report.suggestions;
  const byInfluence = [...influenceDropOrder].map((l) => report.influence[l]!);
  assert.deepEqual(
    byInfluence,
    [...report.influence].sort((a, b) => a - b),
  );
  assert.equal(angularBlocks.length, 3);
  for (const block of angularBlocks) {
    const expected = blockToDrop(await angularDistancesOver(model, examples, block.n, options), block.n);
    assert.deepEqual(
      block.drop,
      Array.from({ length: block.n }, (_, i) => expected.start + i),
    );
    assert.ok(Math.abs(block.distance - expected.distance) < 2e-6);
  }
  const best = Math.max(...report.previewAccuracy);
  assert.deepEqual(previewDepth, { depth: report.previewAccuracy.indexOf(best) + 1, accuracy: best });
  assert.equal(report.greedy!.kept.length, 1);
  assert.equal(report.greedy!.path[0]!.accuracy, report.previewAccuracy[3]);
  model.dispose();
});

it('plots: a cell per pair of depths, a bar per layer; both render to SVG', async () => {
  const matrix = [
    [0, 0.1, 0.3],
    [0.1, 0, 0.25],
    [0.3, 0.25, 0],
  ];
  const heatmap = similarityHeatmapSpec(matrix) as {
    data: { values: { from: number; to: number; value: number }[] };
    layer: { mark: { type: string }; encoding: { color: Record<string, unknown> } }[];
  };
  assert.equal(heatmap.data.values.length, 9);
  assert.deepEqual(heatmap.data.values[5], { from: 1, to: 2, value: 0.25 });
  assert.deepEqual(
    heatmap.layer.map((l) => l.mark.type),
    ['rect', 'text'],
  );
  // labels dark where the (reversed) scale is light: below the middle of 0 … 0.3
  assert.deepEqual(heatmap.layer[1]!.encoding.color, {
    condition: { test: 'datum.value < 0.15', value: 'black' },
    value: 'white',
  });
  const bars = blockInfluenceSpec([0.2, 0.05, 0.1], { layers: [0, 5, 7], kept: [0, 7] }) as {
    data: { values: { layer: number; value: number; cut: string }[] };
  };
  assert.deepEqual(bars.data.values, [
    { layer: 0, value: 0.2, cut: 'kept' },
    { layer: 5, value: 0.05, cut: 'dropped' },
    { layer: 7, value: 0.1, cut: 'kept' },
  ]);
  const svg = await renderSvg(similarityHeatmapSpec(matrix, { title: 'heat' }));
  assert.match(svg, /^<svg/);
  assert.match(svg, />0\.25</); // a cell label
  assert.match(await renderSvg(blockInfluenceSpec([0.2, 0.05, 0.1])), /Block influence per layer/);
});

it('models named on the command line: folder, built-in name, hub repository', () => {
  const dir = modelFixture('gpt2-tiny');
  assert.deepEqual(modelSourceFromText(dir), { kind: 'local', path: dir });
  assert.deepEqual(modelSourceFromText('gpt2-tiny'), { kind: 'builtin', name: 'gpt2-tiny' });
  assert.deepEqual(modelSourceFromText('tiny-gpt2'), { kind: 'builtin', name: 'tiny-gpt2' });
  assert.deepEqual(modelSourceFromText('builtin:opt-tiny'), { kind: 'builtin', name: 'opt-tiny' });
  assert.deepEqual(modelSourceFromText('openai-community/gpt2'), {
    kind: 'hub',
    repo: 'openai-community/gpt2',
  });
  assert.deepEqual(modelSourceFromText('facebook/opt-1.3b@main'), {
    kind: 'hub',
    repo: 'facebook/opt-1.3b',
    revision: 'main',
  });
  assert.throws(
    () => modelSourceFromText('no-such-model'),
    (error: unknown) =>
      error instanceof LayercutError && /cannot find model 'no-such-model'/.test(error.message),
  );
});

it('layerReport on a task: calibration prompts from the training split, specs for a notebook', async () => {
  const modelDir = await writeTinyGpt2({ layers: 3, width: 16, seed: 9 });
  const report = await layerReport({
    model: modelDir,
    task: fruitTask,
    dataset: fruitDataset(40, 4),
    examples: 12,
    maxLength: 24,
  });
  assert.equal(report.task, 'fruit');
  assert.equal(report.template, fruitTask.template);
  assert.equal(report.examples, 12);
  assert.equal(report.depth, 3);
  assert.equal(report.influence.length, 3);
  assert.equal(report.previewAccuracy.length, 3);
  assert.ok(report.previewAccuracy.every((a) => a >= 0 && a <= 1 && Number.isInteger(a * 12)));
  assert.equal(report.similarity.angular.length, 4);
  const heat = report.specs.similarity as { data: { values: unknown[] } };
  assert.equal(heat.data.values.length, 16);
  const again = await layerReport({
    model: { kind: 'local', path: modelDir },
    task: fruitTask,
    dataset: fruitDataset(40, 4),
    examples: 12,
    maxLength: 24,
  });
  assert.deepEqual(again.influence, report.influence); // the same seeded draw
  const other = await layerReport({
    model: modelDir,
    task: fruitTask,
    dataset: fruitDataset(40, 4),
    examples: 12,
    seed: 1,
    maxLength: 24,
  });
  assert.notDeepEqual(other.influence, report.influence);
});

it('layercut layers: tables, suggestions, JSON, plots', async () => {
  const modelDir = await writeTinyGpt2({ layers: 2, width: 16, seed: 4 });
  const args = [modelDir, '--task', 'spam', '--examples', '6', '--max-length', '32', '--backend', 'cpu'];
  const printed = await captured(() => layersCommand.run([...args, '--greedy', '--out', out]));
  assert.equal(printed.code, 0);
  assert.match(printed.out, /· task spam · 6 calibration examples \(seed 0\)/);
  assert.match(printed.out, /^layer {2}influence {2}angular {2}depth {2}preview$/m);
  assert.match(printed.out, /^0 {6}0\.\d{4} {5}0\.\d{4} {3}1 {6}[01]\.\d{3}$/m);
  assert.match(printed.out, /block influence {3}drop in this order \(lowest first\): [01], [01]/);
  assert.match(printed.out, /angular distance {2}drop n consecutive layers: n=1: [01] \(d 0\.\d{3}\)/);
  assert.match(printed.out, /depth preview {5}keep the first [12] \(zero-shot accuracy/);
  assert.match(printed.out, /greedy search {5}zero-shot accuracy [01]\.\d{3} with all; drop [01] → /);
  for (const file of ['layer-similarity.svg', 'block-influence.svg', 'layers.json']) {
    assert.ok(existsSync(path.join(out, file)), file);
  }
  const data = JSON.parse(readFileSync(path.join(out, 'layers.json'), 'utf8')) as { influence: number[] };
  assert.equal(data.influence.length, 2);

  const json = await captured(() => layersCommand.run([...args, '--json']));
  const parsed = JSON.parse(json.out) as { layers: number[]; influence: number[]; specs?: unknown };
  assert.deepEqual(parsed.layers, [0, 1]);
  assert.deepEqual(parsed.influence, data.influence);
  assert.equal(parsed.specs, undefined);

  await assert.rejects(layersCommand.run([modelDir]), /missing --task <name>/);
  await assert.rejects(
    layersCommand.run([...args, '--examples', '0']),
    /--examples must be a whole number ≥ 1/,
  );
});
