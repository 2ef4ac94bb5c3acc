import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { resultsCommand } from '../../src/cli/results.js';
import { LayercutError } from '../../src/errors.js';
import { keepIndices, type LayerSelection } from '../../src/models/selection.js';
import type { MethodName } from '../../src/plan/types.js';
import { compareView, compareDisplay } from '../../src/results/compare-view.js';
import { exportResults } from '../../src/results/export.js';
import { paperDisplay, paperView } from '../../src/results/paper-view.js';
import { filterRows, parseFilters, runRows, type RunRow } from '../../src/results/rows.js';
import { runsTable } from '../../src/results/runs-view.js';
import { wilsonInterval } from '../../src/results/stats.js';
import { openStore, type ResultsStore } from '../../src/results/store.js';
import { fakePlan, fakeResult, keepAll, keepFirst } from './fake-runs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-views-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Spec {
  task: string;
  layers: LayerSelection;
  seed: number;
  accuracy: number;
  method?: MethodName;
}

function addRuns(store: ResultsStore, specs: Spec[]): void {
  for (const spec of specs) {
    const plan = fakePlan(spec);
    const [id] = store.enqueue([plan]).ids;
    store.markRunning(id);
    store.finish(id, fakeResult(plan, { accuracy: spec.accuracy, depth: 12 }));
  }
}

/**
 * The paper-view fixture, with the numbers worked out by hand:
 *
 *   first 1: sst2 0.60, 0.64 → 62.0 ± 2.8 (std 0.04/√2)   agnews 0.80, 0.84 → 82.0 ± 2.8
 *            average per seed 0.70, 0.74 → 72.0 ± 2.8
 *   first 2: sst2 0.80, 0.90 → 85.0 ± 7.1 (std 0.1/√2)    agnews 0.70, 0.76 → 73.0 ± 4.2
 *            average per seed 0.75, 0.83 → 79.0 ± 5.7
 *   all:     sst2 0.70 (one seed) → 70.0; no agnews run → no average
 *
 * plus one failed and one queued run, which no view counts.
 */
function paperFixture(file: string): RunRow[] {
  const store = openStore(file);
  addRuns(store, [
    { task: 'sst2', layers: keepFirst(1), seed: 1, accuracy: 0.6 },
    { task: 'sst2', layers: keepFirst(1), seed: 2, accuracy: 0.64 },
    { task: 'agnews', layers: keepFirst(1), seed: 1, accuracy: 0.8 },
    { task: 'agnews', layers: keepFirst(1), seed: 2, accuracy: 0.84 },
    { task: 'sst2', layers: keepFirst(2), seed: 1, accuracy: 0.8 },
    { task: 'sst2', layers: keepFirst(2), seed: 2, accuracy: 0.9 },
    { task: 'agnews', layers: keepFirst(2), seed: 1, accuracy: 0.7 },
    { task: 'agnews', layers: keepFirst(2), seed: 2, accuracy: 0.76 },
    { task: 'sst2', layers: keepAll, seed: 1, accuracy: 0.7 },
  ]);
  const [failed, queued] = store.enqueue([
    fakePlan({ task: 'agnews', layers: keepAll, seed: 1 }),
    fakePlan({ task: 'agnews', layers: keepAll, seed: 2 }),
  ]).ids;
  store.markRunning(failed);
  store.fail(failed, new Error('CUDA out of memory\n    at somewhere'));
  assert.equal(store.get(queued)!.status, 'queued');
  const rows = runRows(store.list());
  store.close();
  return rows;
}

