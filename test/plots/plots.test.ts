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
  plotPoints,
  plotSpec,
  renderPng,
  renderSvg,
  selectionFamily,
} from '../../src/plots/index.js';
import { byAngularDistance, byInfluence } from '../../dsl/layers.js';
import { keepAll, keepFirst, keepIndices, type LayerSelection } from '../../src/models/selection.js';
import { runRows } from '../../src/results/rows.js';
import { sampleStd, wilsonInterval } from '../../src/results/stats.js';
import { openStore, type StoredRun } from '../../src/results/store.js';
import { fakePlan, fakeResult } from '../results/fake-runs.js';
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
    // One point per condition: 3 tasks × 4 depths, each the mean of its 2 seeds.
    assert.equal(spec.data.values.length, 3 * 4);
    assert.equal(spec.facet, undefined, 'one model and one method: no panels');
    const [band, , , , line] = spec.layer!;
    assert.equal(band.mark.type, 'area');
    assert.equal(band.encoding.y.field, 'low');
    assert.equal(line.mark.type, 'line');
    assert.equal(line.encoding.color.field, 'color');
    assert.equal(line.encoding.x.field, 'x');
    // three tasks at each count: drawn side by side around it, in legend order
    for (const count of [1, 2, 4, 48]) {
      const drawn = spec.data.values.filter((v) => v.keptLayers === count).map((v) => v.x as number);
      assert.equal(new Set(drawn).size, 3);
      assert.ok(drawn.every((x) => Math.abs(Math.log2(x / count)) < 0.1));
    }
    assert.equal(line.encoding.y.field, 'mean');
    assert.equal(line.encoding.y.aggregate, undefined, 'the spec draws numbers, it computes none');
    assert.equal(line.encoding.y.axis!.format, '.0%');
    assert.equal(line.encoding.y.title, 'Test accuracy');
    // 1 … 48 spans more than 8×: a log₂ axis with ticks at the counts that were run.
    assert.equal(line.encoding.x.scale!.type, 'log');
    assert.deepEqual(line.encoding.x.axis!.values, [1, 2, 4, 48]);
    assert.equal(line.encoding.x.title, 'Kept layers (bottom k, log scale)');
    const sst2 = spec.data.values.filter((v) => v.task === 'sst2' && v.keptLayers === 2);
    assert.equal(sst2.length, 1);
    assert.equal(sst2[0]!.n, 2, 'two seeds');
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
    assert.equal(spec.facet!.row.field, 'row');
    assert.deepEqual([...new Set(spec.data.values.map((v) => v.row))].sort(), ['lm', 'prompt-cls']);
    // --color-by method: both methods overlaid in one panel, a colour each.
    const overlaid = asSpec(plotSpec('layers', both.list(), { colorBy: 'method' }));
    both.close();
    assert.equal(overlaid.facet, undefined);
    assert.deepEqual([...new Set(overlaid.data.values.map((v) => v.color))], ['lm', 'prompt-cls']);
  });

  test('params: log x axis over the cut model size with 1-2-3-5 ticks', () => {
    const spec = asSpec(plotSpec('params', runs));
    const line = spec.layer![4];
    assert.equal(line.encoding.x.field, 'x');
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
    const [bars, errors] = spec.spec!.layer;
    assert.equal(bars.mark.type, 'bar');
    assert.equal(bars.encoding.x.field, 'layersLabel');
    assert.equal(bars.encoding.xOffset.field, 'color');
    assert.equal(bars.encoding.y.field, 'mean');
    assert.equal(spec.facet!.column.field, 'column', 'a panel per task');
    assert.equal(errors.mark.type, 'rule');
    assert.equal(errors.encoding.y.field, 'low');
  });

  test('nothing finished to plot is a LayercutError', () => {
    assert.throws(() => plotSpec('layers', []), LayercutError);
    assert.deepEqual(plotPoints(runRows([])), []);
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
    const spec = JSON.parse(readFileSync(json, 'utf8')) as { title: { text: string }; facet: unknown };
    assert.equal(spec.title.text, 'Size');
    assert.ok(spec.facet === undefined);
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
      /no finished runs match task=none[^]*task: sst2 \| agnews \| trec/,
    );
    await assert.rejects(plotCommand.run(['--db', db, '--color-by', 'colour']), LayercutError);
  });
});

