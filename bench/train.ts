/**
 * Benchmark of training and evaluation speed (the GPU-speed issue, issue 9): prompt-based
 * fine-tuning steps (the `lm` objective + AdamW, as the trainer runs them) on GPT-2-shaped
 * models with random weights, cut to k layers, loaded from a checkpoint written first.
 *
 *   node --import tsx bench/train.ts [--backend webgpu] [--models xl:1,2,4,12,48+small:12]
 *        [--shapes 16x128,1x128] [--steps 5] [--warmup 2] [--eval-batches 5] [--dir DIR] [--plain]
 *   node --import tsx bench/train.ts --smoke               tiny shapes on the cpu backend (a check;
 *                                                          constants kept as on a GPU, which
 *                                                          --keep-constants also asks for)
 *   node --import tsx bench/train.ts --table layercut.jsonl pytorch.jsonl [compare.jsonl] [--summary FILE]
 *        markdown on stdout, and the rows of bench/summary.json (or FILE): one per layercut line,
 *        {model, layers, batch, seq, precision, ms, pytorchFp32Ms, pytorchBf16Ms, peakGpuGb,
 *        pytorchPeakGpuGb, device, date} and the used/reserved peaks
 *   node --import tsx bench/train.ts --compare-plain [--smoke] [--backend webgpu] [--width 128 --heads 4
 *                                    --layers 2 --lr 1e-3 --epochs 8]
 *
 * Models: `xl` is GPT2-XL's shape (d 1600, 25 heads, 48 layers), `small` GPT-2 small's (d 768,
 * 12 heads, 12 layers), both with GPT-2's 50,257-token vocabulary. Each gets one full random
 * checkpoint in DIR (written once, reused); every cut loads its first k layers from it.
 *
 * One JSON line per (model, layers, batch shape): training ms per step and tokens/s (`steps`
 * steps queued back to back, one host sync at the end, as the trainer runs them), evaluation
 * tokens/s (forward passes, one sync per batch as `evaluate` does), checkpoint load seconds
 * (files → host tensors) and device seconds (host → GPU), peak device memory, host tensors
 * (GPU uploads) per step, and the first step's loss: bench/train_peer.py runs PyTorch on the
 * same checkpoint and the same token ids, so the two first losses must agree.
 *
 * `--precision mixed` uses the tensor-core matmul, `--precision fp32,mixed` times both on each loaded cut; `--profile` adds each kernel's GPU time for one
 * step; `--dawn-toggles a,b`, `--submit-batch N` (tfjs's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE; on the
 * H200, 32 vs 96 vs 256 made no difference above the noise), `--fill N,M` (the tensor-core
 * matmul's schedule.fill, each on the same loaded cut: products of fewer workgroups split their
 * inner dimension) and `--rounds R` (each timing R times, every second round in reverse order,
 * against drift) are for experiments.
 *
 * `--lora R` trains LoRA adapters of rank R (alpha R, every projection) on the frozen model
 * instead of every weight: the same step, for the memory and time of adapters beside full
 * fine-tuning (issue 21).
 *
 * `--replay` times the step recorded once after the warm-up and replayed (src/runtime/step-graph.ts:
 * none of the step's JS runs; impl "… replay").
 *
 * `--plain` runs the pre-issue-9 code paths (LAYERCUT_PLAIN_OPS). `--compare-plain` fine-tunes
 * a random GPT-2 on a synthetic prompt task twice with the same seed, fast and plain paths,
 * and reports both test accuracies, the largest train-loss difference and both times.
 *
 * The GPU machine runs it all through bench/device-issue9.sh.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { gpt2 } from '../src/models/gpt2.js';
import { loadModel } from '../src/models/load.js';
import { LoraAdapters } from '../src/models/lora.js';
import { keepFirst } from '../src/models/selection.js';
import type { LanguageModel } from '../src/models/types.js';
import { adamwSpec } from '../src/plan/options.js';
import { PAPER_DEFAULTS, type RunPlan } from '../src/plan/types.js';
import { initBackend, releaseBackend, type BackendName } from '../src/runtime/backend.js';
import { keptConstantCount, setConstantCaching } from '../src/runtime/constants.js';
import { setPlainOps } from '../src/runtime/flags.js';
import {
  defaultSchedule,
  matMulPrecision,
  setMatMulPrecision,
  setMatMulSchedule,
  tensorCoreMatrix,
  type MatMulPrecision,
} from '../src/runtime/tensor-core-matmul.js';
import { countHostTensors } from '../src/runtime/host-tensors.js';
import { webGpuMemory } from '../src/runtime/webgpu.js';
import { labelWordLogits, promptLmLoss, type PromptBatch } from '../src/train/objectives.js';
import { AdamW } from '../src/train/optimizers.js';
import { runExperiment } from '../src/experiment/run.js';
import { writeSafetensors, type WritableTensor } from '../src/weights/safetensors.js';
import { fruitDataset, fruitTask } from '../test/helpers/tiny-gpt2.js';
import type { StepGraph } from '../src/runtime/step-graph.js';
import { fineTuneStep, replayedFineTuneStep } from './train-step.js';

const { values, positionals } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    backend: { type: 'string' },
    models: { type: 'string' },
    shapes: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    'eval-batches': { type: 'string' },
    dir: { type: 'string' },
    plain: { type: 'boolean', default: false },
    replay: { type: 'boolean', default: false },
    precision: { type: 'string', default: 'fp32' },
    profile: { type: 'boolean', default: false },
    'submit-batch': { type: 'string' },
    fill: { type: 'string' },
    rounds: { type: 'string' },
    'dawn-toggles': { type: 'string' },
    'keep-constants': { type: 'boolean', default: false },
    lora: { type: 'string' },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    table: { type: 'boolean', default: false },
    summary: { type: 'string' },
    'compare-plain': { type: 'boolean', default: false },
    // the earlier single-model options (bench/device-train*.sh)
    layers: { type: 'string' },
    width: { type: 'string' },
    heads: { type: 'string' },
    vocab: { type: 'string' },
    label: { type: 'string' },
    batch: { type: 'string' },
    seq: { type: 'string' },
  },
  allowPositionals: true,
});

/** A GPT-2 shape: the full model a checkpoint holds, and the cuts to time. */
interface ModelShape {
  label: string;
  width: number;
  heads: number;
  vocab: number;
  fullLayers: number;
  cuts: number[];
}

