/**
 * notebooks/quickstart.ipynb executed headless by Jupyter's own client (nbclient) with the
 * tslab kernel, twice against one results store: the first time trains 8 small runs of the
 * shipped tiny-english model (about two minutes on two CPU cores), the second reuses them all.
 * Checks what the cells put out: the live run output (one output, updated in place), the paper
 * table as HTML — every depth above the majority class, which is computed here from the stored
 * runs' test labels — and the plots as Vega-Lite + SVG.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { openStoreReadOnly } from '../../src/results/store.js';
import { runToEnd } from '../helpers/spawn.js';
import { ensureBuilt, jupyterMissing, python, repoRoot } from './helpers.js';

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-quickstart-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = path.join(dir, 'quickstart.db');
/** Seconds a cell may take (execute_notebook.py's default: 600); raise it on a loaded machine. */
const cellTimeout = process.env['LAYERCUT_CELL_TIMEOUT'];

/**
 * Executes the quickstart notebook against the test's store; the code cells and the seconds it
 * took. Run from the `before` hook: no test owns the process, its own time limit ends it.
 */
async function executeQuickstart(name: string): Promise<{ cells: Cell[]; seconds: number }> {
  const out = path.join(dir, `${name}.ipynb`);
  const started = performance.now();
  const child = await runToEnd(
    null,
    python,
    [
      path.join(repoRoot, 'test', 'notebook', 'execute_notebook.py'),
      path.join(repoRoot, 'notebooks', 'quickstart.ipynb'),
      out,
      ...(cellTimeout ? ['--timeout', cellTimeout] : []),
    ],
    {
      cwd: repoRoot,
      env: { LAYERCUT_DB: db, LAYERCUT_CACHE: path.join(dir, 'cache') },
      // 20 minutes, or the raised per-cell limit and 10 minutes for the other cells
      timeoutMs: Math.max(1_200_000, (Number(cellTimeout ?? 0) + 600) * 1000),
    },
  );
  assert.equal(child.code, 0, `${child.stdout}\n${child.stderr}`);
  const notebook = JSON.parse(readFileSync(out, 'utf8')) as { cells: Cell[] };
  return {
    cells: notebook.cells.filter((cell) => cell.cell_type === 'code'),
    seconds: (performance.now() - started) / 1000,
  };
}

const sourceOf = (cell: Cell): string => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);

/** The code cell whose source contains `text`. */
function cellWith(cells: Cell[], text: string): Cell {
  const cell = cells.find((c) => sourceOf(c).includes(text));
  assert.ok(cell, `no cell with ${text}`);
  return cell;
}

/** Notebook files store multi-line text as a list of lines. */
const joined = (value: unknown): unknown => (Array.isArray(value) ? value.join('') : value);

/** The only output of a cell, a display_data: its bundle, text joined. */
function onlyDisplay(cell: Cell): Record<string, unknown> {
  assert.equal(cell.outputs?.length, 1, `${sourceOf(cell)}: ${JSON.stringify(cell.outputs)}`);
  const [output] = cell.outputs!;
  assert.equal(output!.output_type, 'display_data');
  return Object.fromEntries(Object.entries(output!.data!).map(([mime, value]) => [mime, joined(value)]));
}

/** Paths drawn by Vega line marks: one <path> per line in each mark-line group (as in plots.test.ts). */
function linePaths(svg: string): number {
  return (svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>(?:<path[^>]*\/>)+/g) ?? [])
    .map((group) => group.match(/<path/g)!.length)
    .reduce((a, b) => a + b, 0);
}

