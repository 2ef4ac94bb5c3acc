import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import * as aq from 'arquero';

import { keepFirst } from '../../src/models/selection.js';
import { runId } from '../../src/plan/id.js';
import {
  htmlTable,
  inKernel,
  kernelChannel,
  lossChartSvg,
  plotBundle,
  plotSummary,
  RunProgressBoard,
  RunResults,
  toDisplayTable,
  vegaLiteMimeTypes,
} from '../../src/notebook/index.js';
import { compareView } from '../../src/results/compare-view.js';
import { mergeFollowers } from '../../src/results/followers.js';
import { paperView } from '../../src/results/paper-view.js';
import { runRows } from '../../src/results/rows.js';
import type { StoredRun } from '../../src/results/store.js';
import { fakePlan, fakeResult } from '../results/fake-runs.js';
import { runToEnd } from '../helpers/spawn.js';
import { repoRoot } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-notebook-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A finished run as the store would hold it. */
function storedRun(options: Parameters<typeof fakePlan>[0], accuracy: number): StoredRun {
  const plan = fakePlan(options);
  return {
    id: runId(plan),
    plan,
    status: 'done',
    error: null,
    attempts: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: '2026-01-01T00:00:02.000Z',
    owner: null,
    result: fakeResult(plan, { accuracy, steps: 10 }),
  };
}

/** Paths drawn by Vega line marks: one <path> per line in each mark-line group (as in plots.test.ts). */
function linePaths(svg: string): number {
  return (svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>(?:<path[^>]*\/>)+/g) ?? [])
    .map((group) => group.match(/<path/g)!.length)
    .reduce((a, b) => a + b, 0);
}

describe('tables', () => {
  test('a DisplayTable becomes HTML with escaped text, bold best cells and right-aligned numbers', () => {
    const html = htmlTable({
      headers: ['layers', 'sst2'],
      rows: [
        [{ text: 'first <1>' }, { text: '85.0 ± 7.1', bold: true }],
        [{ text: 'a & b' }, { text: '80.2' }],
      ],
      numeric: [false, true],
      notes: ['accuracy in %'],
    });
    assert.match(html, /^<table class="layercut-table">/);
    assert.ok(html.includes('<td style="text-align:left">first &lt;1&gt;</td>'));
    assert.ok(html.includes('<td style="text-align:right"><b>85.0 ± 7.1</b></td>'));
    assert.ok(html.includes('<td style="text-align:left">a &amp; b</td>'));
    assert.ok(html.includes('<p><small>accuracy in %</small></p>'));
    assert.equal(html.match(/<tr>/g)!.length, 3, 'header row and two body rows');
  });

  test('arrays of objects: columns in order of first appearance, numbers right-aligned and shortened', () => {
    const table = toDisplayTable([
      { task: 'spam', acc: 0.812345 },
      { acc: 2 / 3, extra: null },
    ]);
    assert.deepEqual(table.headers, ['task', 'acc', 'extra']);
    assert.deepEqual(
      table.rows.map((row) => row.map((c) => c.text)),
      [
        ['spam', '0.8123', ''],
        ['', '0.6667', ''],
      ],
    );
    assert.deepEqual(table.numeric, [false, true, false]);
  });

  test('arquero tables keep their column order; long tables are cut with a note', () => {
    const table = aq.from(Array.from({ length: 250 }, (_, i) => ({ b: i, a: `row ${i}` })));
    const shown = toDisplayTable(table, { maxRows: 3 });
    assert.deepEqual(shown.headers, ['b', 'a']);
    assert.equal(shown.rows.length, 3);
    assert.deepEqual(shown.notes, ['… 247 more rows (250 in all)']);
  });

  test('anything else is a LayercutError saying what show() takes', () => {
    assert.throws(() => toDisplayTable(42 as unknown as object[]), /show\(\) takes a table/);
  });
});