const SHAPES: Record<string, Omit<ModelShape, 'cuts'>> = {
  xl: { label: 'gpt2-xl-shaped', width: 1600, heads: 25, vocab: 50257, fullLayers: 48 },
  small: { label: 'gpt2-small-shaped', width: 768, heads: 12, vocab: 50257, fullLayers: 12 },
};
const SMOKE_SHAPES: Record<string, Omit<ModelShape, 'cuts'>> = {
  xl: { label: 'gpt2-xl-shaped (smoke: tiny)', width: 64, heads: 4, vocab: 500, fullLayers: 4 },
  small: { label: 'gpt2-small-shaped (smoke: tiny)', width: 32, heads: 2, vocab: 500, fullLayers: 2 },
};

const smoke = values.smoke!;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** "xl:1,2,4+small:12" → shapes with cuts. */
function parseModels(spec: string): ModelShape[] {
  const known = smoke ? SMOKE_SHAPES : SHAPES;
  return spec.split('+').map((part) => {
    const [name, cuts] = part.split(':') as [string, string | undefined];
    const shape = known[name];
    if (!shape) throw new Error(`unknown model '${name}' in --models (use ${Object.keys(known).join(', ')})`);
    const layers = (cuts ?? String(shape.fullLayers)).split(',').map(Number);
    // a cut deeper than the model (the tiny --smoke shapes) becomes the full model
    const cutsKept = [...new Set(layers.map((k) => Math.min(Math.max(1, k), shape.fullLayers)))];
    return { ...shape, cuts: cutsKept };
  });
}

/** "16x128,1x128" → [[16, 128], [1, 128]] */
function parseShapes(spec: string): [number, number][] {
  return spec.split(',').map((s) => s.split('x').map(Number) as [number, number]);
}

/** GPT-2 config.json for a shape. */
function configJson(shape: ModelShape): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_embd: shape.width,
    n_head: shape.heads,
    n_layer: shape.fullLayers,
    n_positions: 1024,
    vocab_size: shape.vocab,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
  };
}

/**
 * Writes a full random checkpoint (N(0, 0.02)-like values from a repeated block of xorshift
 * noise: fast for 1.5 B parameters; LayerNorm gains 1, biases 0) unless DIR already has one.
 */