describe('run rows', () => {
  test('plans flatten into settings columns', () => {
    const store = openStore(path.join(dir, 'rows.db'));
    const plan = {
      ...fakePlan({ task: 'trec', layers: keepIndices([0, 5]), seed: 3, lr: 1e-4, method: 'prompt-cls' }),
      backend: 'wasm' as const,
    };
    addRuns(store, [{ task: 'sst2', layers: keepAll, seed: 1, accuracy: 0.75 }]);
    store.enqueue([plan]);
    const [all, indices] = runRows(store.list());
    store.close();
    assert.equal(all.layers, 'all');
    assert.equal(all.keptLayers, 12, "'all' counts the model's layers once the run is done");
    assert.equal(all.accuracy, 0.75);
    assert.equal(all.params, 40_000_000 + 12 * 7_000_000);
    assert.equal(all.backend, 'cpu', 'where it ran, from the result');
    assert.equal(indices.layers, 'indices 0,5');
    assert.equal(indices.keptLayers, 2);
    assert.equal(indices.status, 'queued');
    assert.equal(indices.accuracy, null);
    assert.equal(indices.method, 'prompt-cls');
    assert.equal(indices.lr, 1e-4);
    assert.equal(indices.model, 'gpt2-tiny (synthetic)');
    assert.equal(indices.labelWords, 'negative: terrible | positive: great');
    assert.equal(indices.backend, 'wasm');
    assert.equal(runsTable([all, indices]).numRows(), 2);
  });

  test('filters: numbers compare as numbers, repeated keys mean any, unknown keys are refused', () => {
    const rows = paperFixture(path.join(dir, 'filters.db'));
    assert.equal(filterRows(rows, parseFilters(['task=sst2'])).length, 5);
    assert.equal(filterRows(rows, parseFilters(['task=sst2', 'seed=2'])).length, 2);
    assert.equal(filterRows(rows, parseFilters(['layers=first 1', 'layers=first 2'])).length, 8);
    assert.equal(filterRows(rows, parseFilters(['lr=5e-5'])).length, rows.length);
    assert.equal(filterRows(rows, parseFilters(['status=failed'])).length, 1);
    assert.throws(
      () => parseFilters(['colour=red']),
      (e: unknown) => e instanceof LayercutError && /unknown filter key 'colour'/.test(e.message),
    );
    assert.throws(() => parseFilters(['task']), /key=value/);
  });
});

describe('paper view', () => {
  const rows = paperFixture(path.join(dir, 'paper.db'));

  test('mean ± sample std over seeds in percent, an Average column, rows ordered by kept layers', () => {
    const view = paperView(rows);
    assert.deepEqual(view.rowKeys, ['layers']);
    assert.deepEqual(view.columns, ['agnews', 'sst2']);
    assert.deepEqual(
      view.rows.map((row) => row.key.layers),
      ['first 1', 'first 2', 'all'],
    );
    const [first1, first2, all] = view.rows;
    assert.equal(first2.cells.sst2!.text, '85.0 ± 7.1');
    assert.ok(Math.abs(first2.cells.sst2!.mean - 0.85) < 1e-12);
    assert.ok(Math.abs(first2.cells.sst2!.std! - 0.1 / Math.SQRT2) < 1e-12);
    assert.equal(first2.cells.sst2!.n, 2);
    assert.equal(first2.cells.agnews!.text, '73.0 ± 4.2');
    assert.equal(first2.average!.text, '79.0 ± 5.7');
    assert.equal(first1.cells.sst2!.text, '62.0 ± 2.8');
    assert.equal(first1.cells.agnews!.text, '82.0 ± 2.8');
    assert.equal(first1.average!.text, '72.0 ± 2.8');
    assert.equal(all.cells.sst2!.text, '70.0');
    assert.equal(all.cells.sst2!.std, null);
    assert.equal(all.cells.agnews, null);
    assert.equal(all.average, null);
    assert.equal(all.keptLayers, 12);
  });

  test('the best mean of each column is marked', () => {
    const view = paperView(rows);
    const best = (column: string): string[] =>
      view.rows
        .filter((row) => (column === 'Average' ? row.average : row.cells[column])?.best)
        .map((row) => String(row.key.layers));
    assert.deepEqual(best('sst2'), ['first 2']);
    assert.deepEqual(best('agnews'), ['first 1']);
    assert.deepEqual(best('Average'), ['first 2']);
  });

  test('a setting that varies splits the rows; --by moves another setting to the columns', () => {
    const store = openStore(path.join(dir, 'methods.db'));
    addRuns(store, [
      { task: 'sst2', layers: keepFirst(1), seed: 1, accuracy: 0.6, method: 'lm' },
      { task: 'sst2', layers: keepFirst(1), seed: 1, accuracy: 0.5, method: 'cls' },
      { task: 'sst2', layers: keepFirst(2), seed: 1, accuracy: 0.7, method: 'lm' },
    ]);
    const methodRows = runRows(store.list());
    store.close();
    const byTask = paperView(methodRows);
    assert.deepEqual(byTask.rowKeys, ['method', 'layers']);
    assert.deepEqual(
      byTask.rows.map((row) => `${row.key.method}/${row.key.layers}=${row.cells.sst2?.text}`),
      ['cls/first 1=50.0', 'lm/first 1=60.0', 'lm/first 2=70.0'],
    );
    const byMethod = paperView(methodRows, { columns: 'method' });
    assert.deepEqual(byMethod.columns, ['cls', 'lm']);
    assert.deepEqual(byMethod.rowKeys, ['layers']);
    assert.equal(byMethod.rows[0].cells.cls!.text, '50.0');
    assert.equal(byMethod.rows[1].cells.cls, null);
  });

  test('Markdown, CSV, LaTeX and JSON forms', () => {
    const md = exportResults(rows, { view: 'paper', format: 'md' }).trimEnd().split('\n');
    assert.equal(md[0], '| layers | agnews | sst2 | Average |');
    assert.equal(md[1], '| --- | ---: | ---: | ---: |');
    assert.equal(md[2], '| first 1 | **82.0 ± 2.8** | 62.0 ± 2.8 | 72.0 ± 2.8 |');
    assert.equal(md[3], '| first 2 | 73.0 ± 4.2 | **85.0 ± 7.1** | **79.0 ± 5.7** |');
    assert.equal(md[4], '| all (12) | – | 70.0 (n=1) | – |', 'a cell with fewer seeds than the rest says so');
    // fake-runs' test samples hold 500 examples of each class: the majority class scores 50 %
    assert.equal(md[5], '| majority class | 50.0 | 50.0 | 50.0 |');
    assert.match(
      md[7]!,
      /^accuracy in %, mean ± sample std over seeds \(2 seeds per cell, others as marked \(n=…\)\)/,
    );
    assert.match(md[8]!, /^majority class: the accuracy of always answering the most frequent label/);

    const csv = exportResults(rows, { view: 'paper', format: 'csv' }).trimEnd().split('\n');
    assert.deepEqual(csv, [
      'layers,agnews,sst2,Average',
      'first 1,82.0 ± 2.8,62.0 ± 2.8,72.0 ± 2.8',
      'first 2,73.0 ± 4.2,85.0 ± 7.1,79.0 ± 5.7',
      'all (12),–,70.0 (n=1),–',
      'majority class,50.0,50.0,50.0',
    ]);

    const tex = exportResults(rows, { view: 'paper', format: 'tex' });
    assert.match(
      tex,
      /\\begin\{tabular\}\{lrrr\}\n\\toprule\nlayers & agnews & sst2 & Average \\\\\n\\midrule\n/,
    );
    assert.match(
      tex,
      /first 2 & 73\.0 \$\\pm\$ 4\.2 & \\textbf\{85\.0 \$\\pm\$ 7\.1\} & \\textbf\{79\.0 \$\\pm\$ 5\.7\} \\\\/,
    );
    assert.match(tex, /\\bottomrule\n\\end\{tabular\}\n$/);

    const json = JSON.parse(exportResults(rows, { view: 'paper', format: 'json' })) as ReturnType<
      typeof paperView
    >;
    assert.deepEqual(json.columns, ['agnews', 'sst2']);
    assert.equal(json.rows[1].cells.sst2!.best, true);
    assert.equal(json.rows[1].cells.sst2!.text, '85.0 ± 7.1');
    assert.equal(paperDisplay(paperView(rows)).rows.length, 3 + 1, 'three depths and the majority class');
  });
});