describe('plots that tell the truth', () => {
  /**
   * An 8-layer model on one task, three seeds, with accuracies worked out so that every
   * condition has its own mean: bottom k (1, 2, 4, 8) and four other selections of 4 layers.
   * The test sample has 130 ham and 70 spam: the majority class scores 65 %.
   */
  const selections: [LayerSelection, number, number[] | undefined][] = [
    [keepFirst(1), 0.7, undefined],
    [keepFirst(2), 0.8, undefined],
    [keepFirst(4), 0.84, undefined],
    [keepAll, 0.82, undefined],
    [keepIndices([0, 1, 6, 7]), 0.76, undefined], // drop 2..5
    [keepIndices([4, 5, 6, 7]), 0.66, undefined], // last 4
    [byInfluence({ keep: 4 }), 0.78, [0, 1, 3, 7]],
    [byAngularDistance({ drop: 4 }), 0.74, [0, 5, 6, 7]],
  ];
  const offsets = [0, 0.02, 0.07];
  function selectionStore(file: string, seeds = [0, 1, 2], lrs = [5e-5]): StoredRun[] {
    const store = openStore(path.join(dir, file));
    for (const [layers, accuracy, chosen] of selections) {
      for (const [i, seed] of seeds.entries()) {
        for (const lr of lrs) {
          const plan = fakePlan({ model: 'tiny (synthetic)', task: 'spam', layers, seed, lr });
          const value = accuracy + offsets[i]! + (lr === 5e-5 ? 0 : 0.05);
          const result = fakeResult(plan, { accuracy: value, depth: 8 });
          result.test.perClass = [
            { label: 'ham', precision: value, recall: value, f1: value, support: 130 },
            { label: 'spam', precision: value, recall: value, f1: value, support: 70 },
          ];
          if (chosen) result.keptLayers = chosen;
          store.enqueue([plan]);
          store.markRunning(result.id);
          store.finish(result.id, result);
        }
      }
    }
    const stored = store.list();
    store.close();
    return stored;
  }
  const stored = selectionStore('selections.db');

  test('selections of 4 layers are points of their own, never averaged into "bottom k"', () => {
    const points = plotPoints(runRows(stored));
    const four = points.filter((p) => p.keptLayers === 4);
    assert.deepEqual(four.map((p) => p.selection).sort(), [
      'bottom k',
      'by angular distance (64 examples)',
      'by influence (64 examples)',
      'indices 0,1,6,7',
      'top k',
    ]);
    // Each is the mean of its own three seeds: base + (0 + 0.02 + 0.07) / 3.
    const expected: Record<string, number> = {
      'bottom k': 0.84,
      'indices 0,1,6,7': 0.76,
      'top k': 0.66,
      'by influence (64 examples)': 0.78,
      'by angular distance (64 examples)': 0.74,
    };
    for (const p of four) {
      assert.equal(p.n, 3);
      assert.ok(Math.abs(p.mean - (expected[p.selection]! + 0.03)) < 1e-12, `${p.selection}: ${p.mean}`);
    }
    const spec = asSpec(plotSpec('layers', stored));
    const line = spec.layer![4];
    assert.equal(
      line.encoding.x.title,
      'Kept layers (log scale)',
      'not "bottom k": other selections are drawn',
    );
    assert.equal(line.encoding.color.title, 'Layers kept');
    // The five points at 4 layers are drawn side by side (their values unchanged), the ticks at the counts.
    const atFour = spec.data.values.filter((v) => v.keptLayers === 4);
    assert.equal(atFour.length, 5);
    assert.equal(new Set(atFour.map((v) => v.x)).size, 5);
    assert.ok(atFour.every((v) => Math.abs(Math.log2(v.x as number) - 2) < 0.15));
    assert.equal(spec.data.values.find((v) => v.keptLayers === 1)!.x, 1, 'alone at its x: not nudged');
    assert.deepEqual(line.encoding.x.axis!.values, [1, 2, 4, 8]);
    const [low, high] = line.encoding.x.scale!.domain as number[];
    assert.ok(low! < 1 && high! > 8, 'every tick inside the axis');
  });

  test('the band is mean ± std of exactly the runs its line averages', () => {
    for (const p of plotPoints(runRows(stored))) {
      const values = stored
        .filter((run) => runRows([run])[0]!.layers === p.layers)
        .map((run) => run.result!.test.accuracy);
      assert.equal(values.length, 3);
      const std = sampleStd(values)!;
      assert.ok(Math.abs(p.low! - (p.mean - std)) < 1e-12 && Math.abs(p.high! - (p.mean + std)) < 1e-12);
      assert.ok(p.low! <= p.mean && p.mean <= p.high!);
      // 95 % t-interval over the 3 seeds: mean ± t(0.975, 2) · s / √3, t = 4.303
      assert.equal(p.ciMethod, 't');
      assert.ok(Math.abs(p.ciHigh! - p.mean - (4.302652729911275 * std) / Math.sqrt(3)) < 1e-9);
    }
  });

  test('one seed: said so, no band, a 95% Wilson interval on the test examples instead', async () => {
    const single = selectionStore('single.db', [0]);
    const spec = asSpec(plotSpec('layers', single)) as SpecLike & { title: { subtitle: string[] } };
    assert.match(
      spec.title.subtitle[0]!,
      /^1 seed per point; bars: 95% Wilson interval on 200 test examples$/,
    );
    const first2 = plotPoints(runRows(single)).find((p) => p.layers === 'first 2')!;
    assert.equal(first2.low, null);
    const wilson = wilsonInterval(0.8, 200);
    assert.deepEqual([first2.ciLow, first2.ciHigh, first2.ciMethod], [wilson.low, wilson.high, 'wilson']);
    const svg = await renderSvg(plotSpec('layers', single));
    assert.doesNotMatch(svg, /<g class="mark-area role-mark[^"]*"[^>]*><path/, 'no band');
    assert.match(svg, /<g class="mark-rule role-mark[^"]*"[^>]*><line/, 'interval bars');

    const three = asSpec(plotSpec('layers', stored)) as SpecLike & { title: { subtitle: string[] } };
    assert.equal(three.title.subtitle[0], 'mean of 3 seeds; band: ± 1 std over seeds');
    assert.equal(
      three.title.subtitle[1],
      'dashed: majority class; points at one x nudged apart for legibility',
    );
  });

  test('a majority-class line, computed from the test samples', async () => {
    const points = plotPoints(runRows(stored));
    assert.ok(points.every((p) => Math.abs(p.majority! - 0.65) < 1e-12));
    const svg = await renderSvg(plotSpec('layers', stored));
    assert.match(svg, />majority class</);
    assert.match(svg, /stroke-dasharray="5,4"/);
    const macro = plotPoints(runRows(stored), 'macroF1')[0]!;
    // always "ham": F1 of ham 2·0.65/1.65, of spam 0; macro-F1 their mean
    assert.ok(Math.abs(macro.majority! - (2 * 0.65) / 1.65 / 2) < 1e-12);
  });

  test('conditions that differ in a setting get panels, labelled in full, and nothing is printed', async () => {
    const twoRates = selectionStore('rates.db', [0, 1], [5e-5, 1e-3]);
    const spec = asSpec(plotSpec('layers', twoRates));
    assert.deepEqual([...new Set(spec.data.values.map((v) => v.row))].sort(), ['lr=0.00005', 'lr=0.001']);
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const warn = console.warn;
    process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof write;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
    let svg: string;
    try {
      svg = await renderSvg(plotSpec('layers', twoRates));
    } finally {
      process.stderr.write = write;
      console.warn = warn;
    }
    assert.deepEqual(warnings, []);
    assert.match(svg, />lr=0\.001</);
    assert.match(svg, />by angular distance \(64 examples\)</, 'legend labels are not cut');
  });

  test('params: a narrow size range still gets readable ticks', () => {
    // tiny-english: 756 k parameters for 1 layer … 2.14 M for all 8
    const ticks = logTicks(756_000 / 1.15, 2_140_000 * 1.15);
    assert.ok(ticks.length >= 3, String(ticks));
    assert.deepEqual(ticks, [800_000, 1_000_000, 1_500_000, 2_000_000]);
  });

  test('methods: one panel per task, sized to its bars', async () => {
    const store = openStore(path.join(dir, 'methods-wide.db'));
    fillDemoStore(store, {
      models: 1,
      tasks: ['sst2', 'agnews'],
      methods: ['lm', 'prompt-cls', 'cls'],
      seeds: [1, 2],
      layers: (depth) => [1, 2, 4, 8, depth],
      steps: 5,
    });
    const svg = await renderSvg(plotSpec('methods', store.list()));
    store.close();
    const width = Number(/^<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    assert.ok(width < 1100, `${width} px wide`);
  });

  test('colouring: --color-by applies to accuracy plots, and is refused where it cannot', () => {
    const byLr = asSpec(plotSpec('layers', stored, { colorBy: 'selection' }));
    assert.equal(byLr.layer![4].encoding.color.title, 'Layers kept');
    assert.throws(() => plotSpec('methods', stored, { colorBy: 'task' }), /colours bars by method/);
    assert.throws(() => plotSpec('layers', stored, { colorBy: 'run' }), /--kind curves/);
    assert.throws(() => plotSpec('layers', stored, { colorBy: 'colour' }), LayercutError);
  });

  test('selection kinds', () => {
    const depth8 = { layersFull: 8, chosenLayers: null };
    assert.equal(selectionFamily({ layers: 'first 3', ...depth8 }), 'bottom k');
    assert.equal(selectionFamily({ layers: 'all', ...depth8 }), 'bottom k');
    assert.equal(selectionFamily({ layers: 'indices 5,6,7', ...depth8 }), 'top k');
    assert.equal(selectionFamily({ layers: 'indices 0,7', ...depth8 }), 'indices 0,7');
    assert.equal(
      selectionFamily({ layers: 'keep 2 by influence (64 examples)', layersFull: 8, chosenLayers: '0,3' }),
      'by influence (64 examples)',
    );
  });
});
