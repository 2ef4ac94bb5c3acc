// A whole pretraining job on the cpu (tiny model, given texts), and the shipped tiny-english.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pretrainCommand } from '../../src/cli/pretrain.js';
import { buildPretrainingCorpus, packDocuments } from '../../src/data/corpus.js';
import { packDocumentsFlat } from '../../src/data/pack-documents.js';
import { builtinModelFolder } from '../../src/models/builtin.js';
import { loadModel } from '../../src/models/load.js';
import { compilePretraining } from '../../src/pretrain/compile.js';
import type { PretrainPlan, PretrainReport } from '../../src/pretrain/plan.js';
import { runPretraining, type PretrainProgress } from '../../src/pretrain/run.js';
import { validationLoss } from '../../src/pretrain/train-loop.js';
import { initBackend } from '../../src/runtime/backend.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import {
  byteLevelBpe,
  corpus,
  gpt2Architecture,
  pretraining,
  type PretrainTrainOptions,
} from '../../dsl/index.js';
import { captured } from '../helpers/console.js';

const sentences = [
  'Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.',
  'The whale surfaced beside the ship, and the crew watched the water close over its back.',
  'Congress shall have the power to lay and collect taxes, duties, imposts and excises.',
  'Click here to claim your free prize now, limited offer, unsubscribe at any time.',
];
const documents = {
  train: Array.from({ length: 60 }, (_, i) => `${sentences[i % 4]} ${sentences[(i + 1) % 4]} (${i})`),
  validation: [sentences.join(' '), sentences.slice().reverse().join(' ')],
};

/** A 2-layer GPT-2 with a 300-token vocabulary, trained as `train` says. */
const tinyPlan = (name: string, train: PretrainTrainOptions, backend?: 'cpu'): PretrainPlan =>
  compilePretraining(
    pretraining({
      name,
      corpus: corpus(['moby-dick']),
      tokenizer: byteLevelBpe({ vocabSize: 300 }),
      architecture: gpt2Architecture({ layers: 2, width: 32, heads: 4, positions: 32 }),
      train,
      ...(backend ? { backend } : {}),
    }),
  );

describe('training blocks', () => {
  it('packs documents into blocks of contextLength + 1 end to end, as packDocuments lists them', () => {
    // stream 1 2 3 <0> 4 5 <0> 6 <0>: blocks start at tokens 0 and 3
    const packed = packDocumentsFlat([[1, 2, 3], [4, 5], [6]], { contextLength: 3, eosId: 0 });
    assert.ok(packed instanceof Int32Array);
    assert.deepEqual([...packed], [1, 2, 3, 0, 0, 4, 5, 0]);
    const documents = [Array.from({ length: 37 }, (_, i) => i + 1), [50, 51, 52], [60]];
    const options = { contextLength: 5, eosId: 0 };
    const flat = packDocumentsFlat(documents, options);
    const blocks = packDocuments(documents, options);
    assert.equal(blocks.length, 8); // 43 tokens: blocks start at 0, 5, …, 35
    assert.deepEqual(
      [...flat],
      blocks.flatMap((block) => [...block]),
    );
    assert.equal(packDocumentsFlat([[1]], { contextLength: 4, eosId: 0 }).length, 0);
  });
});

describe('layercut pretrain --steps --max-minutes', () => {
  it('compiles the plan again for the trial: steps, budget and a warm-up of a tenth', async () => {
    const plan = tinyPlan('trial', { steps: 6000 });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-pretrain-trial-'));
    const planFile = path.join(dir, 'plan.json');
    await writeFile(planFile, JSON.stringify(plan));
    const saved = path.join(dir, 'trial.json');
    const run = await captured(() =>
      pretrainCommand.run([planFile, '--steps', '20', '--max-minutes', '1.5', '--save-plan', saved]),
    );
    assert.equal(run.code, 0, run.err);
    const trial = JSON.parse(await readFile(saved, 'utf8')) as PretrainPlan;
    assert.deepEqual(trial.train.schedule, { kind: 'cosine', warmupSteps: 2 });
    assert.deepEqual([trial.train.steps, trial.train.maxMinutes], [20, 1.5]);
    assert.deepEqual(
      { ...trial, train: { ...trial.train, steps: 6000, maxMinutes: null, schedule: plan.train.schedule } },
      plan,
    );
  });
});