describe('runs view', () => {
  const rows = paperFixture(path.join(dir, 'runs.db'));

  test('JSON: one object per run with id, status, the varying settings and metrics', () => {
    const runs = JSON.parse(exportResults(rows, { view: 'runs', format: 'json' })) as Record<
      string,
      unknown
    >[];
    assert.equal(runs.length, 11);
    const failed = runs.filter((run) => run.status === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].error, 'Error: CUDA out of memory', 'first line of the error');
    const done = runs.find((run) => run.task === 'sst2' && run.layers === 'first 2' && run.seed === 2)!;
    assert.match(String(done.id), /^[0-9a-f]{16}$/);
    assert.deepEqual(done.metrics, { accuracy: 0.9, macroF1: 0.89, validationAccuracy: 0.91 });
    assert.equal(done.keptLayers, 2);
    assert.equal(done.params, 40_000_000 + 2 * 7_000_000);
    for (const key of ['model', 'layers', 'task', 'method', 'template', 'seed', 'lr'])
      assert.ok(key in done, key);
    assert.ok(!('epochs' in done), 'settings that never vary stay out');
  });

  test('Markdown shows percent and short sizes; CSV keeps raw values and quotes templates', () => {
    const md = exportResults(rows, { view: 'runs', format: 'md' }).split('\n');
    assert.match(
      md[0],
      /^\| id \| status \| model \| layers \| keptLayers \| task \| method \| template \| seed \| lr \| accuracy \(%\) \| macro-F1 \(%\) \| params \| error \|$/,
    );
    assert.equal(md.filter((line) => line.startsWith('| ')).length, 2 + 11, 'header, rule, one line per run');
    const sst2first2 = md.find(
      (line) => line.includes('| first 2 | 2 | sst2 |') && line.includes('| 2 | 0.00005 |'),
    )!;
    assert.match(sst2first2, /\| Review: \{text\}\\nSentiment:\{label\} \|/);
    assert.match(sst2first2, /\| 90\.0 \| 89\.0 \| 54\.0M \|/);

    const csv = exportResults(rows, { view: 'runs', format: 'csv' });
    const header = csv.split('\n')[0].split(',');
    assert.deepEqual(header.slice(-12), [
      'accuracy',
      'macroF1',
      'validationAccuracy',
      'params',
      'paramsFull',
      'wallSeconds',
      'attempts',
      'testExamples',
      'majorityAccuracy',
      'majorityMacroF1',
      'layersFull',
      'error',
    ]);
    assert.ok(csv.includes('"Review: {text}\nSentiment:{label}"'));
    assert.match(csv, /,0\.9,0\.89,0\.91,54000000,124000000,25,1,1000,0\.5,0\.3333333333333333,12,\n/);
  });
});

