// The causal-LM objective against transformers' logits, the pretraining plan checks, and the loop.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { causalLmLoss, gatherBlocks } from '../../src/pretrain/causal-lm.js';
import { compilePretraining, declarationOf } from '../../src/pretrain/compile.js';
import type { PretrainTrainSpec } from '../../src/pretrain/plan.js';
import { pretrainLoop } from '../../src/pretrain/train-loop.js';
import { initBackend } from '../../src/runtime/backend.js';
import { openCheckpoint } from '../../src/weights/checkpoint.js';
import { adamw, byteLevelBpe, corpus, cosine, gpt2Architecture, pretraining } from '../../dsl/index.js';
import { modelFixture } from '../helpers/fixtures.js';
import { adamwSpec } from '../../src/plan/options.js';

/** Mean next-token cross-entropy computed in float64 from reference logits [B, T, V]. */
function referenceLoss(logits: Float32Array, ids: Int32Array, rows: number, width: number, vocab: number) {
  let total = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < width - 1; t++) {
      const base = (r * width + t) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) max = Math.max(max, logits[base + v]!);
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v]! - max);
      total += max + Math.log(sum) - logits[base + ids[r * width + t + 1]!]!;
      count += 1;
    }
  }
  return total / count;
}

describe('causal LM loss', () => {
  it('equals the cross-entropy of transformers’ logits on the gpt2-tiny fixture', async () => {
    await initBackend({ backend: 'cpu' });
    const dir = modelFixture('gpt2-tiny');
    const reference = await openCheckpoint(path.join(dir, 'reference.safetensors'));
    const ids = await reference.readInt32('input_ids');
    const mask = await reference.readInt32('attention_mask');
    const logits = await reference.readFloat32('logits_full');
    await reference.close();
    const [rows, width] = ids.shape as [number, number];
    const vocab = logits.shape[2]!;
    // only rows without padding: the loss reads every position
    const fullRows = [...Array(rows).keys()].filter((r) =>
      mask.data.slice(r * width, (r + 1) * width).every((m) => m === 1),
    );
    assert.ok(fullRows.length >= 1, 'the fixture has an unpadded row');
    const { model } = await loadModel(dir);
    for (const r of fullRows) {
      const rowIds = ids.data.slice(r * width, (r + 1) * width);
      const rowLogits = logits.data.slice(r * width * vocab, (r + 1) * width * vocab);
      const expected = referenceLoss(rowLogits, rowIds, 1, width, vocab);
      const loss = causalLmLoss(model, gatherBlocks(rowIds, width - 1, [0]));
      const actual = (await loss.data())[0]!;
      loss.dispose();
      assert.ok(Math.abs(actual - expected) < 1e-5, `row ${r}: ${actual} vs ${expected}`);
      assert.ok(expected > 1, 'a random model is far from certain');
    }
    model.dispose();
  });

  it('gathers blocks of length + 1 tokens by index', () => {
    const source = Int32Array.from({ length: 12 }, (_, i) => i); // 3 blocks of 4
    const blocks = gatherBlocks(source, 3, [2, 0]);
    assert.deepEqual([...blocks.ids], [8, 9, 10, 11, 0, 1, 2, 3]);
    assert.equal(blocks.rows, 2);
  });
});

const declaration = (overrides: Record<string, unknown> = {}) =>
  pretraining({
    name: 'tiny',
    corpus: corpus(['moby-dick']),
    tokenizer: byteLevelBpe({ vocabSize: 512 }),
    architecture: gpt2Architecture({ layers: 2, width: 32, heads: 4, positions: 64 }),
    train: { steps: 10 },
    ...overrides,
  });

