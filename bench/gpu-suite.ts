/**
 * test:gpu: the asserting suite for a machine with a GPU (webgpu backend). One line per check,
 * `ok` or `FAIL`, with its largest difference and tolerance; exit status 1 if any check fails,
 * could not run, or a WebGPU error reached no scope. Each section has its own time limit.
 *
 *   fused      LayerNorm, GELU, attention softmax, positions, causal bias, AdamW, matMulBias, the
 *              gather gradient's row scatter, the cross-entropy against their tfjs formulations
 *   matmul     the tensor-core matmul against its CPU model and tfjs's fp32 kernel
 *   flash      flash attention (src/runtime/attention/flash.ts) against split heads + attention +
 *              merge on the same device, values and the q, k, v gradients, causal and padded, at
 *              head widths 64 (GPT-2 small, GPT2-XL), 80 and 128 (Llama-style, grouped heads)
 *   parity     `layercut parity` on every fixture in test/fixtures/models (against transformers)
 *   pytorch    three AdamW steps of prompt fine-tuning against torch (test/fixtures/models/train-gpt2-adamw)
 *   finetune   a short fine-tune on webgpu equal to the same one on the cpu backend; AdamW applied
 *              during the backward pass equal to AdamW after it
 *
 *   npm run test:gpu [-- --only flash,parity]
 *   on the GPU machine: bench/device-gpu-suite.sh
 */
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../src/models/load.js';
import { attention, mergeHeads, splitHeads, type HeadLayout } from '../src/runtime/ops/attention.js';
import { causalMaskBias, paddingMaskBias } from '../src/runtime/ops/masks.js';
import { checkParity } from '../src/models/parity.js';
import { PAPER_DEFAULTS } from '../src/plan/types.js';
import { initBackend, releaseBackend } from '../src/runtime/backend.js';
import { variableGrads } from '../src/runtime/gradients.js';
import { checkMatmul } from '../src/runtime/sanity.js';
import { flashAttention, flashAttentionFits } from '../src/runtime/attention/flash.js';
import { watchDeviceErrors } from '../src/runtime/shader-errors.js';
import { setTensorCoresForEveryShape, tensorCoreMatrix } from '../src/runtime/tensor-core-matmul.js';
import { activeWebGpuDevice } from '../src/runtime/webgpu.js';
import type { EncodedExample } from '../src/train/batching.js';
import { clipByGlobalNorm } from '../src/train/clip.js';
import { promptLmLoss, type PromptBatch } from '../src/train/objectives.js';
import { AdamW } from '../src/train/optimizers.js';
import { lrFactor } from '../src/train/schedule.js';
import { makeScorer } from '../src/train/scorers.js';
import { train } from '../src/train/trainer.js';
import { openCheckpoint } from '../src/weights/safetensors.js';
import {
  adamwCheck,
  checkLine,
  crossEntropyChecks,
  earlyOptimizerChecks,
  isKeyBias,
  errorText,
  fusedKernelChecks,
  gatherGradientChecks,
  linearChecks,
  splitSumChecks,
  maskChecks,
  matmulCase,
  matmulCases,
  maxDifference,
  passes,
  type Check,
} from './gpu-checks.js';
import { adamwSpec } from '../src/plan/options.js';

const sections = ['fused', 'matmul', 'flash', 'parity', 'pytorch', 'finetune'] as const;
type Section = (typeof sections)[number];
const { values } = parseArgs({ options: { only: { type: 'string' }, 'dawn-toggles': { type: 'string' } } });
const only = new Set((values.only ?? sections.join(',')).split(',') as Section[]);
const fixturesDir = path.join('test', 'fixtures', 'models');

const results: Check[] = [];
function report(check: Check): void {
  results.push(check);
  const details = check.details ? `  ${JSON.stringify(check.details)}` : '';
  console.log(`${checkLine(check)}${details}`);
}