describe('paired comparison', () => {
  const store = openStore(path.join(dir, 'compare.db'));
  // sst2: lm 0.80 0.85 0.90 vs prompt-cls 0.78 0.80 0.86 → differences 0.02 0.05 0.04
  // agnews: lm 0.70 0.72 vs prompt-cls 0.71 0.75 → differences −0.01 −0.03
  // lm seed 4 on sst2 has no partner.
  const lm = [0.8, 0.85, 0.9];
  const pc = [0.78, 0.8, 0.86];
  addRuns(store, [
    ...lm.map((accuracy, i) => ({
      task: 'sst2',
      layers: keepFirst(2),
      seed: i + 1,
      accuracy,
      method: 'lm' as const,
    })),
    ...pc.map((accuracy, i) => ({
      task: 'sst2',
      layers: keepFirst(2),
      seed: i + 1,
      accuracy,
      method: 'prompt-cls' as const,
    })),
    { task: 'sst2', layers: keepFirst(2), seed: 4, accuracy: 0.99, method: 'lm' },
    { task: 'agnews', layers: keepFirst(2), seed: 1, accuracy: 0.7, method: 'lm' },
    { task: 'agnews', layers: keepFirst(2), seed: 2, accuracy: 0.72, method: 'lm' },
    { task: 'agnews', layers: keepFirst(2), seed: 1, accuracy: 0.71, method: 'prompt-cls' },
    { task: 'agnews', layers: keepFirst(2), seed: 2, accuracy: 0.75, method: 'prompt-cls' },
  ]);
  const rows = runRows(store.list());
  store.close();

  test('pairs runs equal in everything but the compared setting; t-test per task and pooled', () => {
    const view = compareView(rows, { setting: 'method', a: 'lm', b: 'prompt-cls' });
    assert.deepEqual(view.groupKeys, ['task']);
    assert.equal(view.unpaired, 1);
    const [agnews, sst2] = view.groups;
    assert.equal(agnews.key.task, 'agnews');
    assert.equal(sst2.test.n, 3);
    // By hand: mean d = 0.11/3; deviations −1/60, 1/75, 1/300 → Σ² = 0.00046667; sd = √(0.00046667/2)
    const meanDiff = 0.11 / 3;
    const sd = Math.sqrt(((0.02 - meanDiff) ** 2 + (0.05 - meanDiff) ** 2 + (0.04 - meanDiff) ** 2) / 2);
    const t = meanDiff / (sd / Math.sqrt(3));
    assert.ok(Math.abs(sst2.test.meanDiff - meanDiff) < 1e-12);
    assert.ok(Math.abs(sst2.test.stdDiff! - sd) < 1e-12);
    assert.ok(Math.abs(sst2.test.t! - t) < 1e-9);
    // Two degrees of freedom: P(|T| > t) = 1 − t / √(2 + t²)
    assert.ok(Math.abs(sst2.test.p! - (1 - t / Math.sqrt(2 + t * t))) < 1e-12);
    assert.ok(Math.abs(sst2.meanA - 0.85) < 1e-12);
    // agnews: differences −0.01, −0.03 → mean −0.02, sd √0.0002, t = −2 with 1 df → p = 1 − 2·atan(2)/π
    assert.ok(Math.abs(agnews.test.t! + 2) < 1e-9);
    assert.ok(Math.abs(agnews.test.p! - (1 - (2 * Math.atan(2)) / Math.PI)) < 1e-12);
    assert.equal(view.overall!.test.n, 5);
    assert.ok(Math.abs(view.overall!.test.meanDiff - (0.02 + 0.05 + 0.04 - 0.01 - 0.03) / 5) < 1e-12);

    const table = compareDisplay(view);
    assert.deepEqual(table.headers, [
      'task',
      'pairs',
      'method=lm',
      'method=prompt-cls',
      'Δ (a - b)',
      't',
      'p',
    ]);
    assert.deepEqual(
      table.rows[1].map((cell) => cell.text),
      ['sst2', '3', '85.0 ± 5.0', '81.3 ± 4.2', '+3.7 ± 1.5', '4.16', '0.053'],
    );
    assert.deepEqual(table.rows[2].map((cell) => cell.text).slice(0, 2), ['all pairs', '5']);
    assert.match(table.notes!.join('\n'), /1 finished run\(s\) had no partner/);
  });

  test('conditions nobody ran are refused with the values that exist', () => {
    assert.throws(
      () => compareView(rows, { setting: 'method', a: 'lm', b: 'icl' }),
      (e: unknown) =>
        e instanceof LayercutError &&
        /no finished run has method=icl/.test(e.message) &&
        /lm, prompt-cls/.test(e.message),
    );
  });
});