async function ensureCheckpoint(dir: string, shape: ModelShape): Promise<number> {
  if (existsSync(path.join(dir, 'model.safetensors'))) {
    const existing = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    if (JSON.stringify(existing) === JSON.stringify(configJson(shape))) return 0;
  }
  const start = performance.now();
  await mkdir(dir, { recursive: true });
  const block = new Float32Array(1_048_573); // prime: rows of any width do not line up
  let state = 2463534242;
  for (let i = 0; i < block.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    block[i] = ((state >>> 0) / 4294967296 - 0.5) * 0.07; // uniform, std ≈ 0.02
  }
  const config = gpt2.parseConfig(configJson(shape));
  const all = Array.from({ length: config.numLayers }, (_, i) => i);
  const tensors: Record<string, WritableTensor> = {};
  let offset = 0;
  for (const [name, dims] of gpt2.expectedTensors(config, all)) {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if (/ln_(1|2|f)\.weight$/.test(name)) data.fill(1);
    else if (!name.endsWith('.bias')) {
      let start = (offset += 7919) % block.length;
      for (let at = 0; at < data.length; start = 0) {
        const n = Math.min(block.length - start, data.length - at);
        data.set(block.subarray(start, start + n), at);
        at += n;
      }
    }
    tensors[name] = { dtype: 'F32', shape: dims, data };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(configJson(shape)));
  return (performance.now() - start) / 1000;
}

/** The same token ids bench/train_peer.py builds: ids[i][j] = (131·i + 17·j + 11) mod V. */
function benchBatch(batch: number, seq: number, vocab: number): PromptBatch {
  const ids = new Int32Array(batch * seq);
  for (let i = 0; i < batch; i++)
    for (let j = 0; j < seq; j++) ids[i * seq + j] = (131 * i + 17 * j + 11) % vocab;
  return {
    inputIds: tf.tensor2d(ids, [batch, seq], 'int32'),
    attentionMask: tf.ones([batch, seq], 'int32') as tf.Tensor2D,
    answerPositions: tf.fill([batch], seq - 1, 'int32') as tf.Tensor1D,
    labels: tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 2),
      'int32',
    ),
  };
}

/** ' Negative', ' Positive' in GPT-2's vocabulary (two small ids in smoke vocabularies). */
const labelIdsFor = (vocab: number) => (vocab > 36183 ? [36183, 33733] : [1, 2]);

/** Bytes now held on the device: the webgpu buffer manager's, else tfjs's tensor bytes. */
function memoryNow(): { used: number; allocated: number } {
  const gpu = webGpuMemory();
  return gpu
    ? { used: gpu.usedBytes, allocated: gpu.allocatedBytes }
    : { used: tf.memory().numBytes, allocated: tf.memory().numBytes };
}

/** Forces every parameter onto the device (on webgpu tensors upload at first use). */
async function touchAll(model: LanguageModel): Promise<void> {
  const params = [...model.params.values()];
  const total = tf.tidy(() => tf.sum(tf.stack(params.map((p) => tf.sum(p)))));
  await total.data();
  total.dispose();
}

const gb = (bytes: number) => +(bytes / 1e9).toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface BenchOptions {
  backend: BackendName;
  /** The adapter, as the backend report names it. */
  device: string;
  shapes: [number, number][];
  /** Each batch shape runs in each, on the same loaded model. */
  precisions: MatMulPrecision[];
  steps: number;
  warmup: number;
  evalBatches: number;
  dir: string;
  plain: boolean;
  /** Time the step recorded after the warm-up and replayed (src/runtime/step-graph.ts). */
  replay: boolean;
  /** LoRA rank: train adapters (src/models/lora.ts) instead of the model's weights. */
  loraRank?: number;
  /** The tensor-core matmul's schedule.fill values to time, each on the same loaded model (`--fill`). */
  fills?: number[];
  /** Times each run this often, every second round in reverse order (`--rounds`). */
  rounds: number;
}

/**
 * GPU time of one training step by kernel, from tfjs's profiler (each kernel timed with GPU
 * timestamp queries; the step itself runs slower this way, so this is for shares, not totals).
 */
async function profileStep(step: () => tf.Scalar, label: string): Promise<void> {
  const info = await tf.profile(() => step());
  tf.dispose(info.result as tf.Tensor);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    byKernel.set(k.name, entry);
  }
  const total = [...byKernel.values()].reduce((sum, e) => sum + e.ms, 0);
  const top = [...byKernel]
    .sort((x, y) => y[1].ms - x[1].ms)
    .slice(0, 14)
    .map(([name, e]) => `${name} ${e.ms.toFixed(2)} ms/${e.calls}`);
  console.log(
    JSON.stringify({ profile: label, gpuMs: +total.toFixed(2), kernels: info.kernels.length, top }),
  );
}

