/** Sweep expansion: counts, order, grid/zip/concat, nesting, overrides, and values that depend on other choices. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adamw,
  builtin,
  cls,
  concat,
  depth,
  experiment,
  grid,
  hf,
  keepFirst,
  lm,
  override,
  paperSeeds,
  paperTasks,
  promptCls,
  sample,
  sgd,
  sweep,
  tasks,
  template,
  zip,
} from '../../dsl/index.js';
import { compileValues, type CompileResult } from '../../src/compile/compile.js';
import { offlineCatalog } from './helpers.js';

const gpt2 = hf('openai-community/gpt2');
const base = experiment({ model: gpt2, task: tasks.sst2, layers: keepFirst(2) });

async function compileOne(value: unknown): Promise<CompileResult> {
  return compileValues([{ name: 'value', value }], { catalog: offlineCatalog() });
}

/** [layers count, seed] of each run, for order checks. */
const layersAndSeeds = (result: CompileResult): [unknown, number][] =>
  result.runs.map((r) => [
    r.plan.layers.kind === 'first' ? r.plan.layers.count : r.plan.layers.kind,
    r.plan.seed,
  ]);

test('a sweep is a grid, first axis outermost', async () => {
  const result = await compileOne(sweep(base, { layers: [1, 2].map(keepFirst), seed: [0, 1, 2] }));
  assert.deepEqual(result.issues, []);
  assert.deepEqual(layersAndSeeds(result), [
    [1, 0],
    [1, 1],
    [1, 2],
    [2, 0],
    [2, 1],
    [2, 2],
  ]);
});

test('the paper grid has 5 × 4 × 3 × 5 = 300 runs with distinct ids', async () => {
  const result = await compileOne(
    sweep(base, {
      layers: [1, 2, 12, 24, 48].map(keepFirst),
      task: paperTasks,
      method: [lm(), promptCls(), cls()],
      seed: paperSeeds,
    }),
  );
  // gpt2 has 12 layers: 24 and 48 do not fit
  assert.equal(result.issues.filter((i) => i.severity === 'error').length, 2);
  const xl = await compileOne(
    sweep(override(base, { model: hf('openai-community/gpt2-xl') }), {
      layers: [1, 2, 12, 24, 48].map(keepFirst),
      task: paperTasks,
      method: [lm(), promptCls(), cls()],
      seed: paperSeeds,
    }),
  );
  assert.deepEqual(xl.issues, []);
  assert.equal(xl.runs.length, 300);
  assert.equal(new Set(xl.runs.map((r) => r.id)).size, 300);
  assert.deepEqual(
    xl.runs.slice(0, 6).map((r) => [r.plan.task, r.plan.method.kind, r.plan.seed]),
    [
      ['sst2', 'lm', 0],
      ['sst2', 'lm', 42],
      ['sst2', 'lm', 421],
      ['sst2', 'lm', 520],
      ['sst2', 'lm', 1218],
      ['sst2', 'prompt-cls', 0],
    ],
  );
});

test('zip pairs values; grid crosses parts; a length mismatch is an error at the zip', async () => {
  const agnewsPrompt = template(tasks.agnews)`News: ${'text'}\nTopic:${'label'}`;
  const sst2Prompt = template(tasks.sst2)`Text: ${'text'}\nMood:${'label'}`;
  const paired = await compileOne(
    sweep(base, zip({ task: [tasks.sst2, tasks.agnews], prompt: [sst2Prompt, agnewsPrompt] })),
  );
  assert.deepEqual(paired.issues, []);
  assert.deepEqual(
    paired.runs.map((r) => [r.plan.task, r.plan.prompt.template]),
    [
      ['sst2', 'Text: {text}\nMood:{label}'],
      ['agnews', 'News: {text}\nTopic:{label}'],
    ],
  );
  const crossed = await compileOne(
    sweep(
      base,
      grid(
        { seed: [0, 1, 2] },
        zip({ task: [tasks.sst2, tasks.agnews], prompt: [sst2Prompt, agnewsPrompt] }),
      ),
    ),
  );
  assert.equal(crossed.runs.length, 6);
  assert.deepEqual(
    crossed.runs.map((r) => `${r.plan.seed}:${r.plan.task}`),
    ['0:sst2', '0:agnews', '1:sst2', '1:agnews', '2:sst2', '2:agnews'],
  );
  const mismatch = await compileOne(sweep(base, zip({ task: [tasks.sst2, tasks.agnews], seed: [0, 1, 2] })));
  assert.deepEqual(mismatch.runs, []);
  assert.deepEqual(mismatch.issues, [
    {
      severity: 'error',
      message: "zip needs lists of one length: 'task' has 2 values, 'seed' has 3",
      exportName: 'value',
      path: ['axes', 'parts', 0],
    },
  ]);
});