function summary(): number {
  const failed = results.filter((c) => !passes(c)).length;
  console.log(`gpu-suite: ${results.length - failed} passed, ${failed} failed`);
  return failed;
}

/** Runs a section within `seconds`; past it the suite stops (a hung GPU queue cannot be skipped). */
async function section(name: Section, seconds: number, fn: () => Promise<void>): Promise<void> {
  if (!only.has(name)) {
    console.log(`----  ${name}: not asked for (--only)`);
    return;
  }
  console.log(`== ${name}`);
  const timer = setTimeout(() => {
    report({
      name: `${name}: finished within ${seconds} s`,
      diff: NaN,
      tolerance: 0,
      relative: false,
      error: 'timed out',
    });
    summary();
    process.exit(1);
  }, seconds * 1000);
  try {
    await fn();
  } catch (error) {
    report({
      name: `${name}: ran to the end`,
      diff: NaN,
      tolerance: 0,
      relative: false,
      error: errorText(error),
    });
  } finally {
    clearTimeout(timer);
  }
}

const toggles = values['dawn-toggles']?.split(',').filter(Boolean);
const backend = await initBackend({
  backend: 'webgpu',
  ...(toggles ? { webgpu: { dawnToggles: toggles } } : {}),
});
console.log(`backend ${backend.name}: ${backend.detail}`);
const watch = watchDeviceErrors(activeWebGpuDevice()!);
// comparisons that reduce on the device (parity's) are only as good as the device: first check it computes
const sanity = await checkMatmul(64);
report({
  name: 'the device computes: exact 64x64 matmul',
  diff: sanity.maxAbsError,
  tolerance: 1e-4,
  relative: false,
});
if (!sanity.ok) {
  summary();
  process.exit(1);
}

await section('fused', 90, async () => {
  for (const check of await fusedKernelChecks()) report(check);
  for (const check of await maskChecks()) report(check);
  report(await adamwCheck());
  for (const check of await linearChecks()) report(check);
  for (const check of await splitSumChecks()) report(check);
  for (const check of await gatherGradientChecks()) report(check);
  for (const check of await crossEntropyChecks()) report(check);
});

await section('matmul', 100, async () => {
  if (!tensorCoreMatrix()) {
    report({
      name: 'tensor cores on this device',
      diff: NaN,
      tolerance: 0,
      relative: false,
      error: 'not available',
    });
    return;
  }
  setTensorCoresForEveryShape(true);
  try {
    for (const c of matmulCases) {
      const { record, checks } = await matmulCase(c, 3);
      for (const check of checks) {
        report({
          ...check,
          details: { fp32Tflops: record['fp32Tflops'], mixedTflops: record['mixedTflops'] },
        });
      }
    }
  } finally {
    setTensorCoresForEveryShape(false);
  }
});

/** Causal or padding masks [B, T]: every second row padded after `real` tokens. */
function mask(batch: number, seq: number, real: number): tf.Tensor2D {
  const entries = Array.from({ length: batch * seq }, (_, i) =>
    Math.floor(i / seq) % 2 === 1 && i % seq >= real ? 0 : 1,
  );
  return tf.tensor2d(entries, [batch, seq], 'int32');
}

/** Split heads, attention (the fused softmax), merge: what ran before flash attention. */
function splitAttention(qkv: tf.Tensor3D, bias: tf.Tensor4D, layout: HeadLayout, scale: number): tf.Tensor3D {
  const { heads, kvHeads, headDim } = layout;
  const [q, k, v] = tf.split(qkv, [heads * headDim, kvHeads * headDim, kvHeads * headDim], 2);
  return mergeHeads(
    attention(splitHeads(q!, heads), splitHeads(k!, kvHeads), splitHeads(v!, kvHeads), bias, scale),
  );
}

