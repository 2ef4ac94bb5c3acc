// The healing options of the DSL compile to plans with PEFT's defaults filled in, are a sweep
// axis like any other, and are checked against the method and the model's projections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  local,
  drop,
  dropSublayers,
  experiment,
  hf,
  icl,
  keepFirst,
  linearProbe,
  lora,
  replaceBlock,
  sweep,
  tasks,
} from '../../dsl/index.js';
import { compile, compileValues, type CompileResult } from '../../src/compile/compile.js';
import { runId } from '../../src/plan/id.js';
import { modelFixture } from '../helpers/fixtures.js';
import { offlineCatalog } from './helpers.js';

const gpt2 = hf('openai-community/gpt2');

async function check(value: unknown): Promise<CompileResult> {
  return compileValues([{ name: 'run', value }], { catalog: offlineCatalog() });
}

/** `path → message` of each issue. */
const problems = (result: CompileResult): string[] =>
  result.issues.map((i) => `${i.severity} ${i.path.join('.')}: ${i.message}`);

test("lora() takes PEFT's defaults, keeps full fine-tuning plans as they were, and sweeps", async () => {
  const base = { model: gpt2, task: tasks.sst2 };
  const [full] = await compile(experiment(base), { catalog: offlineCatalog() });
  assert.equal(full!.train.adapters, undefined);
  const [adapted] = await compile(experiment({ ...base, train: { adapters: lora() } }), {
    catalog: offlineCatalog(),
  });
  assert.deepEqual(adapted!.train.adapters, { kind: 'lora', rank: 8, alpha: 8, targets: 'all', dropout: 0 });
  assert.notEqual(runId(adapted!), runId(full!));
  const plans = await compile(
    sweep(experiment(base), { train: [{}, { adapters: lora({ rank: 4, alpha: 16, targets: ['c_attn'] }) }] }),
    { catalog: offlineCatalog() },
  );
  assert.deepEqual(
    plans.map((p) => p.train.adapters?.rank ?? 'full'),
    ['full', 4],
  );
  assert.deepEqual(plans[1]!.train.adapters!.targets, ['c_attn']);
});

test('lora() options are checked: ranges, method, and targets against the model family', async () => {
  const result = await check({
    kind: 'experiment',
    options: {
      model: gpt2,
      task: tasks.sst2,
      train: { adapters: { kind: 'lora', rank: 0, alpha: -1, dropout: 1, targets: [], bias: true } },
    },
  });
  assert.deepEqual(problems(result), [
    "error options.train.adapters.bias: unknown lora option 'bias': the options are kind, rank, alpha, targets, dropout",
    'error options.train.adapters.rank: the LoRA rank must be a whole number ≥ 1, got 0',
    'error options.train.adapters.alpha: LoRA alpha must be a positive number, got -1',
    'error options.train.adapters.dropout: LoRA dropout must be a number in [0, 1), got 1',
    "error options.train.adapters.targets: LoRA targets must be 'all' or module names such as ['c_attn'] or ['q_proj', 'v_proj'], got []",
  ]);
  const wrongTarget = await check(
    experiment({
      model: gpt2,
      task: tasks.sst2,
      train: { adapters: lora({ targets: ['q_proj'] }) },
    }),
  );
  assert.deepEqual(problems(wrongTarget), [
    "error options.train.adapters.targets: LoRA target 'q_proj' matches no projection of gpt2: its projections are attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj",
  ]);
  for (const method of [icl(), linearProbe()]) {
    const frozen = await check(
      experiment({ model: gpt2, task: tasks.sst2, method, train: { adapters: lora() } }),
    );
    assert.deepEqual(problems(frozen), [
      `error options.train.adapters: method ${method.kind} trains no model weights: LoRA adapters need lm(), promptCls() or cls()`,
    ]);
  }
});