test('concat lists its items in turn; a run defined twice is one run', async () => {
  const a = sweep(base, { seed: [0, 1] });
  const b = sweep(base, { seed: [1, 2] });
  const result = await compileOne(concat(a, b, base));
  assert.deepEqual(
    result.runs.map((r) => r.plan.seed),
    [0, 1, 2],
  );
  assert.equal(result.duplicates, 2);
});

test('sweeps nest: a sweep of a sweep is their product', async () => {
  const result = await compileOne(sweep(sweep(base, { seed: [0, 1] }), { lr: [1e-5, 1e-4] }));
  assert.deepEqual(
    result.runs.map((r) => [r.plan.seed, r.plan.train.optimizer.lr]),
    [
      [0, 1e-5],
      [0, 1e-4],
      [1, 1e-5],
      [1, 1e-4],
    ],
  );
});

test('a learning-rate list per method: a function axis sees the axes before it', async () => {
  const result = await compileOne(
    sweep(base, {
      method: [lm(), cls()],
      lr: ({ method }) => (method.kind === 'cls' ? [1e-4, 3e-4] : [5e-5]),
    }),
  );
  assert.deepEqual(
    result.runs.map((r) => [r.plan.method.kind, r.plan.train.optimizer.lr]),
    [
      ['lm', 5e-5],
      ['cls', 1e-4],
      ['cls', 3e-4],
    ],
  );
  // written the other way round, the function sees the base's method (lm by default) for every run
  const reversed = await compileOne(
    sweep(base, {
      lr: ({ method }) => (method.kind === 'cls' ? [1e-4, 3e-4] : [5e-5]),
      method: [lm(), cls()],
    }),
  );
  assert.deepEqual(
    reversed.runs.map((r) => [r.plan.method.kind, r.plan.train.optimizer.lr]),
    [
      ['lm', 5e-5],
      ['cls', 5e-5],
    ],
  );
});

test('depth(model) resolves from config.json; depth() follows each run’s model', async () => {
  const tiny = experiment({ model: builtin('gpt2-tiny'), task: tasks.spam, data: { maxLength: 32 } });
  const scan = await compileOne(sweep(tiny, { layers: depth(builtin('gpt2-tiny')).map(keepFirst) }));
  assert.deepEqual(scan.issues, []);
  assert.deepEqual(
    scan.runs.map((r) => r.plan.layers),
    [1, 2, 3, 4].map(keepFirst),
  );
  const perModel = await compileOne(
    sweep(tiny, {
      model: [builtin('gpt2-tiny'), hf('openai-community/gpt2')],
      layers: depth()
        .filter((k, d) => k === d || k === 1)
        .map(keepFirst),
    }),
  );
  assert.deepEqual(
    perModel.runs.map(
      (r) =>
        `${r.plan.model.kind === 'builtin' ? 'tiny' : 'gpt2'}:${r.plan.layers.kind === 'first' ? r.plan.layers.count : '?'}`,
    ),
    ['tiny:1', 'tiny:4', 'gpt2:1', 'gpt2:12'],
  );
  const facts = await compileOne(sweep(tiny, { layers: (_, model) => [keepFirst(model.depth / 2)] }));
  assert.deepEqual(
    facts.runs.map((r) => r.plan.layers),
    [keepFirst(2)],
  );
  const unknown = await compileOne(
    sweep(override(tiny, { model: hf('someone/unknown-model') }), { layers: depth().map(keepFirst) }),
  );
  assert.equal(unknown.runs.length, 0);
  assert.deepEqual(unknown.issues, [
    {
      severity: 'error',
      message:
        "depth() needs the model's depth, which is not known here: config.json of someone/unknown-model is not in the Hugging Face cache nor in layercut's table of known models",
      exportName: 'value',
      path: ['axes', 'layers'],
    },
  ]);
});

test('overrides and axes merge into train and data option by option', async () => {
  const trained = experiment({
    model: gpt2,
    task: tasks.sst2,
    train: { optimizer: sgd({ lr: 0.1, momentum: 0.9 }), epochs: 3 },
    data: { trainPerClass: 16 },
  });
  const result = await compileOne(
    sweep(override(trained, { train: { batchSize: 4 } }), { lr: [0.01], trainPerClass: [8] }),
  );
  const [run] = result.runs;
  assert.deepEqual(run!.plan.train.optimizer, { kind: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 0 });
  assert.equal(run!.plan.train.epochs, 3);
  assert.equal(run!.plan.train.batchSize, 4);
  assert.equal(run!.plan.data.trainPerClass, 8);
  const replaced = await compileOne(override(trained, { train: { optimizer: adamw() } }));
  assert.deepEqual(replaced.runs[0]!.plan.train.optimizer, {
    kind: 'adamw',
    lr: 5e-5,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
  });
});

