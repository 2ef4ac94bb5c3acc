/**
 * Defaults and run-time validation: every default appears in the plan; values built at run
 * time (as a notebook may) are checked for what the type checker cannot see, each problem at
 * the path of the option that caused it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  builtin,
  cls,
  experiment,
  hf,
  keepFirst,
  lm,
  local,
  sweep,
  task,
  tasks,
  template,
  verbalizer,
  type Template,
} from '../../dsl/index.js';
import { compile, compileValues, type CompileResult } from '../../src/compile/compile.js';
import type { CompiledFile } from '../../src/compile/file.js';
import { CompileError } from '../../src/compile/issues.js';
import { listPlan } from '../../src/compile/listing.js';
import { ModelCatalog } from '../../src/compile/model-info.js';
import { runId } from '../../src/plan/id.js';
import { PAPER_DEFAULTS, type RunPlan } from '../../src/plan/types.js';
import { modelFixture } from '../helpers/fixtures.js';
import { offlineCatalog } from './helpers.js';
import { adamwSpec } from '../../src/plan/options.js';

const gpt2 = hf('openai-community/gpt2');

async function check(value: unknown): Promise<CompileResult> {
  return compileValues([{ name: 'run', value }], { catalog: offlineCatalog() });
}

/** `path → message` of each issue. */
const problems = (result: CompileResult): string[] =>
  result.issues.map((i) => `${i.severity} ${i.path.join('.')}: ${i.message}`);

test('every default is in the plan: the paper’s settings, the task’s template and label words', async () => {
  const [plan] = await compile(experiment({ model: gpt2, task: tasks.agnews }), {
    catalog: offlineCatalog(),
  });
  const expected: RunPlan = {
    model: { kind: 'hub', repo: 'openai-community/gpt2' },
    layers: { kind: 'all' },
    task: 'agnews',
    prompt: {
      template: 'Article: {text}\nAnswer:{label}',
      labelWords: {
        world: [' World'],
        sports: [' Sports'],
        business: [' Business'],
        technology: [' Technology'],
      },
      scoring: 'first',
    },
    method: { kind: 'lm', freezeEmbeddings: false, freezeLayers: [] },
    data: { ...PAPER_DEFAULTS.data },
    train: {
      optimizer: adamwSpec({ lr: 5e-5 }),
      schedule: { kind: 'constant', warmupSteps: 0 },
      batchSize: 1,
      gradientAccumulation: 1,
      epochs: 50,
      maxGradNorm: 0,
      evalEvery: 'epoch',
      earlyStopPatience: 15,
    },
    seed: 0,
  };
  assert.deepEqual(plan, expected);
});

test('an unknown task (built by hand) is an error at the task option', async () => {
  const result = await check({
    kind: 'experiment',
    options: { model: gpt2, task: { kind: 'task', name: 'sst3', fields: [], labels: [] } },
  });
  assert.deepEqual(problems(result), [
    "error options.task: unknown task 'sst3'; known tasks: sst2, agnews, trec, emoc, spam, sotu-party",
  ]);
});

test('a template built at run time is parsed against the task’s fields, with the place in its text', async () => {
  const text: string = ['Review: {txt}', 'Sentiment:{label}'].join('\n');
  const result = await check(
    experiment({ model: gpt2, task: tasks.sst2, prompt: template(tasks.sst2, text) }),
  );
  assert.equal(result.runs.length, 0);
  assert.deepEqual(result.issues, [
    {
      severity: 'error',
      message: 'template "Review: {txt}\\nSentiment:{label}": unknown field {txt}: the fields are: {text}',
      exportName: 'run',
      path: ['options', 'prompt'],
      inner: { line: 1, column: 9, offset: 8 },
    },
  ]);
  const noSlot: string = 'Review: {text}';
  const refused = await check(
    experiment({
      model: gpt2,
      task: tasks.sst2,
      method: lm(),
      prompt: template(tasks.sst2, noSlot) as Template<'sst2', true>,
    }),
  );
  assert.match(
    problems(refused)[0]!,
    /^error options\.prompt: template "Review: \{text\}": method lm scores the answer slot: no answer slot/,
  );
  const taken = await check(
    experiment({ model: gpt2, task: tasks.sst2, method: cls(), prompt: template(tasks.sst2, noSlot) }),
  );
  assert.deepEqual(taken.issues, []);
});

test('a verbalizer built at run time must name exactly the task’s labels', async () => {
  const words: Record<string, string> = { negative: ' bad', neutral: ' meh' };
  const result = await check(
    experiment({ model: gpt2, task: task('sst2'), words: verbalizer(task('sst2'), words) }),
  );
  assert.deepEqual(problems(result), [
    "error options.words: verbalizer: missing label 'positive'; no label 'neutral' in task 'sst2'; it must name exactly 'negative', 'positive'",
  ]);
});