await section('flash', 90, async () => {
  const cases: {
    name: string;
    batch: number;
    seq: number;
    layout: HeadLayout;
    causal: boolean;
    maskBatch?: number;
  }[] = [
    {
      name: 'gpt2-small 4x128 causal, padded',
      batch: 4,
      seq: 128,
      layout: { heads: 12, kvHeads: 12, headDim: 64 },
      causal: true,
    },
    {
      name: 'gpt2-xl 2x128 causal, padded',
      batch: 2,
      seq: 128,
      layout: { heads: 25, kvHeads: 25, headDim: 64 },
      causal: true,
    },
    {
      name: 'gpt2-xl 16x128 causal, padded',
      batch: 16,
      seq: 128,
      layout: { heads: 25, kvHeads: 25, headDim: 64 },
      causal: true,
    },
    {
      name: 'gpt2-xl 1x128 causal',
      batch: 1,
      seq: 128,
      layout: { heads: 25, kvHeads: 25, headDim: 64 },
      causal: true,
    },
    {
      name: 'llama 2x128 causal, Dh 128, 32 on 8 kv heads',
      batch: 2,
      seq: 128,
      layout: { heads: 32, kvHeads: 8, headDim: 128 },
      causal: true,
    },
    {
      name: 'Dh 80 2x200 causal, padded',
      batch: 2,
      seq: 200,
      layout: { heads: 8, kvHeads: 8, headDim: 80 },
      causal: true,
    },
    {
      name: 'Dh 64 2x77 padding only (bidirectional)',
      batch: 2,
      seq: 77,
      layout: { heads: 12, kvHeads: 12, headDim: 64 },
      causal: false,
    },
    {
      name: 'Dh 128 3x96 causal, bias of batch 1',
      batch: 3,
      seq: 96,
      layout: { heads: 4, kvHeads: 2, headDim: 128 },
      causal: true,
      maskBatch: 1,
    },
  ];
  for (const c of cases) {
    const { heads, kvHeads, headDim } = c.layout;
    const width = (heads + 2 * kvHeads) * headDim;
    const attentionMask = mask(c.maskBatch ?? c.batch, c.seq, c.seq - 23);
    const bias = c.causal ? causalMaskBias(attentionMask) : paddingMaskBias(attentionMask);
    const qkv = tf.randomNormal([c.batch, c.seq, width], 0, 1, 'float32', 21) as tf.Tensor3D;
    const r = tf.randomNormal([c.batch, c.seq, heads * headDim], 0, 1, 'float32', 22);
    const scale = 1 / Math.sqrt(headDim);
    if (!flashAttentionFits(qkv.shape, bias, c.layout)) {
      report({
        name: `flash ${c.name}`,
        diff: NaN,
        tolerance: 0,
        relative: false,
        error: 'flashAttentionFits says no',
      });
      continue;
    }
    const run = (flash: boolean) =>
      tf.tidy(() => {
        const f = (x: tf.Tensor) =>
          flash
            ? flashAttention(x as tf.Tensor3D, bias, c.layout, scale, c.causal)
            : splitAttention(x as tf.Tensor3D, bias, c.layout, scale);
        const [dqkv] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(f(x), r)))([qkv]);
        return [f(qkv), dqkv!];
      });
    const time = async (flash: boolean) => {
      tf.dispose(run(flash));
      const start = performance.now();
      const outs = Array.from({ length: 5 }, () => run(flash));
      await outs.at(-1)![1]!.data();
      tf.dispose(outs);
      return +((performance.now() - start) / 5).toFixed(3);
    };
    const [flashOut, flashGrad] = run(true) as [tf.Tensor, tf.Tensor];
    const [refOut, refGrad] = run(false) as [tf.Tensor, tf.Tensor];
    const timing = { flashMs: await time(true), splitMs: await time(false) };
    report({
      name: `flash ${c.name}: out`,
      diff: await maxDifference(flashOut, refOut, true),
      tolerance: 5e-5,
      relative: true,
      details: timing,
    });
    const parts: [string, number, number][] = [
      ['dq', 0, heads * headDim],
      ['dk', heads * headDim, kvHeads * headDim],
      ['dv', (heads + kvHeads) * headDim, kvHeads * headDim],
    ];
    for (const [part, begin, size] of parts) {
      const [a, b] = [flashGrad, refGrad].map((g) => g.slice([0, 0, begin], [-1, -1, size]));
      report({
        name: `flash ${c.name}: ${part}`,
        diff: await maxDifference(a!, b!, true),
        tolerance: 1e-4,
        relative: true,
      });
      tf.dispose([a!, b!]);
    }
    tf.dispose([flashOut, flashGrad, refOut, refGrad, attentionMask, bias, qkv, r]);
  }
});