test('axis values that are not lists, empty lists and unknown axes are errors at the axis', async () => {
  const result = await compileValues(
    [
      { name: 'empty', value: sweep(base, { seed: [] }) },
      { name: 'unknown', value: { kind: 'sweep', base, axes: { learningRate: [1] } } },
      {
        name: 'throws',
        value: sweep(base, {
          seed: () => {
            throw new Error('no seeds today');
          },
        }),
      },
    ],
    { catalog: offlineCatalog() },
  );
  assert.deepEqual(
    result.issues.map((i) => [i.exportName, i.path, i.message]),
    [
      ['empty', ['axes', 'seed'], "sweep axis 'seed' has no values: a sweep over nothing has no runs"],
      [
        'unknown',
        ['axes', 'learningRate'],
        "unknown sweep axis 'learningRate': the axes are model, layers, task, method, prompt, words, data, train, seed, backend, lr, optimizer, schedule, epochs, batchSize, trainPerClass",
      ],
      ['throws', ['axes', 'seed'], "sweep axis 'seed' failed: no seeds today"],
    ],
  );
});

test('sample(n, axes, { seed }): n points of the grid, deterministic, with the grid’s own ids, in grid order', async () => {
  const axes = {
    layers: [1, 2, 3, 4, 6, 8, 10, 12].map(keepFirst),
    lr: [1e-5, 3e-5, 1e-4, 3e-4],
    seed: [0, 1, 2, 3, 4],
  };
  const full = await compileOne(sweep(base, axes));
  assert.equal(full.runs.length, 160);
  const position = new Map(full.runs.map((r, i) => [r.id, i]));
  const picked = await compileOne(sweep(base, sample(12, axes, { seed: 7 })));
  assert.deepEqual(picked.issues, []);
  assert.equal(picked.runs.length, 12);
  const where = picked.runs.map((r) => position.get(r.id));
  assert.ok(
    where.every((i) => i !== undefined),
    'every sampled run is a run of the grid, with its id',
  );
  assert.deepEqual(
    where,
    [...where].sort((a, b) => a! - b!),
    'in grid order',
  );
  assert.equal(new Set(where).size, 12);
  // the same seed, the same runs; another seed, other runs
  const again = await compileOne(sweep(base, sample(12, axes, { seed: 7 })));
  assert.deepEqual(
    again.runs.map((r) => r.id),
    picked.runs.map((r) => r.id),
  );
  const other = await compileOne(sweep(base, sample(12, axes, { seed: 8 })));
  assert.notDeepEqual(
    other.runs.map((r) => r.id),
    picked.runs.map((r) => r.id),
  );
  // a part that has to be listed first (grid of parts) picks the same points as the plain object
  const listed = await compileOne(
    sweep(base, sample(12, grid({ layers: axes.layers }, { lr: axes.lr, seed: axes.seed }), { seed: 7 })),
  );
  assert.deepEqual(
    listed.runs.map((r) => r.id),
    picked.runs.map((r) => r.id),
  );
  // more points than the grid has: all of them
  const all = await compileOne(sweep(base, sample(1000, { seed: [0, 1, 2] }, { seed: 1 })));
  assert.deepEqual(
    all.runs.map((r) => r.plan.seed),
    [0, 1, 2],
  );
});

test('sample draws from a grid far too big to list, and checks its count and seed', async () => {
  const huge = {
    lr: Array.from({ length: 1000 }, (_, i) => (i + 1) * 1e-6),
    epochs: Array.from({ length: 1000 }, (_, i) => i + 1),
    seed: Array.from({ length: 1000 }, (_, i) => i),
  }; // 10^9 points
  const started = performance.now();
  const result = await compileOne(sweep(base, sample(5, huge, { seed: 3 })));
  assert.equal(result.runs.length, 5);
  assert.ok(performance.now() - started < 20_000);
  assert.equal(new Set(result.runs.map((r) => r.id)).size, 5);
  const bad = await compileOne(sweep(base, sample(0, huge, { seed: 3 })));
  assert.deepEqual(
    bad.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    ['axes.count: sample needs a whole number of points ≥ 1, got 0'],
  );
  const noSeed = await compileOne(sweep(base, sample(2, huge, {} as { seed: number })));
  assert.match(noSeed.issues[0]!.message, /^sample needs a seed \(a whole number ≥ 0\)/);
});