async function benchModel(shape: ModelShape, o: BenchOptions): Promise<void> {
  const dir = path.join(o.dir, shape.label.replace(/[^a-z0-9-]+/gi, '_'));
  const writeSeconds = await ensureCheckpoint(dir, shape);
  if (writeSeconds) log(`wrote ${dir} (${shape.fullLayers} layers) in ${writeSeconds.toFixed(1)} s`);
  for (const layers of shape.cuts) {
    let loadStart = performance.now();
    const { model, bytesRead } = await loadModel(dir, { layers: keepFirst(layers) });
    const loadSeconds = (performance.now() - loadStart) / 1000;
    loadStart = performance.now();
    await touchAll(model);
    const toDeviceSeconds = (performance.now() - loadStart) / 1000;
    const adapters = o.loraRank
      ? new LoraAdapters(
          model,
          { kind: 'lora', rank: o.loraRank, alpha: o.loraRank, targets: 'all', dropout: 0 },
          0,
        )
      : undefined;
    const trained = adapters?.params ?? model.params;
    // the loss of the checkpoint's own weights on each batch, before any step changes them
    const firstLosses = new Map<string, number>(); // "BxT precision" → loss
    const shapes = o.shapes.flatMap(([batchSize, seq]) =>
      o.precisions.map((precision) => ({ batchSize, seq, precision })),
    );
    const once = shapes.flatMap((run) => (o.fills ?? [undefined]).map((fill) => ({ ...run, fill })));
    const runs = Array.from({ length: o.rounds }, (_, r) =>
      r % 2 === 0 ? once : [...once].reverse(),
    ).flat();
    for (const { batchSize, seq, precision } of shapes) {
      setMatMulPrecision(precision);
      const batch = benchBatch(batchSize, seq, shape.vocab);
      const labelTokenIds = tf.tensor1d(labelIdsFor(shape.vocab), 'int32');
      const loss = tf.tidy(() => promptLmLoss(model, batch, labelTokenIds));
      firstLosses.set(`${batchSize}x${seq} ${precision}`, (await loss.data())[0]!);
      tf.dispose([loss, labelTokenIds, ...Object.values(batch)]);
    }
    for (const { batchSize, seq, precision, fill } of runs) {
      setMatMulPrecision(precision);
      if (fill !== undefined) setMatMulSchedule({ ...defaultSchedule, fill });
      const firstLoss = firstLosses.get(`${batchSize}x${seq} ${precision}`)!;
      webGpuMemory({ reset: true });
      let peakTensorBytes = tf.memory().numBytes;
      const optimizer = new AdamW(trained, { weightDecay: 0 });
      const batch = benchBatch(batchSize, seq, shape.vocab);
      const labelTokenIds = tf.tensor1d(labelIdsFor(shape.vocab), 'int32');
      const step = fineTuneStep(
        model,
        batch,
        labelTokenIds,
        optimizer,
        (phase) => {
          if (phase === 'optimizer done') peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes);
        },
        trained,
      );
      for (let i = 0; i < o.warmup; i++) {
        const loss = step(); // warm-up: compiles every GPU program
        await loss.data();
        loss.dispose();
      }
      let timedStep = step;
      let graph: StepGraph | undefined;
      if (o.replay) {
        // three more steps, recorded; the timed ones replay the record
        const replayed = replayedFineTuneStep(model, batch, labelTokenIds, optimizer, trained);
        await replayed.outputs.at(-1)!.data();
        tf.dispose(replayed.outputs);
        ({ step: timedStep, graph } = replayed);
      }
      const count = countHostTensors();
      const start = performance.now();
      const losses: tf.Scalar[] = [];
      for (let i = 0; i < o.steps; i++) losses.push(timedStep());
      const lastLoss = (await losses.at(-1)!.data())[0]!; // waits for every queued step
      const msPerStep = (performance.now() - start) / o.steps;
      count.stop();
      tf.dispose(losses);
      graph?.dispose();
      if (values.profile) await profileStep(step, `${shape.label} ${layers} layers ${batchSize}x${seq}`);
      optimizer.dispose();

      // evaluation: forward only, label-word scores at the answer slot, one sync per batch
      const evalTimes: number[] = [];
      for (let i = 0; i <= o.evalBatches; i++) {
        const t0 = performance.now();
        const predicted = tf.tidy(() => tf.argMax(labelWordLogits(model, batch, labelTokenIds), 1));
        await predicted.data();
        predicted.dispose();
        if (i > 0) evalTimes.push(performance.now() - t0); // the first one compiles
      }
      const evalMs = median(evalTimes);
      const gpu = webGpuMemory();
      const mem = memoryNow();
      console.log(
        JSON.stringify({
          impl: `layercut ${tf.getBackend()} ${matMulPrecision()}${o.plain ? ' plain' : ''}${o.replay ? ' replay' : ''}${o.loraRank ? ` lora r${o.loraRank}` : ''}`,
          model: shape.label,
          layers,
          ...(fill !== undefined ? { fill } : {}),
          params: model.info.paramsAfter,
          trainableParams: [...trained.values()].reduce((n, v) => n + v.size, 0),
          batch: batchSize,
          seq,
          msPerStep: +msPerStep.toFixed(1),
          stepsPerSecond: +(1000 / msPerStep).toFixed(2),
          tokensPerSecond: Math.round((batchSize * seq * 1000) / msPerStep),
          evalMsPerBatch: +evalMs.toFixed(1),
          evalTokensPerSecond: Math.round((batchSize * seq * 1000) / evalMs),
          loadSeconds: +loadSeconds.toFixed(2),
          toDeviceSeconds: +toDeviceSeconds.toFixed(2),
          gbRead: gb(bytesRead),
          peakGpuGb: gpu ? gb(gpu.peakAllocatedBytes) : null,
          peakGpuUsedGb: gpu ? gb(gpu.peakUsedBytes) : null,
          peakTensorGb: gb(peakTensorBytes),
          allocatedGbAfter: gb(mem.allocated),
          hostTensorsPerStep: +(count.tensors / o.steps).toFixed(1),
          hostMbPerStep: +(count.bytes / 1e6 / o.steps).toFixed(3),
          firstLoss: +firstLoss.toFixed(5),
          loss: +lastLoss.toFixed(5),
          keptConstants: keptConstantCount(),
          device: o.device,
          date: new Date().toISOString().slice(0, 10),
        }),
      );
      tf.dispose([batch.inputIds, batch.attentionMask, batch.answerPositions, batch.labels, labelTokenIds]);
    }
    adapters?.dispose();
    model.dispose();
  }
}

