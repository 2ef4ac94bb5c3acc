/**
 * notebooks/healing.ipynb executed headless by Jupyter's client (nbclient) with the tslab kernel:
 * 16 small runs of the shipped tiny-english model (cuts 2 and 4 × full FT, LoRA, least-squares
 * replacement with and without fine-tuning × 2 seeds). Checks that every cell ran, that the
 * paper table has a row per cut and healing option with a mean ± std over two seeds (and the
 * majority class), and that the plot draws a line per option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

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

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-healing-nb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sourceOf = (cell: Cell): string => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);
const joined = (value: unknown): unknown => (Array.isArray(value) ? value.join('') : value);

function cellWith(cells: Cell[], text: string): Cell {
  const cell = cells.find((c) => sourceOf(c).includes(text));
  assert.ok(cell, `no cell with ${text}`);
  return cell;
}

function onlyDisplay(cell: Cell): Record<string, unknown> {
  assert.equal(cell.outputs?.length, 1, `${sourceOf(cell)}: ${JSON.stringify(cell.outputs)}`);
  const [output] = cell.outputs!;
  assert.equal(output!.output_type, 'display_data');
  return Object.fromEntries(Object.entries(output!.data!).map(([mime, value]) => [mime, joined(value)]));
}

describe('notebooks/healing.ipynb in the tslab kernel', () => {
  let cells: Cell[];
  // run from the `before` hook: no test owns the process, its 30-minute limit ends it
  before(async () => {
    const missing = await jupyterMissing(null);
    assert.equal(missing, undefined, missing);
    await ensureBuilt(null);
    const out = path.join(dir, 'healing.ipynb');
    const child = await runToEnd(
      null,
      python,
      [
        path.join(repoRoot, 'test', 'notebook', 'execute_notebook.py'),
        path.join(repoRoot, 'notebooks', 'healing.ipynb'),
        out,
        '--timeout',
        '1800',
      ],
      {
        cwd: repoRoot,
        env: { LAYERCUT_DB: path.join(dir, 'healing.db'), LAYERCUT_CACHE: path.join(dir, 'cache') },
        timeoutMs: 1_800_000,
      },
    );
    assert.equal(child.code, 0, `${child.stdout}\n${child.stderr}`);
    cells = (JSON.parse(readFileSync(out, 'utf8')) as { cells: Cell[] }).cells.filter(
      (c) => c.cell_type === 'code',
    );
  });

  test('every cell ran without errors or warnings, and run() trained the 16 runs', () => {
    for (const cell of cells) {
      for (const output of cell.outputs ?? []) {
        assert.notEqual(output.output_type, 'error', sourceOf(cell));
        assert.ok(
          output.output_type !== 'stream' || output.name !== 'stderr',
          `${sourceOf(cell)}: ${joined(output.text)}`,
        );
      }
    }
    const live = onlyDisplay(cellWith(cells, 'await run('));
    assert.match(live['text/plain'] as string, /^16 runs: 16 done now · 0 reused · 0 failed · /);
  });

  test('the paper table: a row per cut and healing option, mean ± std over two seeds', () => {
    const html = onlyDisplay(cellWith(cells, 'show(results.paperTable())'))['text/html'] as string;
    const headers = [...html.matchAll(/<th [^>]*>([^<]*)<\/th>/g)].map((m) => m[1]!);
    for (const key of ['adapters', 'replace', 'layers', 'spam'])
      assert.ok(headers.includes(key), headers.join(', '));
    const all = [...html.matchAll(/<tr>(.*?)<\/tr>/g)]
      .slice(1)
      .map((m) => [...m[1]!.matchAll(/<td [^>]*>(?:<b>)?([^<]*)(?:<\/b>)?<\/td>/g)].map((c) => c[1]!));
    const at = (row: string[], key: string) => row[headers.indexOf(key)]!;
    // the last row: the majority class of the test sample, the baseline every cell is read against
    const rows = all.slice(0, -1);
    assert.equal(at(all.at(-1)!, 'layers'), 'majority class');
    assert.match(at(all.at(-1)!, 'spam'), /^\d{1,3}\.\d$/);
    assert.equal(rows.length, 8);
    assert.deepEqual(
      [...new Set(rows.map((row) => `${at(row, 'adapters')} / ${at(row, 'replace')}`))].sort(),
      ['lora r8 a16 / none', 'none / linear (64 examples)', 'none / none'].sort(),
    );
    for (const row of rows) assert.match(at(row, 'spam'), /^\d{1,3}\.\d ± \d{1,3}\.\d$/);
  });

  test('the accuracy plot has a line per healing option', () => {
    const data = onlyDisplay(cellWith(cells, 'plot(results.accuracyVsLayers())'));
    const svg = data['image/svg+xml'] as string;
    const lines = (svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>(?:<path[^>]*\/>)+/g) ?? [])
      .map((group) => group.match(/<path/g)!.length)
      .reduce((a, b) => a + b, 0);
    assert.equal(lines, 4);
  });
});