describe('layercut results', () => {
  const db = path.join(dir, 'cli.db');
  paperFixture(db);

  test('--format json --out writes the runs; --filter narrows them', async () => {
    const out = path.join(dir, 'runs.json');
    assert.equal(
      await resultsCommand.run(['--db', db, '--format', 'json', '--filter', 'task=sst2', '--out', out]),
      0,
    );
    const runs = JSON.parse(readFileSync(out, 'utf8')) as {
      id: string;
      status: string;
      task: string;
      metrics: { accuracy: number };
    }[];
    assert.equal(runs.length, 5);
    assert.ok(
      runs.every(
        (run) => run.task === 'sst2' && run.status === 'done' && typeof run.metrics.accuracy === 'number',
      ),
    );
  });

  test('--view paper and --view compare', async () => {
    const out = path.join(dir, 'paper.md');
    assert.equal(await resultsCommand.run(['--db', db, '--view', 'paper', '--out', out]), 0);
    assert.match(readFileSync(out, 'utf8'), /\| first 2 \| 73\.0 ± 4\.2 \| \*\*85\.0 ± 7\.1\*\* \|/);
    const tex = path.join(dir, 'compare.tex');
    assert.equal(
      await resultsCommand.run([
        '--db',
        db,
        '--view',
        'compare',
        '--compare',
        'layers',
        '--a',
        'first 1',
        '--b',
        'first 2',
        '--format',
        'tex',
        '--out',
        tex,
      ]),
      0,
    );
    assert.match(
      readFileSync(tex, 'utf8'),
      /^agnews & 2 & 82\.0 \$\\pm\$ 2\.8 & 73\.0 \$\\pm\$ 4\.2 & \+9\.0 \$\\pm\$ 1\.4 /m,
    );
  });

  test('bad options are LayercutErrors', async () => {
    await assert.rejects(resultsCommand.run(['--db', path.join(dir, 'none.db')]), /no results store/);
    await assert.rejects(
      resultsCommand.run(['--db', db, '--format', 'xlsx']),
      /--format must be one of md, csv, tex, json/,
    );
    await assert.rejects(
      resultsCommand.run(['--db', db, '--view', 'compare']),
      /--compare SETTING --a VALUE --b VALUE/,
    );
    await assert.rejects(resultsCommand.run(['--db', db, '--by', 'colour']), LayercutError);
    await assert.rejects(resultsCommand.run(['--db', db, '--bogus']), LayercutError);
  });
});

