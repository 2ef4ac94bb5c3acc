// `layercut notebook <file.ts>` writes a tslab notebook that runs the file's experiments; the
// generated notebook executes headless with Jupyter's client and shows a table and a plot.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { runToEnd } from '../helpers/spawn.js';
import { ensureBuilt, jupyterMissing, python, repoRoot } from './helpers.js';

// inside the repository, where the kernel resolves `layercut` (node_modules/layercut)
mkdirSync(path.join(repoRoot, '.cache'), { recursive: true });
const dir = mkdtempSync(path.join(repoRoot, '.cache', 'notebook-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Cell {
  cell_type: string;
  source: string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; ename?: string }[];
}

it('writes one run cell per export, loading the file by a path relative to the notebook', async (t) => {
  const out = path.join(dir, 'ablations.ipynb');
  const cli = await runToEnd(
    t,
    'node',
    ['bin/layercut.mjs', 'notebook', 'examples/ablations.ts', '--out', out],
    {
      cwd: repoRoot,
      timeoutMs: 120_000,
    },
  );
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /4 experiment cell\(s\) \(templateAblation, whichLayers, depthScan, lrByMethod\)/);
  const notebook = JSON.parse(readFileSync(out, 'utf8')) as {
    metadata: { kernelspec: { name: string } };
    cells: Cell[];
  };
  assert.equal(notebook.metadata.kernelspec.name, 'tslab');
  const code = notebook.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join(''));
  assert.equal(code.length, 5);
  assert.match(code[0]!, /loadExperimentFile\("\.\.\/\.\.\/examples\/ablations\.ts"\)/);
  assert.match(code[4]!, /await run\(experiments\["lrByMethod"\]\)/);
});

it('the generated notebook runs in the tslab kernel and shows a table and a plot', async (t) => {
  const missing = await jupyterMissing(t);
  assert.equal(missing, undefined, missing);
  await ensureBuilt(t);
  const notebook = path.join(dir, 'tiny.ipynb');
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'dsl', 'notebook-tiny.ts');
  const cli = await runToEnd(t, 'node', ['bin/layercut.mjs', 'notebook', fixture, '--out', notebook], {
    cwd: repoRoot,
    timeoutMs: 120_000,
  });
  assert.equal(cli.code, 0, cli.stderr);
  const executed = path.join(dir, 'tiny.out.ipynb');
  const run = await runToEnd(
    t,
    python,
    ['test/notebook/execute_notebook.py', notebook, executed, '--timeout', '600'],
    { cwd: repoRoot, env: { LAYERCUT_DB: path.join(dir, 'runs.db') }, timeoutMs: 660_000 },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const cells = (JSON.parse(readFileSync(executed, 'utf8')) as { cells: Cell[] }).cells.filter(
    (c) => c.cell_type === 'code',
  );
  const outputs = cells.at(-1)!.outputs!;
  assert.ok(outputs.every((o) => o.output_type !== 'error'));
  const bundles = outputs.filter((o) => o.output_type === 'display_data').map((o) => o.data!);
  assert.ok(
    bundles.some((b) => String(b['text/html']).includes('<table')),
    'an HTML table',
  );
  assert.ok(
    bundles.some((b) => String(b['image/svg+xml']).includes('<svg')),
    'an SVG plot',
  );
});