describe('runPretraining', () => {
  it('writes a model folder that layercut loads: weights, tokenizer, curve, report', async () => {
    const plan = tinyPlan(
      'unit',
      { steps: 12, batchSize: 4, contextLength: 16, evalEvery: 6, evalSequences: 4 },
      'cpu',
    );
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'layercut-pretrain-')), 'unit');
    const phases: string[] = [];
    const report = await runPretraining(plan, {
      outDir: dir,
      documents,
      onProgress: (event: PretrainProgress) => phases.push(event.phase),
    });
    assert.deepEqual([...new Set(phases)], ['corpus', 'tokenizer', 'encode', 'model', 'train', 'save']);
    assert.equal(existsSync(`${dir}.partial`), false, 'the work folder was renamed into place');
    assert.equal(report.steps, 12);
    assert.equal(report.stoppedBy, 'steps');
    assert.deepEqual(
      report.evals.map((e) => e.step),
      [6, 12],
    );
    assert.ok(report.evals[1]!.loss < report.curve[0]!.loss, 'validation loss below the first training loss');
    // f16 weights: two bytes per parameter plus the header
    const bytes = (await stat(path.join(dir, 'model.safetensors'))).size;
    assert.equal(report.modelBytes, bytes);
    assert.ok(bytes > 2 * report.params && bytes < 2 * report.params + 8192, `${bytes} bytes`);
    const saved = JSON.parse(await readFile(path.join(dir, 'training.json'), 'utf8')) as PretrainReport;
    assert.deepEqual(saved.evals, report.evals);
    assert.equal(saved.curve.length, 12);
    assert.match(await readFile(path.join(dir, 'training-curve.svg'), 'utf8'), /^<svg /);

    const tokenizer = await loadTokenizer(dir);
    assert.equal(tokenizer.vocabSize, 300);
    assert.equal(tokenizer.decode(tokenizer.encode('Call me Ishmael.').ids), 'Call me Ishmael.');
    const { model } = await loadModel(dir);
    assert.deepEqual(
      [model.info.layersBefore, model.info.config.hiddenSize, model.info.config.vocabSize],
      [2, 32, 300],
    );
    assert.equal(model.info.paramsAfter, report.params);
    model.dispose();
  });
});

describe('the shipped tiny-english', () => {
  it('is the built-in model, 8 layers in at most 8 MB, with its pretraining report', async () => {
    const dir = await builtinModelFolder('tiny-english');
    assert.equal(path.basename(path.dirname(dir)), 'models');
    const report = JSON.parse(await readFile(path.join(dir, 'training.json'), 'utf8')) as PretrainReport;
    assert.equal(report.plan.architecture.layers, 8);
    assert.ok(report.modelBytes <= 8e6);
    assert.equal((await stat(path.join(dir, 'model.safetensors'))).size, report.modelBytes);
  });

  it('has the validation perplexity its report claims, on the held-out text rebuilt here', async () => {
    await initBackend({ backend: 'wasm' });
    const dir = await builtinModelFolder('tiny-english');
    const report = JSON.parse(await readFile(path.join(dir, 'training.json'), 'utf8')) as PretrainReport;
    const built = await buildPretrainingCorpus({ sources: report.plan.corpus.sources });
    const tokenizer = await loadTokenizer(dir);
    const length = report.plan.train.contextLength;
    const eosId = tokenizer.specialTokens.eos!.id;
    const blocks = packDocumentsFlat(
      built.validation.map((text) => tokenizer.encode(text).ids),
      { contextLength: length, eosId },
    );
    const count = blocks.length / (length + 1);
    assert.equal(count * length, report.corpus.validationTokens, 'the same validation text');
    const sequences = report.plan.train.evalSequences; // the sequences every evaluation used
    const { model } = await loadModel(dir);
    const loss = await validationLoss(model, blocks, length, sequences, 16);
    model.dispose();
    const final = report.evals.at(-1)!;
    // the same text, the weights rounded to f16: within 1 % of the reported loss
    assert.ok(Math.abs(loss - final.loss) / final.loss < 0.01, `loss ${loss} vs reported ${final.loss}`);
    assert.ok(Math.exp(loss) < 400, `perplexity ${Math.exp(loss)} far below the 4096-token vocabulary`);
  });
});
