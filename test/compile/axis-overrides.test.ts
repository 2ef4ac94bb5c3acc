/**
 * Axes on the command line (`layercut run file.ts seed=0,1`): typed like the DSL's, compiled to
 * the same runs (and ids) as the axes written in the file, checked like them, and an unknown axis
 * names the axes there are.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { keepFirst, sweep } from '../../dsl/index.js';
import { main } from '../../src/cli.js';
import { parseAxisOverrides } from '../../src/compile/axis-overrides.js';
import { compileValues } from '../../src/compile/compile.js';
import { compileFile, loadExperimentFile } from '../../src/compile/file.js';
import { LayercutError } from '../../src/errors.js';
import { captured } from '../helpers/console.js';
import { offlineCatalog, repoRoot } from './helpers.js';

const quickstart = path.join(repoRoot, 'examples', 'quickstart.ts');

test('values are read as the axis takes them', () => {
  assert.deepEqual(
    parseAxisOverrides([
      'seed=0,1',
      'lr=1e-4,3e-4',
      'trainPerClass=32,all',
      'layers=1,2,4',
      'method=lm,promptCls,linear-probe',
      'model=openai-community/gpt2,builtin:tiny-english,./models/mine',
      'data={"maxLength":64}',
    ]),
    {
      seed: [0, 1],
      lr: [1e-4, 3e-4],
      trainPerClass: [32, 'all'],
      layers: [keepFirst(1), keepFirst(2), keepFirst(4)],
      method: [{ kind: 'lm' }, { kind: 'prompt-cls' }, { kind: 'linear-probe' }],
      model: [
        { kind: 'hub', repo: 'openai-community/gpt2' },
        { kind: 'builtin', name: 'tiny-english' },
        { kind: 'local', path: './models/mine' },
      ],
      data: [{ maxLength: 64 }],
    },
  );
  // layer text with commas: values separated by ';'
  assert.deepEqual(parseAxisOverrides(['layers=0, 5, 7;drop 2..3']), { layers: ['0, 5, 7', 'drop 2..3'] });
  const refused = (args: string[], pattern: RegExp): void =>
    assert.throws(
      () => parseAxisOverrides(args),
      (error: unknown) => error instanceof LayercutError && pattern.test(error.message),
    );
  refused(
    ['seeds=0,1'],
    /^unknown axis 'seeds'\n {2}hint: .*the axes: model, layers, task, method, .*, seed, /,
  );
  refused(['seed=0,x'], /^seed=…: 'x' is not a number/);
  refused(['method=bert'], /^method=…: 'bert' is not a method/);
  refused(
    ['words=x'],
    /^words=…: axis 'words' takes values the command line cannot write: set it in the file/,
  );
  refused(['other.ts'], /^one file at a time, got 'other\.ts' after it/);
  refused(['seed=1', 'seed=2'], /^seed=…: given twice/);
});

test('the command line gives the runs (and ids) the same axes give in the file', async () => {
  const axes = parseAxisOverrides(['seed=0,1', 'layers=1,2']);
  const fromCommandLine = await compileFile(quickstart, { catalog: offlineCatalog(), axes });
  assert.deepEqual(fromCommandLine.issues, []);
  const loaded = await loadExperimentFile(quickstart);
  const written = await compileValues(
    loaded.exports.map(({ name, value }) => ({
      name,
      value: sweep(value as Parameters<typeof sweep>[0], { seed: [0, 1], layers: [1, 2].map(keepFirst) }),
    })),
    { catalog: offlineCatalog() },
  );
  assert.equal(fromCommandLine.runs.length, 4);
  assert.deepEqual(
    fromCommandLine.runs.map((r) => r.id),
    written.runs.map((r) => r.id),
  );
  assert.deepEqual(
    fromCommandLine.runs.map((r) => [r.plan.seed, r.plan.layers]),
    [
      [0, keepFirst(1)],
      [0, keepFirst(2)],
      [1, keepFirst(1)],
      [1, keepFirst(2)],
    ],
  );
});

test('command-line values are checked like the file’s, and say they came from the command line', async () => {
  const bad = await compileFile(quickstart, {
    catalog: offlineCatalog(),
    axes: parseAxisOverrides(['seed=-1', 'layers=9']),
  });
  assert.deepEqual(
    bad.issues.map((i) => i.message),
    [
      'command line layers=… (value 1): cannot keep the first 9 layers: builtin model tiny-english has 8 layers; choose a count from 0 to 8',
      'command line seed=… (value 1): seed must be a whole number ≥ 0, got -1',
    ].sort(),
  );
  const run = await captured(() => main(['run', quickstart, 'seeds=1']));
  assert.equal(run.code, 2);
  assert.match(
    run.err,
    /^layercut run: unknown axis 'seeds'\n {2}hint: axes are written name=value,value… \(the axes: model, /,
  );
});
