/** Layer selections: the text grammar, its errors with columns, and resolution against a model's depth. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import peggy from 'peggy';
import { LayerIssue, parseLayerText, readLayers, resolveLayerRequest } from '../../src/compile/layers.js';
import { layerText } from '../../src/models/selection.js';
import { builtin, experiment, sweep, tasks } from '../../dsl/index.js';
import { byAngularDistance, byInfluence, keepFirstAndLast } from '../../dsl/layers.js';
import { compileValues, type CompileResult } from '../../src/compile/compile.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { offlineCatalog } from './helpers.js';

const repoRoot = path.resolve(fixturesDir, '..', '..');

/** The LayerIssue `fn` throws. */
function issue(fn: () => unknown): LayerIssue {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof LayerIssue, `expected a LayerIssue, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a LayerIssue');
}

test('the text forms', () => {
  assert.deepEqual(parseLayerText('all'), { kind: 'all' });
  assert.deepEqual(parseLayerText('first 2'), { kind: 'first', count: 2 });
  assert.deepEqual(parseLayerText('0..1'), { kind: 'keep', ranges: [{ from: 0, to: 1 }] });
  assert.deepEqual(parseLayerText(' 0, 2 , 5..7 '), {
    kind: 'keep',
    ranges: [
      { from: 0, to: 0 },
      { from: 2, to: 2 },
      { from: 5, to: 7 },
    ],
  });
  assert.deepEqual(parseLayerText('12..'), { kind: 'keep', ranges: [{ from: 12, to: null }] });
  assert.deepEqual(parseLayerText('drop 24..47'), { kind: 'drop', ranges: [{ from: 24, to: 47 }] });
  assert.deepEqual(parseLayerText('drop 2..'), { kind: 'drop', ranges: [{ from: 2, to: null }] });
});

test('syntax errors say where, in the text', () => {
  const misspelt = issue(() => parseLayerText('frist 2'));
  assert.deepEqual(misspelt.inner, { line: 1, column: 1, offset: 0 });
  assert.match(
    misspelt.message,
    /cannot read layer selection 'frist 2': Expected "all", "drop", "first", "last", or a layer index/,
  );
  const dangling = issue(() => parseLayerText('0..3, x'));
  assert.deepEqual(dangling.inner, { line: 1, column: 7, offset: 6 });
  const lone = issue(() => parseLayerText('2'));
  assert.match(
    lone.message,
    /'2' is ambiguous: write 'first 2' for the bottom 2 layers, or '2..2' for layer 2 alone/,
  );
});

test('equal selections resolve to one plan form: sorted indices, bottom-k lists become first k', () => {
  const resolve = (value: unknown, depth?: number) => resolveLayerRequest(readLayers(value), depth, 'gpt2');
  assert.deepEqual(resolve('0..1').selection, { kind: 'first', count: 2 });
  assert.deepEqual(resolve({ kind: 'indices', indices: [1, 0] }).selection, { kind: 'first', count: 2 });
  assert.deepEqual(resolve('5, 0..1').selection, { kind: 'indices', indices: [0, 1, 5] });
  assert.deepEqual(resolve('drop 2..', 12), { selection: { kind: 'first', count: 2 }, kept: [0, 1] });
  assert.deepEqual(resolve({ kind: 'drop', from: 1, to: 10 }, 12), {
    selection: { kind: 'indices', indices: [0, 11] },
    kept: [0, 11],
  });
  assert.deepEqual(resolve('10..', 12).selection, { kind: 'indices', indices: [10, 11] });
  assert.deepEqual(resolve('all', 3), { selection: { kind: 'all' }, kept: [0, 1, 2] });
  assert.equal(layerText(resolve('5, 0..1').selection), '0,1,5');
});

test('checks against the depth, and what waits for it', () => {
  const resolve = (value: unknown, depth?: number) => resolveLayerRequest(readLayers(value), depth, 'gpt2');
  assert.equal(
    issue(() => resolve('first 13', 12)).message,
    'cannot keep the first 13 layers: gpt2 has 12 layers; choose a count from 0 to 12',
  );
  assert.equal(
    issue(() => resolve('0, 12', 12)).message,
    'layer 12 does not exist: gpt2 has 12 layers (0..11); pick layer indices in 0..11',
  );
  assert.equal(
    issue(() => resolve('drop 10..12', 12)).message,
    'cannot drop layer 12: gpt2 has 12 layers (0..11)',
  );
  assert.equal(issue(() => resolve('3..1')).message, 'layer range 3..1 runs backwards: write 1..3');
  assert.equal(issue(() => resolve('0..2, 1')).message, 'layer 1 is named twice in the selection');
  // without the depth: first k and explicit indices pass (checked at run time), drop cannot be resolved
  assert.deepEqual(resolve('first 99'), { selection: { kind: 'first', count: 99 } });
  assert.match(
    issue(() => resolve('drop 24..47')).message,
    /^drop needs the depth of gpt2, which is not known offline/,
  );
  assert.match(
    issue(() => readLayers({ kind: 'first', count: 1.5 })).message,
    /keepFirst needs a whole number of layers/,
  );
});

test('grammar/layers.generated.js is up to date with layers.peggy', () => {
  const source = readFileSync(path.join(repoRoot, 'grammar/layers.peggy'), 'utf8');
  const generated = peggy.generate(source, { output: 'source', format: 'es' });
  const committed = readFileSync(path.join(repoRoot, 'grammar/layers.generated.js'), 'utf8');
  assert.ok(
    generated === committed,
    'grammar/layers.generated.js is stale: regenerate it with the command in grammar/layers.peggy',
  );
  const types = readFileSync(path.join(repoRoot, 'grammar/layers.generated.d.ts'), 'utf8');
  assert.match(types, /\): import\("\.\/layers-ast\.js"\)\.LayerSelectionNode;/);
});

test('first and last: the text form and the builder resolve to sorted indices', () => {
  assert.deepEqual(parseLayerText('first 2 + last 1'), { kind: 'ends', first: 2, last: 1 });
  assert.deepEqual(parseLayerText(' first 0+last 3 '), { kind: 'ends', first: 0, last: 3 });
  // 'last 2' alone: the top two layers
  assert.deepEqual(parseLayerText('last 2'), { kind: 'ends', first: 0, last: 2 });
  assert.match(
    issue(() => parseLayerText('final 2')).message,
    /Expected "all", "drop", "first", "last", or a layer index/,
  );
  assert.deepEqual(readLayers(keepFirstAndLast(2, 1)), { kind: 'ends', first: 2, last: 1 });
  const resolve = (value: unknown, depth?: number) => resolveLayerRequest(readLayers(value), depth, 'gpt2');
  assert.deepEqual(resolve('first 2 + last 1', 12), {
    selection: { kind: 'indices', indices: [0, 1, 11] },
    kept: [0, 1, 11],
  });
  assert.deepEqual(resolve(keepFirstAndLast(2, 1), 12), resolve('first 2 + last 1', 12));
  assert.deepEqual(resolve('first 0 + last 2', 12).selection, { kind: 'indices', indices: [10, 11] });
  assert.deepEqual(resolve('last 2', 12), resolve('first 0 + last 2', 12));
  assert.match(issue(() => resolve('last 2')).message, /^'last 2' needs the depth of gpt2/);
  assert.equal(
    issue(() => resolve('last 5', 4)).message,
    "'last 5' names 5 layers, but gpt2 has 4: first and last together may keep at most 4",
  );
  // the whole model, and 'last 0', come back as the plain forms (one run id each)
  assert.deepEqual(resolve('first 1 + last 2', 3).selection, { kind: 'first', count: 3 });
  assert.deepEqual(resolve(keepFirstAndLast(2, 0)), { selection: { kind: 'first', count: 2 } });
  assert.equal(
    issue(() => resolve('first 3 + last 2', 4)).message,
    "'first 3 + last 2' names 5 layers, but gpt2 has 4: first and last together may keep at most 4",
  );
  assert.match(
    issue(() => resolve('first 1 + last 1')).message,
    /^'first 1 \+ last 1' needs the depth of gpt2/,
  );
  assert.match(issue(() => parseLayerText('first 2 + 1')).message, /Expected "last"/);
  assert.match(
    issue(() => readLayers({ kind: 'first-last', first: 1, last: -1 })).message,
    /keepFirstAndLast needs two whole numbers of layers, got keepFirstAndLast\(1, -1\)/,
  );
});

test('computed selections stay rules in the plan; their counts are checked against the depth', () => {
  const resolve = (value: unknown, depth?: number) => resolveLayerRequest(readLayers(value), depth, 'gpt2');
  const influence = byInfluence({ keep: 3 });
  assert.deepEqual(influence, { kind: 'computed', by: 'influence', keep: 3, calibration: { examples: 64 } });
  assert.deepEqual(resolve(influence, 12), { selection: influence });
  assert.deepEqual(resolve(influence), { selection: influence });
  const angular = byAngularDistance({ drop: 4, calibration: { examples: 16 } });
  assert.deepEqual(resolve(angular, 12).selection, {
    kind: 'computed',
    by: 'angular-distance',
    drop: 4,
    calibration: { examples: 16 },
  });
  // a hand-written object gets the default calibration
  assert.deepEqual(resolve({ kind: 'computed', by: 'influence', keep: 2 }, 12).selection, {
    kind: 'computed',
    by: 'influence',
    keep: 2,
    calibration: { examples: 64 },
  });
  assert.equal(
    issue(() => resolve(byInfluence({ keep: 13 }), 12)).message,
    'cannot keep 13 layers by influence: gpt2 has 12 layers; choose keep from 1 to 12',
  );
  assert.equal(
    issue(() => resolve(byAngularDistance({ drop: 12 }), 12)).message,
    'cannot drop 12 layers by angular distance: gpt2 has 12 layers and one must stay; choose drop from 1 to 11',
  );
  assert.equal(
    issue(() => resolve(byInfluence({ keep: 0 }))).message,
    'byInfluence needs keep: a whole number of layers (1 or more), got 0',
  );
  assert.equal(
    issue(() => resolve(byAngularDistance({ drop: 2, calibration: { examples: 0 } }), 12)).message,
    'calibration needs a whole number of examples (1 or more), got 0; write calibration: { examples: 64 }',
  );
  assert.match(
    issue(() => resolve({ kind: 'computed', by: 'magic', keep: 2 })).message,
    /chosen by 'influence' or 'angular-distance', got "magic"/,
  );
  assert.equal(layerText(influence), 'keep 3 by influence (64 examples)');
  assert.equal(layerText(angular), 'drop 4 by angular distance (16 examples)');
});

test('layercut check: computed and first-and-last selections against a builtin model’s depth', async () => {
  const problems = (result: CompileResult): string[] =>
    result.issues.map((i) => `${i.severity} ${i.path.join('.')}: ${i.message}`);
  const tiny = experiment({ model: builtin('gpt2-tiny'), task: tasks.spam, data: { maxLength: 32 } });
  const result = await compileValues(
    [
      {
        name: 'run',
        value: sweep(tiny, {
          layers: [
            byInfluence({ keep: 2 }),
            byInfluence({ keep: 5 }),
            byAngularDistance({ drop: 4 }),
            'first 1 + last 1',
            keepFirstAndLast(3, 2),
          ],
        }),
      },
    ],
    { catalog: offlineCatalog() },
  );
  assert.deepEqual(problems(result), [
    'error axes.layers.1: cannot keep 5 layers by influence: builtin model gpt2-tiny has 4 layers; choose keep from 1 to 4',
    'error axes.layers.2: cannot drop 4 layers by angular distance: builtin model gpt2-tiny has 4 layers and one must stay; choose drop from 1 to 3',
    "error axes.layers.4: 'first 3 + last 2' names 5 layers, but builtin model gpt2-tiny has 4: first and last together may keep at most 4",
  ]);
  assert.deepEqual(
    result.runs.map((run) => [run.plan.layers, run.keptLayers]),
    [
      [byInfluence({ keep: 2 }), undefined],
      [{ kind: 'indices', indices: [0, 3] }, [0, 3]],
    ],
  );
});

// Minimal inputs the layer-grammar fuzzer (test/fuzz/layers.ts) found crashing or misreported.
test('fuzz finds: huge ranges are checked, not expanded; open ranges past the model name their first layer', () => {
  const resolve = (text: string, depth?: number) => resolveLayerRequest(parseLayerText(text), depth, 'gpt2');
  // expanded in full, this aborted the process (an array of 4.7e12 layers)
  assert.equal(
    issue(() => resolve('drop 24..4777777777777', 48)).message,
    'cannot drop layer 48: gpt2 has 48 layers (0..47)',
  );
  assert.equal(
    issue(() => resolve('0..30000000', 12)).message,
    'layer 12 does not exist: gpt2 has 12 layers (0..11); pick layer indices in 0..11',
  );
  // offline: once accepted as `first 3000001`
  assert.equal(
    issue(() => resolve('0..3000000')).message,
    'layer range 0..3000000 names 3000001 layers, more than any model has (10000)',
  );
  // once "layer range 2..null runs backwards: write null..2"
  assert.equal(
    issue(() => resolve('2..', 2)).message,
    'layer 2 does not exist: gpt2 has 2 layers (0..1); pick layer indices in 0..1',
  );
  assert.equal(
    issue(() => resolve('drop 12..', 5)).message,
    'cannot drop layer 12: gpt2 has 5 layers (0..4)',
  );
});

test('fuzz finds: layer indices past 2^53 are refused, not rounded', () => {
  // once read as Infinity ("'Infinity' is ambiguous") and as 9007199254740992
  const huge = issue(() => parseLayerText('9'.repeat(400)));
  assert.match(huge.message, /: 99999999999999999\.\.\. is too large for a layer index \(write e\.g\./);
  assert.deepEqual(huge.inner, { line: 1, column: 1, offset: 0 });
  assert.match(
    issue(() => parseLayerText('first 9007199254740993')).message,
    /9007199254740993 is too large/,
  );
  assert.deepEqual(parseLayerText('first 9007199254740991'), { kind: 'first', count: 9007199254740991 });
});

test('fuzz finds: the quoted layer text stays on one line and short', () => {
  const newline = issue(() => parseLayerText('\n'));
  assert.equal(newline.message.split('\n').length, 1);
  assert.match(newline.message, /^cannot read layer selection '\\n': Expected/);
  const long = issue(() => parseLayerText(`x${'1'.repeat(1000)}`));
  assert.match(long.message, /^cannot read layer selection 'x1{76}\.\.\.': Expected/);
});