// ---------------------------------------------------------------- markdown table

interface Line {
  impl: string;
  model: string;
  layers: number;
  params?: number;
  batch: number;
  seq: number;
  msPerStep: number;
  tokensPerSecond?: number;
  evalTokensPerSecond?: number;
  loadSeconds?: number;
  toDeviceSeconds?: number;
  peakGpuGb?: number | null;
  peakGpuUsedGb?: number | null;
  /** PyTorch's max_memory_reserved (the peer's lines). */
  peakGpuReservedGb?: number;
  firstLoss?: number;
  hostTensorsPerStep?: number;
  device?: string;
  date?: string;
}

/** One row of bench/summary.json (the GPU-speed issue's format, plus memory details). */
interface SummaryRow {
  model: string;
  layers: number;
  batch: number;
  seq: number;
  precision: 'fp32' | 'mixed';
  ms: number;
  pytorchFp32Ms: number | null;
  pytorchBf16Ms: number | null;
  /** Bytes layercut took from the device at its peak (tensors + tfjs's pool of free buffers). */
  peakGpuGb: number | null;
  /** Of it, bytes in tensors (what PyTorch's max_memory_allocated counts). */
  peakGpuUsedGb: number | null;
  /** PyTorch fp32's max_memory_allocated. */
  pytorchPeakGpuGb: number | null;
  /** PyTorch fp32's max_memory_reserved (its caching allocator's hold on the device). */
  pytorchPeakGpuReservedGb: number | null;
  device: string | null;
  date: string | null;
}

function readLines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => typeof l.msPerStep === 'number');
}

const lineKey = (l: Line) => `${l.model.replace(/ \(smoke.*\)$/, '')}|${l.layers}|${l.batch}x${l.seq}`;
/** The peer's line for the same model, cut and batch shape in `precision` (fp32, bf16). */
const peerLine = (peer: Line[], l: Line, precision: string) =>
  peer.find((p) => lineKey(p) === lineKey(l) && p.impl.endsWith(` ${precision}`));