await section('parity', 60, async () => {
  const dirs = readdirSync(fixturesDir)
    .map((name) => path.join(fixturesDir, name))
    .filter(
      (dir) =>
        existsSync(path.join(dir, 'reference.safetensors')) && existsSync(path.join(dir, 'config.json')),
    );
  if (dirs.length === 0)
    throw new Error(`no parity fixtures under ${fixturesDir} (run from the repository root)`);
  for (const dir of dirs) {
    for (const row of await checkParity(dir)) {
      report({
        name: `parity ${path.basename(dir)} ${row.reference}`,
        diff: row.maxAbsDiff,
        tolerance: 1e-4,
        relative: false,
      });
    }
  }
});

await section('pytorch', 30, async () => {
  const dir = path.join(fixturesDir, 'train-gpt2-adamw');
  const settings = JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8')) as {
    lr: number;
    warmup_steps: number;
    total_steps: number;
    weight_decay: number;
    betas: [number, number];
    eps: number;
    max_grad_norm: number;
    steps: number;
  };
  const reference = await openCheckpoint(path.join(dir, 'reference.safetensors'));
  const int = async (name: string) => (await reference.readInt32(name)).data;
  const float = async (name: string) => (await reference.readFloat32(name)).data[0]!;
  const ids = await reference.readInt32('input_ids');
  const [batchSize, seq] = ids.shape as [number, number];
  const batch: PromptBatch = {
    inputIds: tf.tensor2d(ids.data, [batchSize, seq], 'int32'),
    attentionMask: tf.tensor2d(await int('attention_mask'), [batchSize, seq], 'int32'),
    answerPositions: tf.tensor1d(await int('answer_positions'), 'int32'),
    labels: tf.tensor1d(await int('labels'), 'int32'),
  };
  const labelTokenIds = tf.tensor1d(await int('label_token_ids'), 'int32');
  const { model } = await loadModel(path.join(fixturesDir, 'gpt2-tiny'));
  const optimizer = new AdamW(model.params, {
    betas: settings.betas,
    eps: settings.eps,
    weightDecay: settings.weight_decay,
  });
  const variables = [...model.params.values()];
  const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
  for (let step = 0; step < settings.steps; step++) {
    const lr =
      settings.lr *
      lrFactor(
        { kind: 'linear', warmupSteps: settings.warmup_steps, totalSteps: settings.total_steps },
        step,
      );
    const { value, grads } = variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
    const byName: tf.NamedTensorMap = {};
    for (const [varName, g] of Object.entries(grads)) byName[nameOf.get(varName)!] = g;
    const clipped = clipByGlobalNorm(byName, settings.max_grad_norm);
    const [loss, norm] = [(await value.data())[0]!, (await clipped.norm.data())[0]!];
    report({
      name: `pytorch AdamW step ${step}: loss`,
      diff: Math.abs(loss - (await float(`loss_step${step}`))),
      tolerance: 2e-5,
      relative: false,
    });
    const expectedNorm = await float(`grad_norm_step${step}`);
    report({
      name: `pytorch AdamW step ${step}: gradient norm`,
      diff: Math.abs(norm - expectedNorm) / Math.max(1, expectedNorm),
      tolerance: 2e-5,
      relative: true,
    });
    optimizer.step(clipped.grads, lr);
    tf.dispose([value, byName, clipped.grads, clipped.norm]);
  }
  optimizer.dispose();
  model.dispose();
  tf.dispose([...Object.values(batch), labelTokenIds]);
  await reference.close();
});

