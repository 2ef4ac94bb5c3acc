/** DSL builders: each returns the plain data the compiler reads (no classes, JSON-serialisable where it can be). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adamw,
  builtin,
  cls,
  concat,
  constant,
  cosine,
  depth,
  drop,
  experiment,
  grid,
  hf,
  icl,
  keep,
  keepAll,
  keepFirst,
  linear,
  linearProbe,
  lm,
  local,
  override,
  paperSeeds,
  paperTasks,
  promptCls,
  resolveDepthList,
  sgd,
  sweep,
  task,
  tasks,
  template,
  verbalizer,
  zip,
} from '../../dsl/index.js';
import { getTask, taskNames } from '../../src/data/tasks.js';
import { PAPER_SEEDS } from '../../src/data/sampling.js';
import { LayercutError } from '../../src/errors.js';

test('models are the run plan’s model sources', () => {
  assert.deepEqual(hf('openai-community/gpt2-xl'), { kind: 'hub', repo: 'openai-community/gpt2-xl' });
  assert.deepEqual(hf('facebook/opt-1.3b', { revision: 'v1' }), {
    kind: 'hub',
    repo: 'facebook/opt-1.3b',
    revision: 'v1',
  });
  assert.deepEqual(local('./models/my-gpt'), { kind: 'local', path: './models/my-gpt' });
  assert.deepEqual(builtin('gpt2-tiny'), { kind: 'builtin', name: 'gpt2-tiny' });
});

test('layer builders and depth lists', () => {
  assert.deepEqual(keepFirst(2), { kind: 'first', count: 2 });
  assert.deepEqual(keep([0, 5]), { kind: 'indices', indices: [0, 5] });
  assert.deepEqual(keepAll(), { kind: 'all' });
  assert.deepEqual(drop(24, 47), { kind: 'drop', from: 24, to: 47 });
  assert.deepEqual(drop(24), { kind: 'drop', from: 24, to: null });
  const scan = depth().map(keepFirst);
  assert.equal(scan.kind, 'depth-list');
  assert.equal(scan.model, undefined);
  assert.deepEqual(resolveDepthList(scan, 3), [keepFirst(1), keepFirst(2), keepFirst(3)]);
  const evens = depth(hf('gpt2'))
    .filter((k) => k % 2 === 0)
    .map((k, d) => `${k}/${d}`);
  assert.deepEqual(evens.model, { kind: 'hub', repo: 'gpt2' });
  assert.deepEqual(resolveDepthList(evens, 6), ['2/6', '4/6', '6/6']);
});

test('DSL tasks carry exactly the registry’s fields and labels', () => {
  const dslTasks = Object.values(tasks);
  assert.deepEqual(
    dslTasks.map((t) => t.name),
    taskNames,
  );
  for (const t of dslTasks) {
    const spec = getTask(t.name);
    assert.equal(t.kind, 'task');
    assert.deepEqual([...t.fields], spec.fields, t.name);
    assert.deepEqual([...t.labels], spec.labels, t.name);
  }
  assert.deepEqual(
    paperTasks.map((t) => t.name),
    ['sst2', 'agnews', 'trec', 'emoc'],
  );
  assert.deepEqual([...paperSeeds], [...PAPER_SEEDS]);
  assert.deepEqual(task('trec'), tasks.trec);
  assert.throws(
    () => task('sst3'),
    (error: unknown) => error instanceof LayercutError && /unknown task 'sst3'/.test(error.message),
  );
});

test('template: the tag joins text and placeholders, escaping literal braces; the text form is kept as written', () => {
  const tagged = template(tasks.sst2)`Review: ${'text'} {sic}\nSentiment:${'label'}`;
  assert.deepEqual(tagged, {
    kind: 'template',
    task: 'sst2',
    source: 'Review: {text} {{sic}}\nSentiment:{label}',
    hasAnswerSlot: true,
  });
  const noSlot = template(tasks.sst2)`Review: ${'text'}`;
  assert.equal(noSlot.hasAnswerSlot, false);
  const text = template(tasks.agnews, 'Article: {text}\nAnswer:{label}');
  assert.deepEqual(text, {
    kind: 'template',
    task: 'agnews',
    source: 'Article: {text}\nAnswer:{label}',
    hasAnswerSlot: true,
  });
  assert.equal(template(tasks.agnews, 'Article: {{label}} {text}').hasAnswerSlot, false);
});

test('verbalizer: words per label in class order, one word or several, optional scoring', () => {
  const words = verbalizer(
    tasks.sst2,
    { positive: [' good', ' great'], negative: ' bad' },
    { scoring: 'sum' },
  );
  assert.deepEqual(words, {
    kind: 'verbalizer',
    task: 'sst2',
    labelWords: { negative: [' bad'], positive: [' good', ' great'] },
    scoring: 'sum',
  });
  assert.deepEqual(Object.keys(words.labelWords), ['negative', 'positive']);
});

test('methods, optimizers and schedules', () => {
  assert.deepEqual(lm(), { kind: 'lm' });
  assert.deepEqual(promptCls({ freezeEmbeddings: true }), { kind: 'prompt-cls', freezeEmbeddings: true });
  assert.deepEqual(cls({ freezeLayers: [0] }), { kind: 'cls', freezeLayers: [0] });
  assert.deepEqual(icl(), { kind: 'icl' });
  assert.deepEqual(linearProbe(), { kind: 'linear-probe' });
  assert.deepEqual(adamw({ lr: 1e-4 }), { kind: 'adamw', lr: 1e-4 });
  assert.deepEqual(sgd({ lr: 0.1, momentum: 0.9 }), { kind: 'sgd', lr: 0.1, momentum: 0.9 });
  assert.deepEqual(constant(), { kind: 'constant' });
  assert.deepEqual(linear({ warmupSteps: 10 }), { kind: 'linear', warmupSteps: 10 });
  assert.deepEqual(cosine({ warmupSteps: 5 }), { kind: 'cosine', warmupSteps: 5 });
});

test('experiments, overrides, sweeps, grids, zips and concatenations are plain data', () => {
  const base = experiment({ model: hf('gpt2'), task: tasks.sst2, layers: '0..1', train: { epochs: 3 } });
  assert.deepEqual(JSON.parse(JSON.stringify(base)), {
    kind: 'experiment',
    options: {
      model: { kind: 'hub', repo: 'gpt2' },
      task: { kind: 'task', name: 'sst2', fields: ['text'], labels: ['negative', 'positive'] },
      layers: '0..1',
      train: { epochs: 3 },
    },
  });
  const changed = override(base, { seed: 42 });
  assert.deepEqual(changed, { kind: 'override', base, changes: { seed: 42 } });
  const axes = grid({ seed: [0, 1] }, zip({ task: [tasks.sst2], layers: [keepFirst(1)] }));
  assert.deepEqual(axes, {
    kind: 'grid',
    parts: [{ seed: [0, 1] }, { kind: 'zip', parts: [{ task: [tasks.sst2], layers: [keepFirst(1)] }] }],
  });
  const swept = sweep(base, axes);
  assert.deepEqual(swept, { kind: 'sweep', base, axes });
  assert.deepEqual(concat(base, swept), { kind: 'concat', items: [base, swept] });
  assert.deepEqual(JSON.parse(JSON.stringify(swept)), swept);
});