test('a prompt for another task, met in a sweep over tasks, is an error at the prompt', async () => {
  const prompt = template(tasks.sst2)`Review: ${'text'}\nSentiment:${'label'}`;
  const result = await check(
    sweep(experiment({ model: gpt2, task: tasks.sst2, prompt }), { task: [tasks.sst2, tasks.trec] }),
  );
  assert.equal(result.runs.length, 1);
  assert.deepEqual(problems(result), [
    "error base.options.prompt: this template was written for task 'sst2', but the run's task is 'trec'",
  ]);
});

test('layers are checked against the depth of local and builtin models and of known hub models', async () => {
  const tiny = experiment({ model: builtin('gpt2-tiny'), task: tasks.spam, data: { maxLength: 32 } });
  const result = await check(sweep(tiny, { layers: [keepFirst(4), keepFirst(5), '0, 4'] }));
  assert.equal(result.runs.length, 1);
  assert.deepEqual(problems(result), [
    'error axes.layers.1: cannot keep the first 5 layers: builtin model gpt2-tiny has 4 layers; choose a count from 0 to 4',
    'error axes.layers.2: layer 4 does not exist: builtin model gpt2-tiny has 4 layers (0..3); pick layer indices in 0..3',
  ]);
  const hub = await check(
    experiment({ model: hf('facebook/opt-1.3b'), task: tasks.sst2, layers: keepFirst(25) }),
  );
  assert.deepEqual(problems(hub), [
    'error options.layers: cannot keep the first 25 layers: facebook/opt-1.3b has 24 layers; choose a count from 0 to 24',
  ]);
});

