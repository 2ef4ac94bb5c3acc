import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { plotCommand } from '../../src/cli/plot.js';
import { LayercutError } from '../../src/errors.js';
import {
  curvePoints,
  downsample,
  logTicks,
  plotSpec,
  renderPng,
  renderSvg,
  runPoints,
} from '../../src/plots/index.js';
import { runRows } from '../../src/results/rows.js';
import { openStore, type StoredRun } from '../../src/results/store.js';
import { fillDemoStore } from './demo-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-plots-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const db = path.join(dir, 'demo.db');
const store = openStore(db);
// One model, three tasks, one method, layers 1, 2, 4 and all (48), seeds 1 and 2.
fillDemoStore(store, {
  models: 1,
  tasks: ['sst2', 'agnews', 'trec'],
  methods: ['lm'],
  seeds: [1, 2],
  layers: (depth) => [1, 2, 4, depth],
  steps: 30,
});
const runs: StoredRun[] = store.list();
store.close();

/** Spec fields the tests look at (the builders return untyped JSON). */
interface LayerLike {
  mark: { type: string; extent?: string };
  encoding: Record<
    string,
    {
      field?: string;
      type?: string;
      aggregate?: string;
      title?: string;
      axis?: Record<string, unknown>;
      scale?: Record<string, unknown>;
    }
  >;
}
interface SpecLike {
  data: { values: Record<string, unknown>[] };
  layer?: LayerLike[];
  spec?: { layer: LayerLike[] };
  facet?: Record<string, { field: string }>;
}
const asSpec = (spec: unknown): SpecLike => spec as SpecLike;

/** Paths drawn by line marks: one <path> per line in each mark-line group. */
function linePaths(svg: string): number {
  return (svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>(?:<path[^>]*\/>)+/g) ?? [])
    .map((group) => group.match(/<path/g)!.length)
    .reduce((a, b) => a + b, 0);
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('plot specs', () => {
  test('layers: a mean line per task over a ± 1 std band, accuracy as percent', () => {
    const spec = asSpec(plotSpec('layers', runs));
    assert.equal(spec.data.values.length, runs.length);
    assert.equal(spec.facet, undefined, 'one model and one method: no panels');
    const [band, line] = spec.layer!;
    assert.equal(band.mark.type, 'errorband');
    assert.equal(band.mark.extent, 'stdev');
    assert.equal(line.mark.type, 'line');
    assert.equal(line.encoding.color.field, 'task');
    assert.equal(line.encoding.x.field, 'keptLayers');
    assert.equal(line.encoding.y.aggregate, 'mean');
    assert.equal(line.encoding.y.axis!.format, '.1~%');
    assert.equal(line.encoding.y.title, 'Test accuracy');
    // 1 … 48 spans more than 8×: a log₂ axis with ticks at the counts that were run.
    assert.equal(line.encoding.x.scale!.type, 'log');
    assert.deepEqual(line.encoding.x.axis!.values, [1, 2, 4, 48]);
    const sst2 = spec.data.values.filter((v) => v.task === 'sst2' && v.keptLayers === 2).map((v) => v.value);
    assert.equal(sst2.length, 2, 'two seeds');
  });

  test('layers with two methods: one panel row per method', () => {
    const both = openStore(path.join(dir, 'methods.db'));
    fillDemoStore(both, {
      models: 1,
      tasks: ['sst2'],
      methods: ['lm', 'prompt-cls'],
      seeds: [1],
      layers: () => [1, 2],
      steps: 5,
    });
    const spec = asSpec(plotSpec('layers', both.list()));
    both.close();
    assert.equal(spec.facet!.row.field, 'method');
    assert.equal(spec.spec!.layer.length, 2);
  });

  test('params: log x axis over the cut model size with 1-2-3-5 ticks', () => {
    const spec = asSpec(plotSpec('params', runs));
    const line = spec.layer![1];
    assert.equal(line.encoding.x.field, 'params');
    assert.equal(line.encoding.x.scale!.type, 'log');
    // 82M + k × 30.7M parameters: 112.7M for 1 layer … 1.556B for 48.
    const sizes = spec.data.values.map((v) => v.params as number);
    assert.equal(Math.min(...sizes), 82_000_000 + 30_700_000);
    assert.equal(Math.max(...sizes), 82_000_000 + 48 * 30_700_000);
    assert.deepEqual(line.encoding.x.axis!.values, [100e6, 200e6, 300e6, 500e6, 1e9]);
    assert.deepEqual(logTicks(0.5, 40), [0.5, 1, 2, 3, 5, 10, 20, 30]);
  });

  test('curves: a loss line per run, or per setting value averaged over its runs', () => {
    const sst2 = runs.filter((run) => run.plan.task === 'sst2');
    const perRun = curvePoints(sst2);
    const series = [...new Set(perRun.points.map((p) => p.series))];
    assert.equal(series.length, 8);
    assert.deepEqual(series.slice(0, 3), ['first 1 · seed 1', 'first 1 · seed 2', 'first 2 · seed 1']);
    assert.equal(series.at(-1), 'all · seed 2', "'all' sorts by its layer count, last");
    assert.equal(perRun.seriesTitle, 'layers · seed');
    assert.equal(perRun.points.length, 8 * 30);

    assert.equal(perRun.panelPerTask, false);
    // Several tasks: a panel per task, and the task leaves the line labels.
    const twoTasks = curvePoints(runs.filter((run) => run.plan.task !== 'trec'));
    assert.equal(twoTasks.panelPerTask, true);
    assert.equal(new Set(twoTasks.points.map((p) => p.series)).size, 8);
    assert.equal(asSpec(plotSpec('curves', runs)).facet!.column.field, 'task');

    const byLayers = curvePoints(sst2, { colorBy: 'layers' });
    assert.deepEqual(
      [...new Set(byLayers.points.map((p) => p.series))],
      ['first 1', 'first 2', 'first 4', 'all'],
    );
    const spec = asSpec(plotSpec('curves', sst2, { colorBy: 'layers' }));
    const [line] = spec.layer!;
    assert.equal(line.encoding.x.field, 'step');
    assert.equal(line.encoding.y.field, 'loss');
    assert.equal(line.encoding.y.aggregate, 'mean');
    assert.equal(line.encoding.color.field, 'series');
    assert.equal(line.encoding.color.title, 'layers');
  });

  test('downsample averages chunks of steps', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ step: i + 1, loss: i }));
    assert.deepEqual(downsample(points, 5), [
      { step: 1.5, loss: 0.5 },
      { step: 3.5, loss: 2.5 },
      { step: 5.5, loss: 4.5 },
      { step: 7.5, loss: 6.5 },
      { step: 9.5, loss: 8.5 },
    ]);
    assert.equal(downsample(points, 20).length, 10);
  });

  test('methods: grouped bars offset by method with ± 1 std error bars', () => {
    const spec = asSpec(
      plotSpec(
        'methods',
        runs.filter((run) => run.plan.layers.kind === 'first' && run.plan.layers.count === 2),
      ),
    );
    const [bars, errors] = spec.layer!;
    assert.equal(bars.mark.type, 'bar');
    assert.equal(bars.encoding.x.field, 'task');
    assert.equal(bars.encoding.xOffset.field, 'method');
    assert.equal(bars.encoding.y.aggregate, 'mean');
    assert.equal(errors.mark.type, 'errorbar');
    assert.equal(errors.mark.extent, 'stdev');
  });

  test('nothing finished to plot is a LayercutError', () => {
    assert.throws(() => plotSpec('layers', []), LayercutError);
    assert.deepEqual(runPoints(runRows([])), []);
  });
});