/** Eight prompts of 5 to 8 tokens (padded batches), labels alternating; ' a' is token 7, ' b' token 42. */
const fineTuneExamples: EncodedExample[] = Array.from({ length: 8 }, (_, i) => {
  const length = 5 + (i % 4);
  return {
    ids: Array.from({ length }, (_, j) => 3 + ((i * 7 + j * 5) % 90)),
    scorePosition: length - 1,
    label: i % 2,
  };
});

/** Losses and final weights of a 4-step AdamW fine-tune of a fixture on the current backend. */
async function fineTune(fixture: string): Promise<{ losses: number[]; weights: Map<string, Float32Array> }> {
  const { model } = await loadModel(path.join(fixturesDir, fixture));
  const verbalizer = {
    labels: ['a', 'b'],
    scoring: 'first' as const,
    words: [],
    scoredIds: [[[7]], [[42]]],
    issues: [],
  };
  const scorer = makeScorer(model, { ...PAPER_DEFAULTS.method, kind: 'lm' }, verbalizer, 0);
  const outcome = await train(scorer, fineTuneExamples, [], {
    spec: {
      ...PAPER_DEFAULTS.train,
      batchSize: 4,
      epochs: 2,
      maxGradNorm: 1,
      optimizer: adamwSpec({ lr: 1e-3, weightDecay: 0.01 }),
    },
    seed: 0,
    padId: 0,
    labels: verbalizer.labels,
  });
  const weights = new Map<string, Float32Array>();
  for (const [name, v] of model.params) weights.set(name, (await v.data()) as Float32Array);
  scorer.dispose();
  model.dispose();
  return { losses: outcome.curves.train.map((p) => p.loss), weights };
}

await section('finetune', 90, async () => {
  const fixtures = ['gpt2-tiny', 'opt-tiny', 'llama-tiny-gqa'];
  const gpu = new Map<string, Awaited<ReturnType<typeof fineTune>>>();
  for (const fixture of fixtures) gpu.set(fixture, await fineTune(fixture));
  for (const check of await earlyOptimizerChecks(path.join(fixturesDir, 'gpt2-tiny'))) report(check);
  watch.stop(); // the webgpu part is done; the cpu backend follows
  await initBackend({ backend: 'cpu' });
  for (const fixture of fixtures) {
    const cpu = await fineTune(fixture);
    const onGpu = gpu.get(fixture)!;
    const lossDiff = Math.max(
      ...cpu.losses.map((loss, i) => Math.abs(loss - (onGpu.losses[i] ?? NaN)) / Math.abs(loss)),
    );
    report({
      name: `finetune ${fixture}: ${cpu.losses.length} losses, webgpu vs cpu`,
      diff: lossDiff,
      tolerance: 1e-4,
      relative: true,
    });
    let worst = 0;
    const width = JSON.parse(readFileSync(path.join(fixturesDir, fixture, 'config.json'), 'utf8')) as {
      n_embd?: number;
      hidden_size?: number;
    };
    for (const [name, values] of cpu.weights) {
      const other = onGpu.weights.get(name)!;
      values.forEach((v, i) => {
        if (!isKeyBias(name, width.n_embd ?? width.hidden_size ?? 0, i))
          worst = Math.max(worst, Math.abs(v - other[i]!));
      });
    }
    report({
      name: `finetune ${fixture}: weights (key biases aside), webgpu vs cpu`,
      diff: worst,
      tolerance: 2e-4,
      relative: false,
    });
  }
});

watch.stop();
report({
  name: 'no uncaptured WebGPU errors',
  diff: watch.uncaptured.length,
  tolerance: 0,
  relative: false,
  ...(watch.uncaptured.length ? { details: { first: watch.uncaptured.slice(0, 3) } } : {}),
});
releaseBackend();
process.exitCode = summary() > 0 ? 1 : 0;