/** bench/summary.json's rows: every layercut line (not --plain) with PyTorch's figures beside it. */
function summaryRows(layercutFile: string, peerFile: string): SummaryRow[] {
  const peer = readLines(peerFile);
  return readLines(layercutFile)
    .filter((l) => !l.impl.endsWith('plain'))
    .map((l) => {
      const fp32 = peerLine(peer, l, 'fp32');
      return {
        model: l.model,
        layers: l.layers,
        batch: l.batch,
        seq: l.seq,
        precision: l.impl.includes(' mixed') ? 'mixed' : 'fp32',
        ms: l.msPerStep,
        pytorchFp32Ms: fp32?.msPerStep ?? null,
        pytorchBf16Ms: peerLine(peer, l, 'bf16')?.msPerStep ?? null,
        peakGpuGb: l.peakGpuGb ?? null,
        peakGpuUsedGb: l.peakGpuUsedGb ?? null,
        pytorchPeakGpuGb: fp32?.peakGpuGb ?? null,
        pytorchPeakGpuReservedGb: fp32?.peakGpuReservedGb ?? null,
        device: l.device ?? fp32?.device ?? null,
        date: l.date ?? null,
      };
    });
}

/** Markdown for RESULTS.md: one row per (model, layers, batch shape), PyTorch beside layercut. */
function table(layercutFile: string, peerFile: string): string {
  const ours = readLines(layercutFile);
  const peer = readLines(peerFile);
  const key = lineKey;
  const samePrecision = (a: Line, b: Line) => a.impl.includes(' mixed') === b.impl.includes(' mixed');
  const peerOf = (l: Line, precision: string) => peerLine(peer, l, precision);
  const num = (v: number | undefined | null, digits = 1) =>
    v === undefined || v === null || Number.isNaN(v)
      ? '—'
      : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(1)}×` : '—');
  const rows = [
    '| model | layers | params | batch | ms/step | tokens/s | eval tokens/s | load s (+ to GPU) | peak GPU GB | uploads/step | PyTorch fp32 ms | bf16 ms | ÷ fp32 | ÷ bf16 | first loss (PyTorch) |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const l of ours.filter((o) => !o.impl.endsWith('plain'))) {
    const fp32 = peerOf(l, 'fp32');
    const bf16 = peerOf(l, 'bf16');
    const plain = ours.find((o) => o.impl.endsWith('plain') && key(o) === key(l) && samePrecision(o, l));
    rows.push(
      `| ${l.model}${l.impl.includes(' mixed') ? ' (mixed)' : ''} | ${l.layers} | ${num((l.params ?? 0) / 1e6)} M | ${l.batch}×${l.seq} | ${num(l.msPerStep)}${
        plain ? ` (plain ${num(plain.msPerStep)})` : ''
      } | ${num(l.tokensPerSecond, 0)} | ${num(l.evalTokensPerSecond, 0)} | ${num(l.loadSeconds, 2)} (+${num(
        l.toDeviceSeconds,
        2,
      )}) | ${num(l.peakGpuGb, 1)} | ${num(l.hostTensorsPerStep, 0)} | ${num(fp32?.msPerStep)} | ${num(
        bf16?.msPerStep,
      )} | ${ratio(l.msPerStep, fp32?.msPerStep)} | ${ratio(l.msPerStep, bf16?.msPerStep)} | ${num(
        l.firstLoss,
        4,
      )} (${num(fp32?.firstLoss, 4)}) |`,
    );
  }
  const peerLoads = peer.filter((p) => p.loadSeconds !== undefined && p.impl.endsWith('fp32'));
  if (peerLoads.length) {
    rows.push('', 'PyTorch `from_pretrained(dir, n_layer=k)` + `.to("cuda")`, seconds:');
    rows.push(
      peerLoads
        .map((p) => `${p.model} ${p.layers} layers: ${num(p.loadSeconds, 2)}`)
        .filter((v, i, a) => a.indexOf(v) === i)
        .join('; '),
    );
  }
  return rows.join('\n');
}

/** The --compare-plain line in words, for the markdown block. */
function compareSummary(file: string): string {
  const line = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('{'))
    : undefined;
  if (!line) return 'Fast vs plain fine-tuning: no result (see layercut.err).';
  const c = JSON.parse(line) as {
    model: string;
    steps: number;
    fastAccuracy: number;
    plainAccuracy: number;
    accuracyGapPoints: number;
    maxTrainLossDiff: number;
    trainSeconds: [number, number];
    speedup: number;
    mixedAccuracy?: number;
    mixedGapPoints?: number;
    mixedTrainSeconds?: number;
    tensorCores?: boolean;
  };
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  return (
    `Fast vs plain paths (\`--compare-plain\`: ${c.model}, synthetic prompt task, ${c.steps} steps, same seed): ` +
    `test accuracy ${pct(c.fastAccuracy)} fast, ${pct(c.plainAccuracy)} plain (gap ${c.accuracyGapPoints} points); ` +
    `largest train-loss difference ${c.maxTrainLossDiff}; training ${c.trainSeconds[0]} s vs ${c.trainSeconds[1]} s ` +
    `(${c.speedup}× faster).` +
    (c.mixedAccuracy === undefined
      ? ''
      : ` Mixed precision (${c.tensorCores ? 'tensor cores' : 'no tensor cores on this device: fp32 matmuls'}, loss scale 1024): ` +
        `test accuracy ${pct(c.mixedAccuracy)}, gap to plain fp32 ${c.mixedGapPoints} points, training ${c.mixedTrainSeconds} s.`)
  );
}

