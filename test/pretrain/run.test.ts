// A whole pretraining job on the cpu (tiny model, given texts), and the shipped tiny-english.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildPretrainingCorpus, packDocuments } from '../../src/data/corpus.js';
import { builtinModelFolder } from '../../src/models/builtin.js';
import { loadModel } from '../../src/models/load.js';
import { compilePretraining } from '../../src/pretrain/compile.js';
import type { PretrainReport } from '../../src/pretrain/plan.js';
import { runPretraining, type PretrainProgress } from '../../src/pretrain/run.js';
import { validationLoss } from '../../src/pretrain/train-loop.js';
import { initBackend } from '../../src/runtime/backend.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { byteLevelBpe, corpus, gpt2Architecture, pretraining } from '../../dsl/index.js';

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

describe('runPretraining', () => {
  it('writes a model folder that layercut loads: weights, tokenizer, curve, report', async () => {
    const plan = compilePretraining(
      pretraining({
        name: 'unit',
        corpus: corpus(['moby-dick']),
        tokenizer: byteLevelBpe({ vocabSize: 300 }),
        architecture: gpt2Architecture({ layers: 2, width: 32, heads: 4, positions: 32 }),
        train: { steps: 12, batchSize: 4, contextLength: 16, evalEvery: 6, evalSequences: 4 },
        backend: 'cpu',
      }),
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
    const blocks = packDocuments(
      built.validation.map((text) => tokenizer.encode(text).ids),
      { contextLength: length, eosId },
    );
    assert.equal(blocks.length * length, report.corpus.validationTokens, 'the same validation text');
    const sequences = report.plan.train.evalSequences; // the sequences every evaluation used
    const flat = new Int32Array(sequences * (length + 1));
    blocks.slice(0, sequences).forEach((block, i) => flat.set(block, i * (length + 1)));
    const { model } = await loadModel(dir);
    const loss = await validationLoss(model, flat, length, sequences, 16);
    model.dispose();
    const final = report.evals.at(-1)!;
    // the same text, the weights rounded to f16: within 1 % of the reported loss
    assert.ok(Math.abs(loss - final.loss) / final.loss < 0.01, `loss ${loss} vs reported ${final.loss}`);
    assert.ok(Math.exp(loss) < 400, `perplexity ${Math.exp(loss)} far below the 4096-token vocabulary`);
  });
});