describe('diverged runs', () => {
  /** Two seeds of first 1 on sst2 and one of first 2; seed 2 of first 1 diverged. */
  function divergedFixture(file: string): RunRow[] {
    const store = openStore(file);
    const why = 'training loss rose from 0.693 at the first step to 5.1e+11 at the end (mean of 3 steps)';
    for (const [seed, layers, accuracy, divergence] of [
      [1, keepFirst(1), 0.8, undefined],
      [2, keepFirst(1), 0.5, why],
      [1, keepFirst(2), 0.9, undefined],
    ] as const) {
      const plan = fakePlan({ task: 'sst2', layers, seed });
      const [id] = store.enqueue([plan]).ids;
      store.markRunning(id!);
      store.finish(id!, { ...fakeResult(plan, { accuracy }), ...(divergence ? { divergence } : {}) });
    }
    const rows = runRows(store.list());
    store.close();
    return rows;
  }

  test('are marked in every table: the paper cell and its average (†), the run (diverged), CSV and JSON say why', () => {
    const rows = divergedFixture(path.join(dir, 'diverged.db'));
    const diverged = rows.find((row) => row.diverged !== null)!;
    assert.equal(diverged.seed, 2);
    assert.equal(rows.filter((row) => row.diverged !== null).length, 1);

    const paper = paperView(rows);
    assert.deepEqual(
      paper.rows.map((row) => [row.key.layers, row.cells.sst2!.diverged]),
      [
        ['first 1', 1],
        ['first 2', 0],
      ],
    );
    const md = exportResults(rows, { view: 'paper', format: 'md' });
    assert.match(md, /^\| first 1 \| 65\.0 ± 21\.2 † \|$/m);
    assert.match(md, /^\| first 2 \| \*\*90\.0 \(n=1\)\*\* \|$/m);
    assert.match(md, /^† some of the cell's runs diverged/m);
    assert.match(
      exportResults(rows, { view: 'paper', format: 'tex' }),
      /65\.0 \$\\pm\$ 21\.2 \\textdagger\{\} \\\\/,
    );

    const runsMd = exportResults(rows, { view: 'runs', format: 'md' });
    assert.match(runsMd, new RegExp(`^\\| ${diverged.id} \\| done \\|.*\\| 50\\.0 \\(diverged\\) \\|`, 'm'));
    assert.equal(runsMd.match(/\(diverged\)/g)!.length, 1);
    assert.match(runsMd, new RegExp(`^diverged: ${diverged.id}: training loss rose from 0\\.693`, 'm'));
    const csv = exportResults(rows, { view: 'runs', format: 'csv' }).split('\n');
    const column = csv[0]!.split(',').indexOf('diverged');
    assert.ok(column > 0, csv[0]);
    assert.equal(csv.filter((line) => line.includes(diverged.diverged!)).length, 1);
    const json = JSON.parse(exportResults(rows, { view: 'runs', format: 'json' })) as {
      id: string;
      diverged?: string;
    }[];
    assert.deepEqual(
      json.filter((run) => run.diverged).map((run) => [run.id, run.diverged]),
      [[diverged.id, diverged.diverged]],
    );
    // Without a diverged run, no table says anything about it.
    const healthy = rows.filter((row) => row.diverged === null);
    assert.doesNotMatch(exportResults(healthy, { view: 'paper', format: 'md' }), /†/);
    assert.doesNotMatch(exportResults(healthy, { view: 'runs', format: 'csv' }), /diverged/);
  });
});

describe('settings that follow another, and what must match to pair', () => {
  /** lm at lr 1e-3 and cls at lr 3e-3 (each method its own rate), layers 1 and 2, seeds 1 and 2. */
  function perMethodRates(file: string, extra: { method: MethodName; lr: number }[] = []): RunRow[] {
    const store = openStore(path.join(dir, file));
    const specs = [{ method: 'lm' as const, lr: 1e-3 }, { method: 'cls' as const, lr: 3e-3 }, ...extra];
    for (const { method, lr } of specs) {
      for (const count of [1, 2]) {
        for (const seed of [1, 2]) {
          const plan = fakePlan({ task: 'sst2', layers: keepFirst(count), seed, method, lr });
          const accuracy =
            0.6 + count / 10 + (method === 'lm' ? 0.05 : 0) + seed / 100 + (lr === 1e-2 ? 0.1 : 0);
          const [id] = store.enqueue([plan]).ids;
          store.markRunning(id!);
          store.finish(id!, fakeResult(plan, { accuracy }));
        }
      }
    }
    const rows = runRows(store.list());
    store.close();
    return rows;
  }
  const rows = perMethodRates('followers.db');

  test('--by method: a learning rate per method splits no rows, on the command line as in notebooks', () => {
    const md = exportResults(rows, { view: 'paper', format: 'md', by: 'method' }).split('\n');
    assert.equal(md[0], '| layers | cls | lm | Average |');
    assert.equal(md[2], '| first 1 | 71.5 ± 0.7 | 76.5 ± 0.7 | 74.0 ± 0.7 |');
    assert.equal(md[3], '| first 2 | **81.5 ± 0.7** | **86.5 ± 0.7** | **84.0 ± 0.7** |');
    assert.ok(md.includes("lr follows the method (each run's value: the runs view)"), md.join('\n'));
  });

  test('compare: runs pair across a setting that follows the compared one', () => {
    const view = compareView(rows, { setting: 'method', a: 'lm', b: 'cls' });
    assert.equal(view.unpaired, 0);
    assert.equal(view.overall!.test.n, 4);
    assert.ok(Math.abs(view.overall!.test.meanDiff - 0.05) < 1e-12);
    assert.ok(!view.pairOn.includes('lr'));
    assert.match(compareDisplay(view).notes!.join('\n'), /lr follows the method: not required to match/);
  });

  test('compare: two candidate partners are an error naming the setting; --ignore and --pair-on choose', () => {
    // a second lm rate: lr no longer follows the method
    const two = perMethodRates('two-rates.db', [{ method: 'lm', lr: 1e-2 }]);
    assert.throws(
      () => compareView(two, { setting: 'method', a: 'lm', b: 'cls' }),
      (e: unknown) =>
        e instanceof LayercutError &&
        /no run with method=lm has a partner with method=cls .*closest differ in lr 0\.001 vs 0\.003/.test(
          e.message,
        ) &&
        /pass --ignore lr/.test(e.message),
    );
    assert.throws(
      () => compareView(two, { setting: 'method', a: 'lm', b: 'cls', ignore: ['lr'] }),
      (e: unknown) =>
        e instanceof LayercutError &&
        /pairs with 2 runs that differ only in lr 0\.001 vs 0\.01/.test(e.message),
    );
    const chosen = compareView(
      two.filter((row) => row.lr !== 1e-2),
      { setting: 'method', a: 'lm', b: 'cls', pairOn: ['task', 'layers', 'seed'] },
    );
    assert.deepEqual(chosen.pairOn, ['task', 'layers', 'seed']);
    assert.equal(chosen.overall!.test.n, 4);
    assert.throws(
      () => compareView(two, { setting: 'method', a: 'lm', b: 'cls', pairOn: ['method'] }),
      /cannot pair on method/,
    );
  });

  test('layercut results --view compare --ignore / --pair-on', async () => {
    const db = path.join(dir, 'pair-cli.db');
    perMethodRates('pair-cli.db', [{ method: 'lm', lr: 1e-2 }]);
    const out = path.join(dir, 'pair.md');
    const args = [
      '--db',
      db,
      '--view',
      'compare',
      '--compare',
      'method',
      '--a',
      'lm',
      '--b',
      'cls',
      '--out',
      out,
    ];
    assert.equal(await resultsCommand.run([...args, '--filter', 'lr=0.001', '--filter', 'lr=0.003']), 0);
    assert.match(
      readFileSync(out, 'utf8'),
      /^\| first 1 \| 2 \| 76\.5 ± 0\.7 \| 71\.5 ± 0\.7 \| \+5\.0 ± 0\.0 \|/m,
    );
    assert.equal(
      await resultsCommand.run([
        ...args,
        '--pair-on',
        'task,layers,seed',
        '--filter',
        'lr=0.01',
        '--filter',
        'lr=0.003',
      ]),
      0,
    );
    assert.match(
      readFileSync(out, 'utf8'),
      /^\| first 1 \| 2 \| 86\.5 ± 0\.7 \| 71\.5 ± 0\.7 \| \+15\.0 ± 0\.0 \|/m,
    );
    await assert.rejects(resultsCommand.run([...args, '--ignore', 'colour']), /--ignore must be one of/);
    await assert.rejects(resultsCommand.run(['--db', db, '--ignore', 'lr']), /belong to the compare view/);
  });
});

describe('filters as the tables print them', () => {
  const db = path.join(dir, 'last4.db');
  const store = openStore(db);
  for (const [layers, accuracy] of [
    [keepFirst(4), 0.8],
    [keepIndices([4, 5, 6, 7]), 0.7],
  ] as const) {
    const plan = fakePlan({ task: 'sst2', layers, template: 'Review: {text}\nSentiment:{label}' });
    const [id] = store.enqueue([plan]).ids;
    store.markRunning(id!);
    store.finish(id!, fakeResult(plan, { accuracy, depth: 8 }));
  }
  const rows = runRows(store.list());
  store.close();

  test('layers as experiment files write them, templates with \\n as typed', () => {
    assert.deepEqual(
      filterRows(rows, parseFilters(['layers=last 4'])).map((row) => row.layers),
      ['indices 4,5,6,7'],
    );
    assert.deepEqual(
      filterRows(rows, parseFilters(['layers=0..3'])).map((row) => row.layers),
      ['first 4'],
    );
    assert.equal(filterRows(rows, parseFilters(['layers=drop 2..5'])).length, 0);
    assert.equal(filterRows(rows, parseFilters(['template=Review: {text}\\nSentiment:{label}'])).length, 2);
  });

  test('a filter nothing passes is an error listing the values there are, not a crash', async () => {
    const out = path.join(dir, 'none.md');
    await assert.rejects(
      resultsCommand.run(['--db', db, '--view', 'paper', '--filter', 'layers=drop 2..5', '--out', out]),
      (e: unknown) =>
        e instanceof LayercutError &&
        /no runs match layers=drop 2\.\.5/.test(e.message) &&
        /layers: first 4 \| indices 4,5,6,7/.test(e.message),
    );
    // No rows at all: an empty table, not arquero's "Invalid column reference".
    assert.match(exportResults([], { view: 'paper', format: 'md' }), /no finished runs/);
  });
});

describe('numbers with their uncertainty', () => {
  const rows = paperFixture(path.join(dir, 'summary.db'));

  test('the summary view: one tidy row per condition with numeric mean, std, n and 95% CI', () => {
    const csv = exportResults(rows, { view: 'summary', format: 'csv' }).trimEnd().split('\n');
    const header = csv[0]!.split(',');
    assert.deepEqual(header, [
      'layers',
      'keptLayers',
      'task',
      'metric',
      'mean',
      'std',
      'n',
      'ci_low',
      'ci_high',
      'ci_method',
      'majority',
      'test_examples',
      'diverged',
      'seeds',
    ]);
    const cell = (layers: string, task: string): Record<string, string> => {
      const line = csv.find((l) => l.startsWith(`${layers},`) && l.split(',')[2] === task)!;
      return Object.fromEntries(line.split(',').map((value, i) => [header[i]!, value]));
    };
    // first 2 / sst2: 0.80, 0.90 → mean 0.85, std 0.0707; t(0.975, 1) = 12.706 → ± 0.635, clipped at 1
    const first2 = cell('first 2', 'sst2');
    assert.ok(Math.abs(Number(first2.mean) - 0.85) < 1e-12);
    assert.ok(Math.abs(Number(first2.std) - 0.1 / Math.SQRT2) < 1e-12);
    assert.equal(first2.n, '2');
    assert.equal(first2.ci_method, 't');
    assert.ok(Math.abs(0.85 - Number(first2.ci_low) - 12.706204736174707 * 0.05) < 1e-9, first2.ci_low);
    assert.equal(first2.ci_high, '1');
    assert.equal(first2.majority, '0.5');
    assert.equal(first2.seeds, '1 2');
    // all / sst2: one seed, Wilson on its 1000 test examples
    const all = cell('all', 'sst2');
    assert.equal(all.n, '1');
    assert.equal(all.std, '');
    assert.equal(all.ci_method, 'wilson');
    const wilson = wilsonInterval(0.7, 1000);
    assert.deepEqual([Number(all.ci_low), Number(all.ci_high)], [wilson.low, wilson.high]);
    assert.match(
      exportResults(rows, { view: 'summary', format: 'md' }),
      /Student's t over the seeds, wilson: Wilson's score interval/,
    );
  });

  test('--ci puts the 95% interval in the paper table and says which', () => {
    const md = exportResults(rows, { view: 'paper', format: 'md', ci: true });
    // agnews first 2: 0.70, 0.76 → 73.0 ± 12.706 · 0.03 = [34.9, 111.1], clipped at 100
    assert.match(md, /^\| first 2 \| 73\.0 ± 4\.2 \[34\.9, 100\.0\] \|/m);
    assert.match(md, /^\| all \(12\) \| – \| 70\.0 \[67\.1, 72\.8\] \(n=1\) \|/m);
    assert.match(
      md,
      /Student's t over the seeds \(n ≥ 2, clipped to 0–100\); for one seed, Wilson's score interval/,
    );
  });

  test('compare marks pairs holding a diverged run', () => {
    const store = openStore(path.join(dir, 'compare-diverged.db'));
    for (const [method, seed, accuracy, divergence] of [
      ['lm', 1, 0.8, undefined],
      ['lm', 2, 0.5, 'training loss became NaN at step 3'],
      ['cls', 1, 0.7, undefined],
      ['cls', 2, 0.72, undefined],
    ] as const) {
      const plan = fakePlan({ task: 'sst2', method, seed });
      const [id] = store.enqueue([plan]).ids;
      store.markRunning(id!);
      store.finish(id!, { ...fakeResult(plan, { accuracy }), ...(divergence ? { divergence } : {}) });
    }
    const diverged = runRows(store.list());
    store.close();
    const md = exportResults(diverged, {
      view: 'compare',
      format: 'md',
      compare: { setting: 'method', a: 'lm', b: 'cls' },
    });
    assert.match(md, /^\| 2 † \| 65\.0 ± 21\.2 \| 71\.0 ± 1\.4 \|/m);
    assert.match(md, /^† 1 pair\(s\) hold a run that diverged/m);
  });
});