// ---------------------------------------------------------------- fast vs plain fine-tuning

async function comparePlain(backend: BackendName): Promise<void> {
  const tokenizerDir = path.resolve('test', 'fixtures', 'tokenizers', 'gpt2');
  if (!existsSync(path.join(tokenizerDir, 'tokenizer.json')))
    throw new Error(`run from the repository root: ${tokenizerDir} holds the GPT-2 tokenizer`);
  const width = Number(values.width ?? (smoke ? 32 : 128));
  const layers = Number(values.layers ?? 2);
  const shape: ModelShape = {
    label: 'compare',
    width,
    heads: Number(values.heads ?? (smoke ? 2 : 4)),
    vocab: 50257, // the GPT-2 tokenizer's
    fullLayers: layers,
    cuts: [layers],
  };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-compare-'));
  await ensureCheckpoint(dir, shape);
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
    await copyFile(path.join(tokenizerDir, file), path.join(dir, file));
  const plan: RunPlan = {
    model: { kind: 'local', path: dir },
    layers: keepFirst(shape.fullLayers),
    task: 'fruit',
    prompt: { template: fruitTask.template, labelWords: fruitTask.labelWords, scoring: 'first' },
    method: { ...PAPER_DEFAULTS.method, kind: 'lm', freezeEmbeddings: true },
    data: { validation: 40, demosPerClass: 0, trainPerClass: 80, test: 200, maxLength: 64, truncate: 'left' },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: smoke ? 1e-3 : 1e-4, weightDecay: 0.01 }),
      batchSize: 8,
      epochs: smoke ? 3 : 6,
      maxGradNorm: 1,
      earlyStopPatience: 0,
    },
    seed: 0,
    backend,
  };
  const dataset = fruitDataset(400, 200);
  // a few steps of each path first, so that neither timed run pays for compiling GPU programs
  const warmUp: RunPlan = {
    ...plan,
    data: { ...plan.data, validation: 8, test: 8 },
    train: { ...plan.train, steps: 3 },
  };
  // fast fp32, plain fp32, fast mixed precision (tensor cores, where the GPU has them)
  const variants = [
    { plain: false, plan },
    { plain: true, plan },
    { plain: false, plan: { ...plan, train: { ...plan.train, precision: 'mixed' as const } } },
  ];
  for (const v of variants) {
    setPlainOps(v.plain);
    await runExperiment(
      { ...v.plan, data: warmUp.data, train: { ...v.plan.train, steps: 3 } },
      { task: fruitTask, dataset },
    );
  }
  const runs = [];
  for (const v of variants) {
    setPlainOps(v.plain);
    runs.push({ plain: v.plain, result: await runExperiment(v.plan, { task: fruitTask, dataset }) });
  }
  setPlainOps(undefined);
  await rm(dir, { recursive: true, force: true });
  const [fast, plain, mixed] = runs.map((r) => r.result) as [
    (typeof runs)[0]['result'],
    (typeof runs)[0]['result'],
    (typeof runs)[0]['result'],
  ];
  const lossDiff = Math.max(
    ...fast.curves.train.map((p, i) => Math.abs(p.loss - (plain.curves.train[i]?.loss ?? NaN))),
  );
  console.log(
    JSON.stringify({
      compare: 'fast vs plain (LAYERCUT_PLAIN_OPS) prompt-based fine-tuning, same seed',
      backend: fast.backend,
      model: `random GPT-2, ${shape.fullLayers} layers, d ${shape.width}, embeddings frozen`,
      steps: fast.curves.train.length,
      fastAccuracy: fast.test.accuracy,
      plainAccuracy: plain.test.accuracy,
      accuracyGapPoints: +(100 * Math.abs(fast.test.accuracy - plain.test.accuracy)).toFixed(2),
      bestValidation: [fast.validation.accuracy, plain.validation.accuracy],
      maxTrainLossDiff: +lossDiff.toExponential(2),
      finalTrainLoss: [fast.curves.train.at(-1)?.loss, plain.curves.train.at(-1)?.loss],
      trainSeconds: [+fast.timings.trainSeconds.toFixed(2), +plain.timings.trainSeconds.toFixed(2)],
      evalSeconds: [+fast.timings.evalSeconds.toFixed(2), +plain.timings.evalSeconds.toFixed(2)],
      speedup: +(plain.timings.trainSeconds / fast.timings.trainSeconds).toFixed(2),
      mixedAccuracy: mixed.test.accuracy,
      mixedGapPoints: +(100 * Math.abs(mixed.test.accuracy - plain.test.accuracy)).toFixed(2),
      mixedTrainSeconds: +mixed.timings.trainSeconds.toFixed(2),
      mixedFinalTrainLoss: mixed.curves.train.at(-1)?.loss,
      tensorCores: tensorCoreMatrix() !== undefined,
    }),
  );
}