describe('pretraining plans', () => {
  it('fills in every default', () => {
    const plan = compilePretraining(declaration());
    assert.deepEqual(plan.train.optimizer, {
      kind: 'adamw',
      lr: 1e-3,
      betas: [0.9, 0.95],
      eps: 1e-8,
      weightDecay: 0.1,
    });
    assert.deepEqual(plan.train.schedule, { kind: 'cosine', warmupSteps: 1 });
    assert.equal(plan.train.contextLength, 64);
    assert.equal(plan.train.maxMinutes, null);
    assert.equal(plan.saveDtype, 'F16');
    assert.deepEqual(plan.architecture, { family: 'gpt2', layers: 2, width: 32, heads: 4, positions: 64 });
  });

  it('reports every problem at once, by option', () => {
    assert.throws(
      () =>
        compilePretraining(
          declaration({
            corpus: corpus(['moby-dick', 'wikipedia' as never]),
            architecture: gpt2Architecture({ layers: 2, width: 30, heads: 4, positions: 64 }),
            train: { steps: 10, contextLength: 100, batchsize: 4 } as never,
          }),
        ),
      (error: Error) => {
        assert.match(error.message, /4 problems/);
        assert.match(error.message, /corpus: unknown source 'wikipedia'/);
        assert.match(error.message, /architecture.heads: width 30 is not divisible by 4 heads/);
        assert.match(error.message, /train.contextLength: 100 is longer than the model's 64 positions/);
        assert.match(error.message, /train.batchsize: unknown train option 'batchsize'/);
        return true;
      },
    );
  });

  it('compiles a plan back from its declaration, unchanged', () => {
    const plain = compilePretraining(declaration());
    assert.deepEqual(compilePretraining(declarationOf(plain)), plain);
    const everything = compilePretraining(
      declaration({
        train: {
          steps: 300,
          maxMinutes: 2.5,
          schedule: { kind: 'linear', warmupSteps: 7 },
          precision: 'mixed',
        },
        backend: 'wasm',
        seed: 4,
      }),
    );
    assert.deepEqual(compilePretraining(declarationOf(everything)), everything);
    assert.equal(everything.train.precision, 'mixed');
    assert.equal(plain.train.precision, undefined);
    assert.throws(
      () => compilePretraining(declaration({ train: { precision: 'bf16' as never } })),
      /train.precision: train.precision is 'fp32' or 'mixed', not "bf16"/,
    );
  });

  it('checks its optimizer, schedule and train options as fine-tuning does (one schema)', () => {
    assert.throws(
      () =>
        compilePretraining(
          declaration({
            train: {
              steps: 10,
              optimizer: adamw({ betas: [1.5, 0.9], eps: 0 }),
              schedule: cosine({ warmupSteps: -2 }),
              maxGradNorm: -1,
            },
          }),
        ),
      (error: Error) => {
        assert.match(error.message, /4 problems/);
        assert.match(
          error.message,
          /train.optimizer.betas: adamw betas must be two numbers in \[0, 1\), got \[1.5,0.9\]/,
        );
        assert.match(error.message, /train.optimizer.eps: adamw eps must be a positive number, got 0/);
        assert.match(
          error.message,
          /train.schedule.warmupSteps: warmupSteps must be a whole number ≥ 0, got -2/,
        );
        assert.match(error.message, /train.maxGradNorm: train.maxGradNorm must be a number ≥ 0, got -1/);
        return true;
      },
    );
  });

  it('a trial (steps or budget overridden) keeps at most a tenth of its steps for warm-up', () => {
    // the default warm-up of 6000 steps is 200; a 20-step trial keeps 2
    const long = compilePretraining(declaration({ train: { steps: 6000 } }));
    assert.equal(long.train.schedule.warmupSteps, 200);
    const trial = compilePretraining(declarationOf(long), { steps: 20 });
    assert.deepEqual(trial.train.schedule, { kind: 'cosine', warmupSteps: 2 });
    assert.equal(trial.train.steps, 20);
    assert.equal(trial.train.maxMinutes, null);
    assert.deepEqual(
      { ...trial, train: { ...trial.train, steps: 6000, schedule: long.train.schedule } },
      long,
    );
    // a declared warm-up is cut too; a longer trial keeps it
    const declared = declaration({ train: { steps: 1000, schedule: { kind: 'linear', warmupSteps: 50 } } });
    assert.deepEqual(compilePretraining(declared, { steps: 100 }).train.schedule, {
      kind: 'linear',
      warmupSteps: 10,
    });
    assert.equal(compilePretraining(declared, { steps: 5000 }).train.schedule.warmupSteps, 50);
    const budget = compilePretraining(declared, { maxMinutes: 3 });
    assert.deepEqual(
      [budget.train.steps, budget.train.maxMinutes, budget.train.schedule.warmupSteps],
      [1000, 3, 50],
    );
    assert.throws(
      () => compilePretraining(declared, { steps: 0 }),
      /train.steps: train.steps must be a whole number ≥ 1, got 0/,
    );
  });
});

/** A repeating token pattern a 2-layer model can learn in a few dozen steps. */
function patternTokens(blocks: number, width: number): Int32Array {
  return Int32Array.from({ length: blocks * width }, (_, i) => [5, 9, 2, 7, 3][i % 5]! + (i % 2) * 10);
}

async function smallModel() {
  const { mkdtemp, writeFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const { randomGpt2Checkpoint } = await import('../../src/models/init.js');
  const { writeSafetensors } = await import('../../src/weights/safetensors.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-pretrain-'));
  const config = {
    model_type: 'gpt2',
    n_layer: 2,
    n_embd: 32,
    n_head: 4,
    n_positions: 32,
    vocab_size: 24,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
  };
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(path.join(dir, 'model.safetensors'), await randomGpt2Checkpoint(config, 7));
  return (await loadModel(dir)).model;
}

const spec = (overrides: Partial<PretrainTrainSpec> = {}): PretrainTrainSpec => ({
  optimizer: adamwSpec({ lr: 1e-2, betas: [0.9, 0.95] }),
  schedule: { kind: 'cosine', warmupSteps: 2 },
  batchSize: 4,
  contextLength: 16,
  steps: 40,
  maxMinutes: null,
  maxGradNorm: 1,
  evalEvery: 20,
  evalSequences: 8,
  ...overrides,
});

describe('pretraining loop', () => {
  it('learns a repeating pattern: validation perplexity falls from near the vocabulary size', async () => {
    await initBackend({ backend: 'cpu' });
    const model = await smallModel();
    const data = { train: patternTokens(40, 17), validation: patternTokens(8, 17) };
    const before = tf.memory().numTensors;
    const checkpoints: number[][] = [];
    const outcome = await pretrainLoop(model, data, {
      spec: spec(),
      seed: 1,
      onCheckpoint: async (sofar) => {
        checkpoints.push([sofar.steps, sofar.curve.length, sofar.curve.at(-1)!.step, sofar.evals.length]);
      },
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    // each checkpoint sees the whole curve and every evaluation up to it
    assert.deepEqual(checkpoints, [
      [20, 20, 20, 1],
      [40, 40, 40, 2],
    ]);
    assert.equal(outcome.steps, 40);
    assert.equal(outcome.stoppedBy, 'steps');
    assert.equal(outcome.curve.length, 40);
    assert.deepEqual(
      outcome.evals.map((e) => e.step),
      [20, 40],
    );
    assert.ok(outcome.curve[0]!.loss > 2.5, `first loss ${outcome.curve[0]!.loss} ≈ ln 24 = 3.18`);
    assert.ok(outcome.evals.at(-1)!.perplexity < 2, `final perplexity ${outcome.evals.at(-1)!.perplexity}`);
    // the cosine schedule ends near zero
    assert.ok(outcome.curve.at(-1)!.lr < 1e-4);
    assert.equal(outcome.curve[0]!.lr, 0, 'warm-up starts at 0');
    model.dispose();
  });

  it('is deterministic for a seed', async () => {
    await initBackend({ backend: 'cpu' });
    const data = { train: patternTokens(40, 17), validation: patternTokens(8, 17) };
    const losses = [];
    for (let i = 0; i < 2; i++) {
      const model = await smallModel();
      const outcome = await pretrainLoop(model, data, { spec: spec({ steps: 6, evalEvery: 100 }), seed: 3 });
      losses.push(outcome.curve.map((p) => p.loss));
      model.dispose();
    }
    assert.deepEqual(losses[0], losses[1]);
  });

  it("trains the same with precision 'mixed' on the CPU (the loss scale is undone)", async () => {
    await initBackend({ backend: 'cpu' });
    const data = { train: patternTokens(40, 17), validation: patternTokens(8, 17) };
    const curves: number[][] = [];
    for (const precision of [undefined, 'mixed'] as const) {
      const model = await smallModel();
      const outcome = await pretrainLoop(model, data, {
        spec: spec({ steps: 6, evalEvery: 100, ...(precision ? { precision } : {}) }),
        seed: 3,
      });
      curves.push(outcome.curve.map((p) => p.loss));
      model.dispose();
    }
    curves[0]!.forEach((loss, i) => {
      assert.ok(Math.abs(loss - curves[1]![i]!) <= 1e-5 * loss, `step ${i + 1}: ${loss} vs ${curves[1]![i]}`);
    });
  });

  it('stops at its time budget with the schedule decayed by elapsed time', async () => {
    await initBackend({ backend: 'cpu' });
    const model = await smallModel();
    let clock = 0;
    // every reading of the clock advances it by 10 s: a step takes a few readings
    const now = () => (clock += 10_000);
    const outcome = await pretrainLoop(
      model,
      { train: patternTokens(40, 17), validation: patternTokens(8, 17) },
      { spec: spec({ steps: 1000, maxMinutes: 2, evalEvery: 1000 }), seed: 1, now },
    );
    assert.equal(outcome.stoppedBy, 'time');
    assert.ok(outcome.steps > 2 && outcome.steps < 20, `${outcome.steps} steps`);
    // by the last step most of the budget was gone, so the rate is far below its peak
    assert.ok(outcome.curve.at(-1)!.lr < 0.2 * 1e-2, `last lr ${outcome.curve.at(-1)!.lr}`);
    assert.equal(outcome.evals.length, 1, 'one final evaluation');
    model.dispose();
  });

  it('refuses a training text shorter than one batch', async () => {
    await initBackend({ backend: 'cpu' });
    const model = await smallModel();
    await assert.rejects(
      pretrainLoop(
        model,
        { train: patternTokens(2, 17), validation: patternTokens(2, 17) },
        { spec: spec(), seed: 1 },
      ),
      /holds 2 sequences of 16 tokens, fewer than one batch of 4/,
    );
    model.dispose();
  });
});