test('replaceBlock() fills its defaults and is checked against the cut and the family', async () => {
  const base = { model: gpt2, task: tasks.sst2, layers: keepFirst(6) };
  const [linear] = await compile(experiment({ ...base, train: { replace: replaceBlock(), epochs: 0 } }), {
    catalog: offlineCatalog(),
  });
  assert.deepEqual(linear!.train.replace, { kind: 'replace', fit: 'linear', calibration: 64 });
  const [mlp] = await compile(
    experiment({ ...base, train: { replace: replaceBlock({ fit: 'mlp', steps: 50 }) } }),
    {
      catalog: offlineCatalog(),
    },
  );
  assert.deepEqual(mlp!.train.replace, {
    kind: 'replace',
    fit: 'mlp',
    calibration: 64,
    hidden: 0,
    steps: 50,
    lr: 1e-3,
  });
  const wrong = await check(
    experiment({ model: gpt2, task: tasks.sst2, layers: drop(0, 2), train: { replace: replaceBlock() } }),
  );
  assert.deepEqual(problems(wrong), [
    'error options.train.replace: cannot replace a block: the removed block starts at layer 0: a replacement needs the layer below the block kept',
  ]);
  const none = await check(experiment({ model: gpt2, task: tasks.sst2, train: { replace: replaceBlock() } }));
  assert.deepEqual(problems(none), [
    'error options.train.replace: cannot replace a block: the layer selection removes no layer: there is no block to replace',
  ]);
  const options = await check({
    kind: 'experiment',
    options: { ...base, train: { replace: { kind: 'replace', fit: 'linear', steps: 3 } } },
  });
  assert.deepEqual(problems(options), [
    "error options.train.replace.steps: unknown replaceBlock fit 'linear' option 'steps': the options are kind, fit, calibration",
  ]);
  const bert = await check(
    experiment({
      model: local(modelFixture('bert-tiny')),
      task: tasks.sst2,
      layers: keepFirst(2),
      data: { maxLength: 32 },
      train: { replace: replaceBlock() },
    }),
  );
  assert.ok(
    problems(bert).includes(
      "error options.train.replace: cannot replace a block: bert is post-LayerNorm (each sublayer's sum is normalised): its sublayers cannot be removed alone",
    ),
    problems(bert).join('\n'),
  );
});

test('sublayer drops: text and dropSublayers() give one plan; checked against depth, cut and family', async () => {
  const base = { model: gpt2, task: tasks.sst2 };
  const [text] = await compile(experiment({ ...base, layers: 'first 8; drop attn 2..4; drop mlp 7' }), {
    catalog: offlineCatalog(),
  });
  const [built] = await compile(
    experiment({ ...base, layers: dropSublayers({ attention: [4, 3, 2], mlp: [7] }, keepFirst(8)) }),
    { catalog: offlineCatalog() },
  );
  assert.deepEqual(text!.layers, { kind: 'first', count: 8 });
  assert.deepEqual(text!.sublayers, { attention: [2, 3, 4], mlp: [7] });
  assert.equal(runId(text!), runId(built!));
  const [whole] = await compile(experiment({ ...base, layers: 'drop attn 10..' }), {
    catalog: offlineCatalog(),
  });
  assert.deepEqual(whole!.layers, { kind: 'all' });
  assert.deepEqual(whole!.sublayers, { attention: [10, 11], mlp: [] });
  const [plain] = await compile(experiment(base), { catalog: offlineCatalog() });
  assert.equal('sublayers' in plain!, false);

  const errors = async (layers: unknown, model: unknown = gpt2) =>
    problems(
      await check({
        kind: 'experiment',
        options: { model, task: tasks.sst2, layers, data: { maxLength: 32 } },
      }),
    );
  assert.deepEqual(await errors('first 4; drop attn 6'), [
    'error options.layers: cannot drop the attention of layer 6: the cut does not keep it (it keeps 0, 1, 2, 3)',
  ]);
  assert.deepEqual(await errors('drop mlp 12'), [
    'error options.layers: cannot drop the MLP of layer 12: openai-community/gpt2 has 12 layers (0..11)',
  ]);
  assert.deepEqual(await errors('drop attn 1', local(modelFixture('bert-tiny'))), [
    `error options.layers: cannot drop sublayers of ${modelFixture('bert-tiny')}: bert is post-LayerNorm (each sublayer's sum is normalised): its sublayers cannot be removed alone`,
  ]);
  const withReplace = await check(
    experiment({ ...base, layers: 'first 8; drop attn 2', train: { replace: replaceBlock() } }),
  );
  assert.deepEqual(problems(withReplace), [
    'error options.train.replace: a block replacement is fitted on whole layers: drop no sublayers with it',
  ]);
});

test('huge sublayer ranges are refused before they are expanded', async () => {
  const started = performance.now();
  const known = await check(
    experiment({ model: gpt2, task: tasks.sst2, layers: 'drop attn 3..9007199254740990' }),
  );
  assert.deepEqual(problems(known), [
    'error options.layers: cannot drop the attention of layer 12: openai-community/gpt2 has 12 layers (0..11)',
  ]);
  const offline = await check(
    experiment({
      model: hf('someone/unknown-model'),
      task: tasks.sst2,
      layers: 'drop mlp 0..9007199254740990',
    }),
  );
  assert.ok(
    problems(offline).includes(
      'error options.layers: layer range 0..9007199254740990 names 9007199254740991 layers, more than any model has (10000)',
    ),
    problems(offline).join('\n'),
  );
  assert.ok(performance.now() - started < 5000);
});