// ---------------------------------------------------------------- main

if (values.table) {
  const [layercutFile = 'layercut.jsonl', peerFile = 'pytorch.jsonl', compareFile] = positionals;
  console.log(table(layercutFile, peerFile));
  if (compareFile) console.log(`\n${compareSummary(compareFile)}`);
  const summaryFile = values.summary ?? path.join('bench', 'summary.json');
  const rows = summaryRows(layercutFile, peerFile);
  await writeFile(summaryFile, `${JSON.stringify(rows, null, 2)}\n`);
  log(`wrote ${rows.length} rows to ${summaryFile}`);
} else {
  const backend = (values.backend ?? (smoke ? 'cpu' : 'webgpu')) as BackendName;
  const toggles = values['dawn-toggles']?.split(',').filter(Boolean);
  const report = await initBackend({ backend, ...(toggles ? { webgpu: { dawnToggles: toggles } } : {}) });
  log(`backend ${report.name}: ${report.detail}`);
  if (values['submit-batch'])
    tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', Number(values['submit-batch']));
  const precisions = values.precision!.split(',') as MatMulPrecision[];
  for (const precision of precisions)
    if (precision !== 'fp32' && precision !== 'mixed')
      throw new Error(`--precision is fp32, mixed or both (fp32,mixed), not '${precision}'`);
  setMatMulPrecision(precisions[0]!);
  if (values['compare-plain']) {
    await comparePlain(backend);
  } else {
    setPlainOps(values.plain ? true : undefined);
    // on the cpu backend keep constants as a GPU backend does, so the upload counts mean the same
    if ((smoke || values['keep-constants']) && !values.plain) setConstantCaching(true);
    const legacy = values.layers !== undefined;
    const models: ModelShape[] = legacy
      ? [
          {
            label: values.label ?? 'gpt2-xl-shaped',
            width: Number(values.width ?? 1600),
            heads: Number(values.heads ?? 25),
            vocab: Number(values.vocab ?? 50257),
            fullLayers: Math.max(...values.layers!.split(',').map(Number)),
            cuts: values.layers!.split(',').map(Number),
          },
        ]
      : parseModels(values.models ?? 'xl:1,2,4,12,48+small:12');
    const shapes =
      values.batch !== undefined || values.seq !== undefined
        ? ([[Number(values.batch ?? 16), Number(values.seq ?? 128)]] as [number, number][])
        : parseShapes(values.shapes ?? (smoke ? '2x16,1x16' : '16x128,1x128'));
    await mkdir(values.dir ?? path.join('.cache', 'bench'), { recursive: true });
    for (const shape of models) {
      await benchModel(shape, {
        backend,
        device: report.detail.split(';')[0]!,
        shapes,
        precisions,
        steps: Number(values.steps ?? (smoke ? 2 : 5)),
        warmup: Number(values.warmup ?? (smoke ? 1 : 2)),
        evalBatches: Number(values['eval-batches'] ?? (smoke ? 2 : 5)),
        dir: values.dir ?? path.join('.cache', 'bench'),
        plain: values.plain!,
        replay: values.replay!,
        ...(values.lora ? { loraRank: Number(values.lora) } : {}),
        ...(values.fill !== undefined ? { fills: values.fill.split(',').map(Number) } : {}),
        rounds: Number(values.rounds ?? 1),
      });
    }
  }
  releaseBackend();
}
