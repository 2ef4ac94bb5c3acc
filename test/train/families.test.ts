// Every fine-tuning method runs end to end on a tiny random checkpoint of each family added for
// issue 19 (with the fixtures' small SentencePiece tokenizer): the trained methods lower their
// training loss on a full batch, icl trains nothing, and every test example is scored.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { keepFirst } from '../../src/models/selection.js';
import { PAPER_DEFAULTS, type MethodName, type RunPlan } from '../../src/plan/types.js';
import { initBackend } from '../../src/runtime/backend.js';
import { runExperiment } from '../../src/experiment/run.js';
import { tinyFamilies, writeTinyFamily, type TinyFamily } from '../helpers/tiny-families.js';
import { fruitDataset, fruitTask } from '../helpers/tiny-gpt2.js';
import { adamwSpec } from '../../src/plan/options.js';

const dirs = new Map<TinyFamily, string>();
before(async () => {
  await initBackend({ backend: 'cpu' });
  for (const name of tinyFamilies) dirs.set(name, await writeTinyFamily(name, { withTokenizer: true }));
});

function plan(name: TinyFamily, method: MethodName): RunPlan {
  return {
    model: { kind: 'local', path: dirs.get(name)! },
    layers: keepFirst(3),
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { ...PAPER_DEFAULTS.method, kind: method },
    data: {
      validation: 4,
      demosPerClass: method === 'icl' ? 1 : 0,
      trainPerClass: 8,
      test: 8,
      maxLength: 128,
      truncate: 'left',
    },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: 1e-3 }),
      batchSize: 16,
      epochs: 4,
      earlyStopPatience: 10,
    },
    seed: 0,
    backend: 'cpu',
  };
}

const methods: MethodName[] = ['lm', 'prompt-cls', 'cls', 'linear-probe', 'icl'];

for (const name of tinyFamilies) {
  describe(name, () => {
    for (const method of methods) {
      it(`${method}: runs, scores every test example${method === 'icl' ? '' : ' and lowers the training loss'}`, async () => {
        const result = await runExperiment(plan(name, method), {
          task: fruitTask,
          dataset: fruitDataset(40, 8),
        });
        assert.equal(
          result.test.perClass.reduce((n, c) => n + c.support, 0),
          8,
        );
        assert.equal(result.size.layersAfter, 3);
        const losses = result.curves.train.map((p) => p.loss);
        if (method === 'icl') {
          assert.equal(losses.length, 0);
        } else {
          assert.ok(losses.length >= 3 && losses.every(Number.isFinite), `${losses}`);
          assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
        }
      });
    }
  });
}