describe('plots and progress', () => {
  test('the plot bundle carries the spec under each Vega-Lite MIME type, the SVG and a summary', () => {
    assert.deepEqual(vegaLiteMimeTypes('6.4.3'), [
      'application/vnd.vegalite.v6+json',
      'application/vnd.vegalite.v5+json',
    ]);
    assert.deepEqual(vegaLiteMimeTypes('5.21.0'), ['application/vnd.vegalite.v5+json']);
    const spec = { title: { text: 'Accuracy' }, data: { values: [{ x: 1 }, { x: 2 }] }, mark: 'point' };
    const bundle = plotBundle(spec, vegaLiteMimeTypes('6.0.0'), '<svg/>');
    assert.equal(bundle['application/vnd.vegalite.v6+json'], spec);
    assert.equal(bundle['image/svg+xml'], '<svg/>');
    assert.equal(bundle['text/plain'], 'Vega-Lite plot: Accuracy, 2 data points');
    assert.equal(plotSummary({ mark: 'bar' }), 'Vega-Lite plot: untitled');
  });

  test('the loss chart draws one path per series with points, scaled into the frame', () => {
    const svg = lossChartSvg(
      [
        {
          label: 'a',
          points: [
            { step: 1, loss: 2 },
            { step: 2, loss: 1 },
          ],
        },
        { label: 'b', points: [] },
        {
          label: 'c',
          points: [
            { step: 1, loss: 1.5 },
            { step: 4, loss: 0.5 },
          ],
          current: true,
        },
      ],
      { width: 200, height: 100 },
    );
    assert.equal(svg.match(/<path class="loss-line"/g)!.length, 2);
    // Frame x 40…192 for steps 0…4 (the longest run), y 8…82 for losses 2…0.5.
    assert.ok(svg.includes('d="M78.0,8.0L116.0,57.3"'), svg);
    assert.ok(svg.includes('d="M78.0,32.7L192.0,82.0"'), svg);
    assert.ok(svg.indexOf('>a</title>') < svg.indexOf('>c</title>'), 'the current run is drawn last');
    assert.match(lossChartSvg([]), /no training steps yet/);
  });

  test('the progress board follows the runner events', () => {
    let clock = 0;
    const board = new RunProgressBoard(() => clock);
    const planA = fakePlan({ layers: keepFirst(1), task: 'spam', seed: 0 });
    const planB = fakePlan({ layers: keepFirst(2), task: 'spam', seed: 0 });
    board.handle({ kind: 'plan', total: 3, finished: 1, toRun: 2, skipped: 0, store: 'x.db' });
    board.handle({ kind: 'start', plan: planA, id: 'a', index: 1, of: 2 });
    board.handle({
      kind: 'progress',
      id: 'a',
      index: 1,
      of: 2,
      progress: { phase: 'train', kind: 'step', step: 3, totalSteps: 10, epoch: 0, loss: 0.6931, lr: 1e-3 },
    });
    clock = 2500;
    assert.equal(board.summary(), '3 runs: 0 done now · 1 reused · 0 failed · 2 to go · 2.5 s');
    assert.equal(
      board.currentLine(),
      'run 1/2 gpt2-tiny (synthetic) first 1 · spam · lm · seed 0 — training: step 3/10 · epoch 0 · loss 0.693',
    );
    assert.equal(board.lossSeries().length, 1);
    const resultA = fakeResult(planA, { accuracy: 0.5625 });
    resultA.timings.wallSeconds = 4.06;
    board.handle({ kind: 'done', id: 'a', index: 1, of: 2, result: resultA });
    board.handle({ kind: 'start', plan: planB, id: 'b', index: 2, of: 2 });
    const error =
      'verbalizer has 1 error:\n  - labels share a first token\n  hint: run `layercut verbalizer`\n    at check (verbalizer.ts:1:1)';
    board.handle({ kind: 'failed', id: 'b', index: 2, of: 2, error });
    assert.equal(board.current, undefined);
    assert.ok(board.finishedAll);
    assert.equal(board.summary(), '3 runs: 1 done now · 1 reused · 1 failed · 2.5 s');
    assert.deepEqual(board.finishedLines(), [
      '✓ gpt2-tiny (synthetic) first 1 · spam · lm · seed 0 — accuracy 56.3% (4.1 s)',
      // the whole message, every line (the stack left out)
      '✗ gpt2-tiny (synthetic) first 2 · spam · lm · seed 0 — failed: verbalizer has 1 error:\n' +
        '      - labels share a first token\n      hint: run `layercut verbalizer`',
    ]);
    // The finished run's curve stays on the chart (grey); the failed one had no steps.
    assert.equal(board.lossSvg().match(/<path class="loss-line"/g)!.length, 1);
    assert.match(board.html(), /<progress value="3" max="3"/);
    assert.match(board.html(), /white-space:pre-wrap">✗ [^<]*hint: run `layercut verbalizer`<\/div>/);
  });

  test('a run whose loss exploded is marked on the board, not ticked', () => {
    const board = new RunProgressBoard(() => 0);
    const plan = fakePlan({ layers: keepFirst(4), task: 'spam', seed: 0 });
    board.handle({ kind: 'plan', total: 1, finished: 0, toRun: 1, skipped: 0, store: 'x.db' });
    board.handle({ kind: 'start', plan, id: 'c', index: 1, of: 1 });
    const result = {
      ...fakeResult(plan, { accuracy: 0.5 }),
      divergence: 'training loss became NaN at step 7',
    };
    result.timings.wallSeconds = 4.3;
    board.handle({ kind: 'done', id: 'c', index: 1, of: 1, result });
    assert.equal(board.summary(), '1 run: 1 done now (1 diverged) · 0 reused · 0 failed · 0.0 s');
    assert.deepEqual(board.finishedLines(), [
      '⚠ gpt2-tiny (synthetic) first 4 · spam · lm · seed 0 — accuracy 50.0% (4.3 s); DIVERGED: training loss became NaN at step 7',
    ]);
    assert.match(board.html(), /color:#b36b00/);
  });
});

describe('results of run()', () => {
  // Two tasks, each with its own template: the template varies only because the task does.
  const runs = [1, 2].flatMap((layers) =>
    [
      ['sst2', 'Review: {text}\nSentiment:{label}', 0.8],
      ['agnews', 'Article: {text}\nAnswer:{label}', 0.7],
    ].map(([task, template, accuracy]) =>
      storedRun(
        { task: task as string, template: template as string, layers: keepFirst(layers), seed: 0 },
        (accuracy as number) + layers / 100,
      ),
    ),
  );
  const results = new RunResults(runs, { total: 4, ran: 4, reused: 0, failed: 0, unfinished: 0 }, 'x.db');

  test('templates that follow the task are one condition: one row per depth, one column per task', () => {
    const merged = mergeFollowers(results.rows());
    assert.deepEqual(
      merged.rows.map((row) => row.template),
      ['per task', 'per task', 'per task', 'per task'],
    );
    assert.deepEqual(merged.notes, ["template follows the task (each run's value: the runs view)"]);
    const table = results.paperTable();
    assert.deepEqual(table.headers, ['layers', 'agnews', 'sst2', 'Average']);
    assert.deepEqual(
      table.rows.map((row) => row.map((cell) => cell.text)),
      [
        ['first 1', '71.0', '81.0', '76.0'],
        ['first 2', '72.0', '82.0', '77.0'],
        ['majority class', '50.0', '50.0', '50.0'],
      ],
    );
    assert.equal(table.notes?.at(-1), "template follows the task (each run's value: the runs view)");
  });

  test('a learning rate set per method is no row key when methods are the columns; several per method are', () => {
    const perMethod = [
      storedRun({ method: 'lm', lr: 1e-3 }, 0.7),
      storedRun({ method: 'cls', lr: 3e-3 }, 0.6),
    ];
    const table = new RunResults(
      perMethod,
      { total: 2, ran: 2, reused: 0, failed: 0, unfinished: 0 },
      'x.db',
    );
    const view = table.paperTable({ columns: 'method' });
    assert.deepEqual(view.headers, ['layers', 'cls', 'lm', 'Average']);
    assert.deepEqual(view.notes?.at(-1), "lr follows the method (each run's value: the runs view)");
    const twoRates = [...perMethod, storedRun({ method: 'lm', lr: 3e-3 }, 0.65)];
    const split = new RunResults(twoRates, { total: 3, ran: 3, reused: 0, failed: 0, unfinished: 0 }, 'x.db');
    assert.deepEqual(split.paperTable({ columns: 'method' }).headers, [
      'lr',
      'layers',
      'cls',
      'lm',
      'Average',
    ]);
  });

  test('show() takes the views themselves: paperView(…), compareView(…)', () => {
    const byMethod = [
      storedRun({ method: 'lm', seed: 1 }, 0.7),
      storedRun({ method: 'lm', seed: 2 }, 0.72),
      storedRun({ method: 'cls', seed: 1 }, 0.6),
      storedRun({ method: 'cls', seed: 2 }, 0.64),
    ];
    const rows = runRows(byMethod);
    const compared = toDisplayTable(compareView(rows, { setting: 'method', a: 'lm', b: 'cls' }));
    assert.deepEqual(compared.headers.slice(0, 3), ['pairs', 'method=lm', 'method=cls']);
    assert.equal(compared.rows[0]![3]!.text, '+9.0 ± 1.4');
    assert.deepEqual(toDisplayTable(paperView(rows)).headers, ['method', 'layers', 'sst2']);
    assert.throws(
      () => toDisplayTable({ colour: 'red' } as never),
      /show\(\) takes a table[^]*got an object with colour/,
    );
  });

  test('accuracy vs layers renders one line per task', async () => {
    const { renderSvg } = await import('../../src/notebook/render.js');
    const svg = await renderSvg(results.accuracyVsLayers());
    assert.equal(linePaths(svg), 2);
    assert.equal(results.runs().numRows(), 4);
  });
});

describe('outside a kernel', () => {
  test('no kernel channel in a plain process', () => {
    assert.equal(inKernel(), false);
    assert.equal(kernelChannel(), undefined);
  });

  test('show, plot and run print text; running again reuses the finished run', async (t) => {
    const store = path.join(dir, 'runs.db');
    const env = { LAYERCUT_CACHE: path.join(dir, 'cache') };
    const script = path.join(repoRoot, 'test', 'notebook', 'outside-kernel.ts');
    const once = async (): Promise<{ stdout: string; result: Record<string, unknown> }> => {
      const child = await runToEnd(t, process.execPath, ['--import', 'tsx', script, store], {
        cwd: repoRoot,
        env,
        timeoutMs: 120_000,
      });
      assert.equal(child.code, 0, child.stderr);
      const marker = child.stdout.split('\n').find((line) => line.startsWith('RESULT '));
      assert.ok(marker, child.stdout);
      return {
        stdout: child.stdout,
        result: JSON.parse(marker.slice('RESULT '.length)) as Record<string, unknown>,
      };
    };

    const first = await once();
    assert.ok(
      first.stdout.startsWith(
        '| task | accuracy |\n| --- | ---: |\n| spam | 0.8125 |\n| sotu-party | 0.5 |\n' +
          'Vega-Lite plot: Accuracy, 2 data points\n1 run: 0 done now · 0 reused · 0 failed · 1 to go',
      ),
      first.stdout,
    );
    assert.match(
      first.stdout,
      /\n✓ tiny-gpt2 first 1 · spam · lm · seed 0 — accuracy \d+\.\d% \(\d+\.\d s\)\n/,
    );
    assert.equal(first.result['inKernel'], false);
    assert.deepEqual(first.result['counts'], { total: 1, ran: 1, reused: 0, failed: 0, unfinished: 0 });
    const accuracy = first.result['accuracy'] as number;
    const table = first.result['paperTable'] as { rows: { text: string }[][] };
    assert.equal(table.rows[0]![1]!.text, (accuracy * 100).toFixed(1));

    const again = await once();
    assert.match(again.stdout, /1 run: 0 done now · 1 reused · 0 failed · \d+\.\d s\n/);
    assert.doesNotMatch(again.stdout, /✓/);
    assert.deepEqual(again.result['counts'], { total: 1, ran: 0, reused: 1, failed: 0, unfinished: 0 });
    assert.deepEqual(again.result['ids'], first.result['ids']);
    assert.equal(again.result['accuracy'], accuracy);
  });
});