test('the depth of every family added for issue 19 is known at compile time from its config.json', async () => {
  for (const name of [
    'qwen2-tiny-window',
    'qwen3-tiny',
    'mistral-tiny',
    'phi3-tiny',
    'gemma-tiny',
    'gpt-neox-tiny',
    'llama3-tiny',
  ]) {
    const result = await check(
      experiment({
        model: local(modelFixture(name)),
        task: tasks.spam,
        layers: keepFirst(5),
        data: { maxLength: 32 },
      }),
    );
    assert.deepEqual(problems(result), [
      `error options.layers: cannot keep the first 5 layers: ${modelFixture(name)} has 4 layers; choose a count from 0 to 4`,
    ]);
  }
  // a Qwen2.5 config.json in the Hugging Face cache, as transformers 5 writes it
  const cache = mkdtempSync(path.join(tmpdir(), 'layercut-hub-'));
  try {
    const commit = 'b'.repeat(40);
    const repoDir = path.join(cache, 'models--Qwen--Qwen2.5-0.5B');
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    mkdirSync(path.join(repoDir, 'snapshots', commit), { recursive: true });
    writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
    const config = {
      model_type: 'qwen2',
      hidden_size: 64,
      intermediate_size: 96,
      num_hidden_layers: 24,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 512,
      vocab_size: 100,
      rope_parameters: { rope_type: 'default', rope_theta: 1000000 },
      tie_word_embeddings: true,
      use_sliding_window: false,
      sliding_window: null,
      layer_types: Array.from({ length: 24 }, () => 'full_attention'),
    };
    writeFileSync(path.join(repoDir, 'snapshots', commit, 'config.json'), JSON.stringify(config));
    const result = await compileValues(
      [
        {
          name: 'run',
          value: experiment({
            model: hf('Qwen/Qwen2.5-0.5B'),
            task: tasks.sst2,
            layers: keepFirst(25),
            data: { maxLength: 64 },
          }),
        },
      ],
      { catalog: new ModelCatalog({ hubCacheDir: cache }) },
    );
    assert.deepEqual(problems(result), [
      'error options.layers: cannot keep the first 25 layers: Qwen/Qwen2.5-0.5B has 24 layers; choose a count from 0 to 24',
    ]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a hub model whose config.json is not available offline: depth checks wait until run time, and say so', async () => {
  const result = await check(
    experiment({ model: hf('someone/new-model'), task: tasks.sst2, layers: keepFirst(99) }),
  );
  assert.equal(result.runs.length, 1);
  assert.deepEqual(result.runs[0]!.plan.layers, keepFirst(99));
  assert.equal(result.runs[0]!.keptLayers, undefined);
  assert.deepEqual(problems(result), [
    "warning options.model: config.json of someone/new-model is not in the Hugging Face cache nor in layercut's table of known models: layer checks wait until the run reads it",
  ]);
});

test('a config.json in the Hugging Face cache is used (and wins over the table of known models)', async () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'layercut-hub-'));
  try {
    const commit = 'a'.repeat(40);
    const repoDir = path.join(cache, 'models--openai-community--gpt2');
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    mkdirSync(path.join(repoDir, 'snapshots', commit), { recursive: true });
    writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
    const config = { model_type: 'gpt2', n_layer: 3, n_embd: 8, n_head: 2, n_positions: 64, vocab_size: 10 };
    writeFileSync(path.join(repoDir, 'snapshots', commit, 'config.json'), JSON.stringify(config));
    const result = await compileValues(
      [
        {
          name: 'run',
          value: experiment({ model: gpt2, task: tasks.sst2, layers: keepFirst(4), data: { maxLength: 64 } }),
        },
      ],
      {
        catalog: new ModelCatalog({ hubCacheDir: cache }),
      },
    );
    assert.deepEqual(problems(result), [
      'error options.layers: cannot keep the first 4 layers: openai-community/gpt2 has 3 layers; choose a count from 0 to 3',
    ]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a config.json link in the hub cache that leads outside the cache is not read', async () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'layercut-hub-'));
  try {
    const commit = 'a'.repeat(40);
    const repoDir = path.join(cache, 'models--openai-community--gpt2');
    const link = path.join(repoDir, 'snapshots', commit, 'config.json');
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    mkdirSync(path.dirname(link), { recursive: true });
    writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
    // What a hostile mirror's traversal etag once planted: a snapshot entry linking elsewhere.
    const secret = path.join(cache, 'secret.txt');
    writeFileSync(secret, 'SECRET-CONTENTS');
    symlinkSync(secret, link);
    const result = await compileValues(
      [{ name: 'run', value: experiment({ model: gpt2, task: tasks.sst2, data: { maxLength: 64 } }) }],
      { catalog: new ModelCatalog({ hubCacheDir: cache }) },
    );
    const messages = problems(result);
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.ok(
      messages[0]!.startsWith(`error options.model: the cache entry ${link} resolves to ${secret}, outside`),
    );
    assert.ok(!messages[0]!.includes('SECRET-CONTENTS'));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('options checked at run time: positions, frozen layers, option names, optimizer settings', async () => {
  const tiny = builtin('gpt2-tiny');
  const positions = await check(experiment({ model: tiny, task: tasks.spam, data: { maxLength: 64 } }));
  assert.deepEqual(problems(positions), [
    'error options.data.maxLength: data.maxLength 64 is more than builtin model gpt2-tiny has positions (32): set data: { maxLength: 32 } or less',
  ]);
  const frozen = await check(
    experiment({
      model: tiny,
      task: tasks.spam,
      layers: keepFirst(2),
      method: lm({ freezeLayers: [3] }),
      data: { maxLength: 32 },
    }),
  );
  assert.deepEqual(problems(frozen), [
    'error options.method: freezeLayers names layer 3, which the cut model does not keep (it keeps 0, 1)',
  ]);
  const handWritten = await check({
    kind: 'experiment',
    options: {
      model: gpt2,
      task: tasks.sst2,
      train: { lerningRate: 1e-4, optimizer: { kind: 'sgd' } },
      seed: -1,
      backend: 'tpu',
    },
  });
  assert.deepEqual(problems(handWritten), [
    "error options.train.lerningRate: unknown train option 'lerningRate': the options are optimizer, schedule, batchSize, gradientAccumulation, epochs, maxGradNorm, evalEvery, earlyStopPatience, steps, precision, adapters, replace",
    'error options.train.optimizer: sgd needs a learning rate: sgd({ lr: 1e-3 })',
    'error options.seed: seed must be a whole number ≥ 0, got -1',
    'error options.backend: backend must be one of auto, tensorflow, webgpu, wasm, cpu, got "tpu"',
  ]);
});

test('compile() is the notebook form: plans, or a CompileError listing every problem', async () => {
  const plans = await compile(
    [experiment({ model: gpt2, task: tasks.sst2 }), experiment({ model: gpt2, task: tasks.trec })],
    { catalog: offlineCatalog() },
  );
  assert.deepEqual(
    plans.map((p) => p.task),
    ['sst2', 'trec'],
  );
  await assert.rejects(
    compile(experiment({ model: gpt2, task: tasks.sst2, layers: keepFirst(13) }), {
      catalog: offlineCatalog(),
    }),
    (error: unknown) =>
      error instanceof CompileError &&
      error.message ===
        '1 error in the experiment:\n  (value).options.layers: cannot keep the first 13 layers: openai-community/gpt2 has 12 layers; choose a count from 0 to 12',
  );
});

test("train.precision: 'mixed' is in the plan (and its id), 'fp32' leaves the plan as it was", async () => {
  const base = { model: gpt2, task: tasks.sst2 };
  const [plain] = await compile(experiment(base), { catalog: offlineCatalog() });
  const [fp32] = await compile(experiment({ ...base, train: { precision: 'fp32' } }), {
    catalog: offlineCatalog(),
  });
  const [mixed] = await compile(experiment({ ...base, train: { precision: 'mixed' } }), {
    catalog: offlineCatalog(),
  });
  assert.equal(fp32!.train.precision, undefined);
  assert.deepEqual(fp32, plain);
  assert.equal(mixed!.train.precision, 'mixed');
  assert.notEqual(runId(mixed!), runId(plain!));
  const wrong = await check({ kind: 'experiment', options: { ...base, train: { precision: 'bf16' } } });
  assert.deepEqual(problems(wrong), [
    "error options.train.precision: train.precision is 'fp32' or 'mixed', not \"bf16\"",
  ]);
});

test('a sweep over precision lists it as a varying column', async () => {
  const plans = await compile(
    [
      experiment({ model: gpt2, task: tasks.sst2 }),
      experiment({ model: gpt2, task: tasks.sst2, train: { precision: 'mixed' } }),
    ],
    { catalog: offlineCatalog() },
  );
  const compiled = {
    file: 'inline',
    exports: ['run'],
    runs: plans.map((plan) => ({ plan, exports: ['run'], id: runId(plan) })),
    issues: [],
    duplicates: 0,
  } as unknown as CompiledFile;
  const listing = listPlan(compiled);
  assert.ok(listing.columns.includes('precision'), listing.columns.join(', '));
  assert.deepEqual(
    listing.runs.map((run) => run.varies['precision']),
    ['fp32', 'mixed'],
  );
});

test('the default maxLength fits the model: min(1024, its positions); a written one above them is an error', async () => {
  // tiny-english has 256 positions: the minimal experiment compiles, with maxLength 256
  const minimal = await check(experiment({ model: builtin('tiny-english'), task: tasks.spam }));
  assert.deepEqual(problems(minimal), []);
  assert.equal(minimal.runs[0]!.plan.data.maxLength, 256);
  // GPT-2 has 1024: the paper's default, so its plans (and ids) are as before
  const [paper] = (await check(experiment({ model: gpt2, task: tasks.sst2 }))).runs;
  assert.equal(paper!.plan.data.maxLength, 1024);
  const written = await check(
    experiment({ model: builtin('tiny-english'), task: tasks.spam, data: { maxLength: 512 } }),
  );
  assert.deepEqual(problems(written), [
    'error options.data.maxLength: data.maxLength 512 is more than builtin model tiny-english has positions (256): set data: { maxLength: 256 } or less',
  ]);
});

test('data.demoMaxTokens is in the plan only when written, and must be a whole number ≥ 1', async () => {
  const [unset] = (await check(experiment({ model: gpt2, task: tasks.sst2 }))).runs;
  assert.equal('demoMaxTokens' in unset!.plan.data, false);
  const [set] = (await check(experiment({ model: gpt2, task: tasks.sst2, data: { demoMaxTokens: 64 } })))
    .runs;
  assert.equal(set!.plan.data.demoMaxTokens, 64);
  assert.notEqual(set!.id, unset!.id);
  const bad = await check(experiment({ model: gpt2, task: tasks.sst2, data: { demoMaxTokens: 0 } }));
  assert.deepEqual(problems(bad), [
    'error options.data.demoMaxTokens: data.demoMaxTokens must be a whole number ≥ 1, got 0',
  ]);
});

test('one word under two labels is an error, without any tokenizer', async () => {
  const result = await check(
    experiment({
      model: gpt2,
      task: tasks.sst2,
      words: verbalizer(tasks.sst2, { negative: [' bad', ' meh'], positive: [' good', ' meh'] }),
    }),
  );
  assert.deepEqual(problems(result), [
    `error options.words: labels 'negative' and 'positive' both have the word " meh": they cannot be told apart`,
  ]);
});

test('numbers written as layers get the keepFirst hint', async () => {
  const numbers = await check(
    sweep(experiment({ model: gpt2, task: tasks.sst2 }), { layers: [1, 2] as unknown as [] }),
  );
  assert.deepEqual(problems(numbers), [
    'error axes.layers.0: 1 is not a layer selection: keepFirst(1) keeps the bottom 1; to sweep over depths write layers: [1, 2, 4].map(keepFirst)',
    'error axes.layers.1: 2 is not a layer selection: keepFirst(2) keeps the bottom 2; to sweep over depths write layers: [1, 2, 4].map(keepFirst)',
  ]);
  const list = await check(
    experiment({ model: gpt2, task: tasks.sst2, layers: [1, 2, 4] as unknown as 'all' }),
  );
  assert.deepEqual(problems(list), [
    'error options.layers: [1,2,4] is not a layer selection: keep([1,2,4]) keeps those layers; to sweep over depths write sweep(base, { layers: [1,2,4].map(keepFirst) })',
  ]);
});