describe('notebooks/quickstart.ipynb in the tslab kernel', () => {
  let first: { cells: Cell[]; seconds: number };
  let second: { cells: Cell[]; seconds: number };
  before(async () => {
    const missing = await jupyterMissing(null);
    assert.equal(missing, undefined, missing); // the Debian packages are part of the test set-up, not optional
    await ensureBuilt(null);
    first = await executeQuickstart('first');
    second = await executeQuickstart('second');
  });

  test('every cell ran without errors or warnings', (t) => {
    t.diagnostic(
      `first execution ${first.seconds.toFixed(1)} s, second (all reused) ${second.seconds.toFixed(1)} s`,
    );
    for (const cell of [...first.cells, ...second.cells]) {
      for (const output of cell.outputs ?? []) {
        assert.notEqual(output.output_type, 'error', sourceOf(cell));
        assert.ok(
          output.output_type !== 'stream' || output.name !== 'stderr',
          `${sourceOf(cell)}: ${joined(output.text)}`,
        );
      }
    }
  });

  test('run() draws one live output: 8 runs trained, then all 8 reused', () => {
    const live = onlyDisplay(cellWith(first.cells, 'await run('));
    const text = live['text/plain'] as string;
    assert.match(text, /^8 runs: 8 done now · 0 reused · 0 failed · \d+\.\d s\n/);
    assert.equal(text.match(/^✓ tiny-english first [1248] · spam · lm · seed [01] — accuracy/gm)?.length, 8);
    const html = live['text/html'] as string;
    assert.match(html, /^<div class="layercut-run"/);
    assert.equal(html.match(/<path class="loss-line"/g)?.length, 8, 'a loss curve per trained run');

    const again = onlyDisplay(cellWith(second.cells, 'await run('));
    assert.match(again['text/plain'] as string, /^8 runs: 0 done now · 8 reused · 0 failed · \d+\.\d s\n$/);
  });

  test('the paper table: a row per kept-layer count, every one above the majority class', () => {
    const data = onlyDisplay(cellWith(first.cells, 'show(results.paperTable())'));
    const html = data['text/html'] as string;
    assert.match(html, /^<table class="layercut-table">/);
    const headers = [...html.matchAll(/<th [^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(headers, ['layers', 'spam']);
    const rows = [...html.matchAll(/<tr>(.*?)<\/tr>/g)]
      .slice(1)
      .map((m) => [...m[1]!.matchAll(/<td [^>]*>(?:<b>)?([^<]*)(?:<\/b>)?<\/td>/g)].map((c) => c[1]!));
    assert.deepEqual(
      rows.map((row) => row[0]),
      ['first 1', 'first 2', 'first 4', 'first 8', 'majority class'],
    );
    const depths = rows.slice(0, 4).map((row) => {
      const cell = /^(\d{1,3}\.\d) ± \d{1,2}\.\d$/.exec(row[1]!);
      assert.ok(cell, `mean ± std over two seeds: ${row[1]}`);
      return Number(cell[1]);
    });

    // The majority class of each run's test sample, from the labels the store recorded.
    const store = openStoreReadOnly(db);
    const runs = store.list({ status: 'done' });
    store.close();
    assert.equal(runs.length, 8);
    const shares = runs.map((run) => {
      const support = run.result!.test.perClass.map((c) => c.support);
      assert.equal(
        support.reduce((a, b) => a + b, 0),
        100,
        'the test sample',
      );
      return Math.max(...support) / 100;
    });
    const majority = (100 * shares.reduce((a, b) => a + b, 0)) / shares.length;
    assert.ok(Math.abs(Number(rows[4]![1]) - majority) <= 0.05 + 1e-9, `${rows[4]![1]} vs ${majority}`);
    // The model learns the task: every depth is above always answering the majority class.
    for (const [i, accuracy] of depths.entries())
      assert.ok(
        accuracy > majority,
        `${rows[i]![0]}: ${accuracy} is not above the majority class ${majority}`,
      );
    assert.ok(Math.max(...depths) >= majority + 10, `best ${Math.max(...depths)} vs majority ${majority}`);
    // The same numbers the second time: they come from the store.
    assert.equal(onlyDisplay(cellWith(second.cells, 'show(results.paperTable())'))['text/html'], html);
  });

  test('the accuracy plot: Vega-Lite for live front ends and an SVG of the mean over 2 seeds with its band', () => {
    const data = onlyDisplay(cellWith(first.cells, 'plot(results.accuracyVsLayers())'));
    const spec = data['application/vnd.vegalite.v6+json'] as {
      data: { values: { task: string; n: number }[] };
      title: { subtitle: string[] };
    };
    assert.deepEqual(data['application/vnd.vegalite.v5+json'], spec);
    assert.deepEqual(
      spec.data.values.map((v) => [v.task, v.n]),
      [1, 2, 3, 4].map(() => ['spam', 2]),
    );
    assert.deepEqual(spec.title.subtitle, [
      'mean of 2 seeds; band: ± 1 std over seeds',
      'dashed: majority class',
    ]);
    const svg = data['image/svg+xml'] as string;
    assert.match(svg, /^<svg /);
    assert.equal(linePaths(svg), 1);
    assert.match(svg, /<g class="mark-area role-mark[^"]*"[^>]*><path/, 'the band');
    assert.match(svg, />majority class</);
    assert.match(data['text/plain'] as string, /^Vega-Lite plot: Test accuracy vs kept layers/);
  });

  test('the training curves: a line per kept-layer count (the mean of its seeds)', () => {
    const data = onlyDisplay(cellWith(first.cells, 'plot(results.trainingCurves('));
    assert.equal(linePaths(data['image/svg+xml'] as string), 4);
  });
});