describe('rendering', () => {
  test('SVG: one line path per task, labelled axes, percent ticks', async () => {
    const svg = await renderSvg(plotSpec('layers', runs));
    assert.ok(svg.startsWith('<svg'));
    assert.equal(linePaths(svg), 3);
    assert.match(svg, />Kept layers \(bottom k, log scale\)</);
    assert.match(svg, />Test accuracy</);
    assert.match(svg, />\d+%</);
    for (const task of ['sst2', 'agnews', 'trec']) assert.match(svg, new RegExp(`>${task}<`));

    const two = await renderSvg(
      plotSpec(
        'layers',
        runs.filter((run) => run.plan.task !== 'trec'),
      ),
    );
    assert.equal(linePaths(two), 2);
  });

  test('PNG: a non-empty image with the PNG signature', async () => {
    const png = await renderPng(plotSpec('methods', runs), { scale: 1 });
    assert.ok(png.length > 5000, `${png.length} bytes`);
    assert.deepEqual(png.subarray(0, 8), pngSignature);
    // IHDR: width and height as big-endian 32-bit integers at bytes 16–23.
    assert.ok(png.readUInt32BE(16) > 300 && png.readUInt32BE(20) > 200);
  });
});

describe('layercut plot', () => {
  test('writes .svg, .png and the .json spec, honouring --filter', async () => {
    const svg = path.join(dir, 'layers.svg');
    assert.equal(
      await plotCommand.run([
        '--db',
        db,
        '--kind',
        'layers',
        '--filter',
        'task=sst2',
        '--filter',
        'task=trec',
        '--out',
        svg,
      ]),
      0,
    );
    assert.equal(linePaths(readFileSync(svg, 'utf8')), 2);

    const png = path.join(dir, 'curves.png');
    assert.equal(
      await plotCommand.run([
        '--db',
        db,
        '--kind',
        'curves',
        '--filter',
        'task=sst2',
        '--color-by',
        'layers',
        '--out',
        png,
        '--scale',
        '1',
      ]),
      0,
    );
    assert.deepEqual(readFileSync(png).subarray(0, 8), pngSignature);

    const json = path.join(dir, 'params.json');
    assert.equal(
      await plotCommand.run(['--db', db, '--kind', 'params', '--title', 'Size', '--out', json]),
      0,
    );
    const spec = JSON.parse(readFileSync(json, 'utf8')) as { title: { text: string }; layer: unknown[] };
    assert.equal(spec.title.text, 'Size');
    assert.equal(spec.layer.length, 2);
  });

  test('bad options are LayercutErrors', async () => {
    await assert.rejects(
      plotCommand.run(['--db', db, '--kind', 'pie']),
      /--kind must be one of layers, params, curves, methods/,
    );
    await assert.rejects(
      plotCommand.run(['--db', db, '--out', path.join(dir, 'x.gif')]),
      /\.svg, \.png or \.json/,
    );
    await assert.rejects(
      plotCommand.run(['--db', db, '--filter', 'task=none', '--out', path.join(dir, 'x.svg')]),
      /nothing to plot/,
    );
    await assert.rejects(plotCommand.run(['--db', db, '--color-by', 'colour']), LayercutError);
  });
});
