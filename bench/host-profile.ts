/**
 * What a fine-tuning step costs on the host and in device memory, measured without a GPU: Dawn's
 * null backend validates and "runs" every dispatch but executes nothing, so what it leaves is the
 * host's work (tfjs, bind groups, uniforms, submits) and tfjs's bookkeeping of GPU buffers, which
 * is what bench/train.ts reports as peak GPU memory on a real device.
 *
 *   node --import tsx bench/host-profile.ts [--model small] [--layers 2] [--batch 1] [--seq 128]
 *        [--steps 20] [--precision fp32|mixed] [--warmup 3]       host ms, dispatches, … per step
 *        [--fill N]                                   the tensor-core matmul's split-K fill (mixed)
 *   node --cpu-prof --import tsx bench/host-profile.ts             (a .cpuprofile of the same steps)
 *        [--trace]                                    first each program of one step, with shapes, and
 *                                                     the tfjs kernels it ran by name (Reshape, Identity too)
 *        [--dawn-toggles skip_validation,…]           Dawn toggles (as bench/train.ts's)
 *        [--replay]                 the step recorded once after the warm-up and replayed
 *                                   (src/runtime/step-graph.ts): what is left of the host's work
 *        [--gpu]                    on the machine's GPU instead: wall time then includes the GPU's,
 *                                   and the main thread's time is the host's share of it
 *   node --import tsx bench/host-profile.ts --memory --model xl --layers 4,8 --batch 16 [--steps 3]
 *        [--lora R]                                               peak bytes, and what holds them
 *
 * Models: `small` is GPT-2 small's shape with a 2,000-token vocabulary (host time does not depend
 * on the vocabulary), `xl` GPT2-XL's with its 50,257 tokens; --width, --heads, --vocab override.
 * The step is bench/train.ts's (bench/train-step.ts); parameters are made on the device (no
 * upload), the batch is bench/train.ts's. `--lora R` trains bench/train.ts's adapters in place of
 * the weights (src/models/lora.ts: rank R, alpha R, every projection, no dropout).
 *
 * Host mode prints one JSON line (ms per step, wall and this process's CPU time, the median of
 * --repeats runs of --steps steps; dispatches, bind groups asked for and made (the rest reused),
 * queue writes (uniforms, host values), submits, buffers created and destroyed, pipelines
 * compiled per step), then the programs per step.
 * Wall time is noisy on a shared machine; CPU time less so, and the main thread's time on a CPU
 * (Linux) least. The host code of a step runs 2–4×
 * slower in its first 100–200 steps than after them, while V8 optimizes it: `--warmup 200`
 * measures that steady state, the default 3 steps mostly the time before it.
 *
 * Memory mode prints one JSON line per layer count: peak bytes allocated from the device (used +
 * tfjs's pool of free buffers) and used by tensors during the last of --steps steps, the bytes in
 * use at the step's start (parameters, optimizer state, batch) and at the end of its phases, and
 * at the peak of bytes used, the phase running, the largest sizes of the buffers in use and the pool's
 * largest free sizes; with two or more layer counts, a line
 * fitting fixed + per-layer bytes. The null device holds 512 MB: in this mode it is filled first,
 * so that every buffer tfjs makes is invalid and raises an error (counted, not shown), which
 * changes nothing in tfjs's bookkeeping.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { gpt2 } from '../src/models/gpt2.js';
import { LoraAdapters } from '../src/models/lora.js';
import { initBackend, releaseBackend } from '../src/runtime/backend.js';
import {
  defaultSchedule,
  installTensorCoreMatMul,
  setMatMulPrecision,
  setMatMulSchedule,
  type MatMulPrecision,
} from '../src/runtime/tensor-core-matmul.js';
import { activeWebGpuDevice, webGpuBindGroups, webGpuMemory } from '../src/runtime/webgpu.js';
import type { PromptBatch } from '../src/train/objectives.js';
import { AdamW } from '../src/train/optimizers.js';
import type { StepGraph } from '../src/runtime/step-graph.js';
import { fineTuneStep, replayedFineTuneStep, type StepPhase } from './train-step.js';

const { values } = parseArgs({
  options: {
    memory: { type: 'boolean', default: false },
    model: { type: 'string', default: 'small' },
    width: { type: 'string' },
    heads: { type: 'string' },
    vocab: { type: 'string' },
    layers: { type: 'string', default: '2' },
    batch: { type: 'string' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    precision: { type: 'string', default: 'fp32' },
    fill: { type: 'string' },
    lora: { type: 'string' },
    trace: { type: 'boolean', default: false },
    replay: { type: 'boolean', default: false },
    gpu: { type: 'boolean', default: false },
    'dawn-toggles': { type: 'string' },
  },
});
const presets: Record<string, { width: number; heads: number; vocab: number }> = {
  small: { width: 768, heads: 12, vocab: 2000 },
  xl: { width: 1600, heads: 25, vocab: 50257 },
};
const preset = presets[values.model!];
if (!preset) throw new Error(`--model is ${Object.keys(presets).join(' or ')}, not '${values.model}'`);
const width = Number(values.width ?? preset.width);
const heads = Number(values.heads ?? preset.heads);
const vocab = Number(values.vocab ?? preset.vocab);
const layerCounts = values.layers!.split(',').map(Number);
const batchSize = Number(values.batch ?? (values.memory ? 16 : 1));
const seq = Number(values.seq);
const steps = Number(values.steps ?? (values.memory ? 3 : 20));
const repeats = Number(values.repeats);
if (values.precision !== 'fp32' && values.precision !== 'mixed')
  throw new Error(`--precision is fp32 or mixed, not '${values.precision}'`);
const precision = values.precision as MatMulPrecision;
const loraRank = values.lora === undefined ? undefined : Number(values.lora);
if (loraRank !== undefined && !(Number.isInteger(loraRank) && loraRank > 0))
  throw new Error(`--lora is a rank (a positive integer), not '${values.lora}'`);

const dawnToggles = values['dawn-toggles']?.split(',').filter(Boolean);
if (values.gpu && values.memory) throw new Error('--memory measures on the null device: leave out --gpu');
await initBackend({
  backend: 'webgpu',
  webgpu: values.gpu ? { dawnToggles } : { createFlags: ['backend=null'], dawnToggles },
});
const device = activeWebGpuDevice()!;
if (precision === 'mixed' && !values.gpu) {
  // the null adapter lists no subgroup-matrix configs: put the kernel in place as on an NVIDIA GPU
  installTensorCoreMatMul({ m: 16, n: 16, k: 16 }, device.limits.maxComputeWorkgroupStorageSize);
}
setMatMulPrecision(precision);
if (values.fill !== undefined) setMatMulSchedule({ ...defaultSchedule, fill: Number(values.fill) });

// ---------------------------------------------------------------- what the host does, counted

const counts = {
  dispatches: 0,
  bindGroups: 0,
  queueWrites: 0,
  submits: 0,
  buffersCreated: 0,
  bufferBytesCreated: 0,
  buffersDestroyed: 0,
  pipelinesCompiled: 0,
  deviceErrors: 0,
};
const resetCounts = () => {
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] = 0;
};
const programs = new Map<string, number>();
const probe = device.createCommandEncoder().beginComputePass();
const passPrototype = Object.getPrototypeOf(probe) as GPUComputePassEncoder;
const dispatch = passPrototype.dispatchWorkgroups;
passPrototype.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args) {
  counts.dispatches++;
  return dispatch.apply(this, args);
};
const createBindGroup = device.createBindGroup.bind(device);
device.createBindGroup = (descriptor) => (counts.bindGroups++, createBindGroup(descriptor));
const writeBuffer = device.queue.writeBuffer.bind(device.queue) as (...args: unknown[]) => undefined;
(device.queue as { writeBuffer: unknown }).writeBuffer = (...args: unknown[]) => (
  counts.queueWrites++,
  writeBuffer(...args)
);
const submit = device.queue.submit.bind(device.queue);
device.queue.submit = (buffers) => (counts.submits++, submit(buffers));
const createComputePipeline = device.createComputePipeline.bind(device);
device.createComputePipeline = (descriptor) => (
  counts.pipelinesCompiled++,
  createComputePipeline(descriptor)
);
const createBuffer = device.createBuffer.bind(device);
device.createBuffer = (descriptor) => {
  counts.buffersCreated++;
  counts.bufferBytesCreated += descriptor.size;
  const buffer = createBuffer(descriptor);
  const destroy = buffer.destroy.bind(buffer);
  buffer.destroy = () => (counts.buffersDestroyed++, destroy());
  return buffer;
};
device.addEventListener('uncapturederror', (event) => {
  event.preventDefault();
  counts.deviceErrors++;
});
if (values.memory) await fillNullDevice();

/**
 * Takes all of the null device's 512 MB, so that every buffer tfjs makes from here on is an
 * invalid one of the size asked for (tfjs's bookkeeping is the same). Otherwise a buffer that
 * still fits can be refused the staging memory Dawn gives a buffer mapped at creation, which
 * throws.
 */
async function fillNullDevice(): Promise<void> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  for (let size = 2 ** 28; size >= 4; size /= 2) {
    for (;;) {
      device.pushErrorScope('out-of-memory');
      device.createBuffer({ size, usage });
      if (await device.popErrorScope()) break;
    }
  }
}

/** tfjs's webgpu backend, as far as this reaches into it. */
interface BackendInternals {
  runWebGPUProgram: (program: { shaderKey: string }, ...rest: unknown[]) => unknown;
  bufferManager: {
    numBytesUsed: number;
    numBytesAllocated: number;
    freeBuffers: Map<string, unknown[]>;
    usedBuffers: Map<string, unknown[]>;
    acquireBuffer: (size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean) => unknown;
  };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}
const backend = tf.backend() as unknown as BackendInternals;
/** --trace: each program of one step, with its inputs' and output's shapes. */
const trace = { on: false, lines: [] as string[] };
const runWebGPUProgram = backend.runWebGPUProgram.bind(backend);
backend.runWebGPUProgram = (program, ...rest) => {
  const name = `${program.constructor.name} ${program.shaderKey.split('_')[0]}`;
  programs.set(name, (programs.get(name) ?? 0) + 1);
  if (trace.on) {
    const inputs = rest[0] as { shape: number[] }[];
    const output = (program as unknown as { outputShape: number[] }).outputShape;
    trace.lines.push(`${name} [${inputs.map((t) => t.shape.join('x')).join(', ')}] → ${output.join('x')}`);
  }
  return runWebGPUProgram(program, ...rest);
};
/** --trace: tfjs kernels of one step by name, those that dispatch nothing (Reshape, Identity, …) too. */
const kernelsTraced = new Map<string, number>();
if (values.trace) {
  // wrapped only for --trace: the timed steps' host time stays free of it
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel.bind(engine);
  engine.runKernel = (name, ...rest) => {
    if (trace.on) kernelsTraced.set(name, (kernelsTraced.get(name) ?? 0) + 1);
    return runKernel(name, ...rest);
  };
}

/** Submits what tfjs has queued and waits for the device (a read-back could fail on invalid buffers). */
async function finish(): Promise<void> {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await device.queue.onSubmittedWorkDone();
}

// ---------------------------------------------------------------- the pool at the peak

const manager = backend.bufferManager;
/** The part of the step that runs. */
type RunningPhase = 'forward' | 'backward' | 'optimizer' | 'after the step';
let phase = 'forward' as RunningPhase;
const phaseAfter: Record<StepPhase, RunningPhase> = {
  'forward done': 'backward',
  'backward done': 'optimizer',
  'optimizer done': 'after the step',
};
/** At the highest bytes used of a step: the phase, the buffers in use and the free ones in tfjs's pool, by size. */
interface PeakSnapshot {
  phase: string;
  usedBytes: number;
  allocatedBytes: number;
  used: [number, number][];
  pooled: [number, number][];
}
/** byte size → buffers of that size, from one of the buffer manager's maps (keyed `${size}_${usage}`). */
function bySize(buffers: Map<string, unknown[]>): [number, number][] {
  const counted = new Map<number, number>();
  for (const [key, list] of buffers)
    if (list.length) {
      const bytes = Number(key.split('_')[0]);
      counted.set(bytes, (counted.get(bytes) ?? 0) + list.length);
    }
  return [...counted];
}
/** The sizes holding the most bytes: '3 × 41.0 MB'. */
const largest = (sizes: [number, number][]) =>
  [...sizes]
    .sort((a, b) => b[0] * b[1] - a[0] * a[1])
    .slice(0, 6)
    .map(([bytes, n]) => `${n} × ${(bytes / 1e6).toFixed(1)} MB`);
const peakWatch: { on: boolean; snapshot?: PeakSnapshot } = { on: false };
const acquireBuffer = manager.acquireBuffer.bind(manager);
manager.acquireBuffer = (size, usage, mappedAtCreation, reuse) => {
  const buffer = acquireBuffer(size, usage, mappedAtCreation, reuse);
  if (peakWatch.on && manager.numBytesUsed > (peakWatch.snapshot?.usedBytes ?? 0)) {
    peakWatch.snapshot = {
      phase,
      usedBytes: manager.numBytesUsed,
      allocatedBytes: manager.numBytesAllocated,
      used: bySize(manager.usedBuffers),
      pooled: bySize(manager.freeBuffers),
    };
  }
  return buffer;
};

// ---------------------------------------------------------------- the model and the step

function buildModel(layers: number) {
  const config = gpt2.parseConfig({
    model_type: 'gpt2',
    n_embd: width,
    n_head: heads,
    n_layer: layers,
    vocab_size: vocab,
    n_positions: Math.max(seq, 1024),
  });
  const keptLayers = Array.from({ length: layers }, (_, i) => i);
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of gpt2.expectedTensors(config, keptLayers)) {
    const value = tf.fill(shape, name.includes('ln_') && name.endsWith('.weight') ? 1 : 0.01); // on the device
    params.set(name, tf.variable(value, true, name));
    value.dispose();
  }
  return gpt2.build(config, keptLayers, params);
}

/** bench/train.ts's batch: ids[i][j] = (131·i + 17·j + 11) mod V, labels alternating. */
function benchBatch(): PromptBatch {
  const ids = new Int32Array(batchSize * seq).map(
    (_, k) => (131 * Math.floor(k / seq) + 17 * (k % seq) + 11) % vocab,
  );
  return {
    inputIds: tf.tensor2d(ids, [batchSize, seq], 'int32'),
    attentionMask: tf.ones([batchSize, seq], 'int32') as tf.Tensor2D,
    answerPositions: tf.fill([batchSize], seq - 1, 'int32') as tf.Tensor1D,
    labels: tf.tensor1d(
      Array.from({ length: batchSize }, (_, i) => i % 2),
      'int32',
    ),
  };
}

/**
 * Nanoseconds the main thread has run on a CPU (Linux: its schedstat), or undefined elsewhere.
 * Unlike wall time it leaves out waiting for a CPU on a shared machine, and unlike the process's
 * CPU time V8's compiler and GC threads and Dawn's.
 */
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainThreadNs = (): number | undefined =>
  existsSync(schedstat) ? Number(readFileSync(schedstat, 'utf8').split(' ')[0]) : undefined;

const gb = (bytes: number) => +(bytes / 1e9).toFixed(3);
const perStepOf = (n: number) => +(n / steps).toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const label = (layers: number) =>
  `gpt2 d${width} h${heads} ${layers} layers, vocab ${vocab}, ${batchSize}x${seq}, ${precision}${loraRank ? `, lora r${loraRank}` : ''}`;

async function measure(layers: number) {
  const model = buildModel(layers);
  const adapters =
    loraRank === undefined
      ? undefined
      : new LoraAdapters(
          model,
          { kind: 'lora', rank: loraRank, alpha: loraRank, targets: 'all', dropout: 0 },
          0,
        );
  const trained = adapters?.params ?? model.params;
  const batch = benchBatch();
  const labelTokenIds = tf.tensor1d(vocab > 36183 ? [36183, 33733] : [5, 9], 'int32');
  const optimizer = new AdamW(trained, { weightDecay: 0 });
  const phases: Record<string, { usedGb: number; allocatedGb: number }> = {};
  let step = fineTuneStep(
    model,
    batch,
    labelTokenIds,
    optimizer,
    (at) => {
      phase = phaseAfter[at];
      const memory = webGpuMemory()!;
      phases[at] = { usedGb: gb(memory.usedBytes), allocatedGb: gb(memory.allocatedBytes) };
    },
    trained,
  );
  const run = async (n: number) => {
    const losses = Array.from({ length: n }, step);
    await finish();
    tf.dispose(losses);
  };
  // compiles every program, makes the optimizer state (and, long enough, lets V8 optimize the host code)
  await run(values.memory ? Math.max(1, steps - 1) : Number(values.warmup));
  let graph: StepGraph | undefined;
  if (values.replay) {
    // the step recorded (three more steps) and replayed from here on (src/runtime/step-graph.ts)
    const replayed = replayedFineTuneStep(model, batch, labelTokenIds, optimizer, trained);
    tf.dispose(replayed.outputs);
    ({ step, graph } = replayed);
  }
  if (values.trace) {
    trace.on = true;
    await run(1);
    trace.on = false;
    console.log(trace.lines.map((l, i) => `${String(i + 1).padStart(4)}  ${l}`).join('\n'));
    const kernels = [...kernelsTraced].sort((a, b) => b[1] - a[1]);
    const total = kernels.reduce((n, [, count]) => n + count, 0);
    console.log(
      `tfjs kernels run in the step: ${total} (${kernels.map(([k, n]) => `${k} ${n}`).join(', ')})`,
    );
  }
  let line: Record<string, unknown>;
  if (values.memory) {
    phase = 'forward';
    const atStart = webGpuMemory({ reset: true })!;
    resetCounts();
    peakWatch.snapshot = undefined;
    peakWatch.on = true;
    await run(1);
    peakWatch.on = false;
    const peakSnapshot = peakWatch.snapshot as PeakSnapshot | undefined; // set by acquireBuffer
    const memory = webGpuMemory()!;
    line = {
      memory: label(layers),
      layers,
      trainableParams: [...trained.values()].reduce((n, v) => n + v.size, 0),
      peakAllocatedGb: gb(memory.peakAllocatedBytes),
      peakUsedGb: gb(memory.peakUsedBytes),
      stepStartUsedGb: gb(atStart.usedBytes),
      phases,
      atPeakUsed: peakSnapshot && {
        phase: peakSnapshot.phase,
        aboveStepStartGb: gb(peakSnapshot.usedBytes - atStart.usedBytes),
        usedTop: largest(peakSnapshot.used),
        pooledGb: gb(peakSnapshot.allocatedBytes - peakSnapshot.usedBytes),
        pooledTop: largest(peakSnapshot.pooled),
      },
      buffersCreatedPerStep: counts.buffersCreated,
      gbCreatedPerStep: gb(counts.bufferBytesCreated),
      buffersDestroyedPerStep: counts.buffersDestroyed,
      deviceErrors: counts.deviceErrors,
    };
  } else {
    const times: number[] = [];
    const cpuTimes: number[] = [];
    const mainTimes: number[] = [];
    const bindGroups = webGpuBindGroups()!;
    let made = 0;
    for (let r = 0; r < repeats; r++) {
      resetCounts();
      programs.clear();
      const missesBefore = bindGroups.misses;
      const cpu = process.cpuUsage();
      const mainStart = mainThreadNs();
      const start = performance.now();
      await run(steps);
      times.push((performance.now() - start) / steps);
      const mainEnd = mainThreadNs();
      if (mainStart !== undefined && mainEnd !== undefined)
        mainTimes.push((mainEnd - mainStart) / 1e6 / steps);
      const used = process.cpuUsage(cpu);
      cpuTimes.push((used.user + used.system) / 1000 / steps);
      made = bindGroups.misses - missesBefore;
    }
    const perStep = perStepOf;
    line = {
      model: label(layers),
      layers,
      hostMsPerStep: +median(times).toFixed(1),
      hostMsRuns: times.map((t) => +t.toFixed(1)),
      hostCpuMsPerStep: +median(cpuTimes).toFixed(1),
      hostCpuMsRuns: cpuTimes.map((t) => +t.toFixed(2)),
      ...(mainTimes.length
        ? {
            mainThreadMsPerStep: +median(mainTimes).toFixed(2),
            mainThreadMsRuns: mainTimes.map((t) => +t.toFixed(2)),
          }
        : {}),
      bindGroupsMade: bindGroups.misses + bindGroups.hits > 0 ? perStepOf(made) : null,
      ...Object.fromEntries(
        Object.entries(counts)
          .filter(([key]) => key !== 'bufferBytesCreated')
          .map(([key, n]) => [key, perStep(n)]),
      ),
    };
  }
  graph?.dispose();
  optimizer.dispose();
  adapters?.dispose();
  model.dispose();
  tf.dispose([labelTokenIds, ...Object.values(batch)]);
  return line;
}

const lines: Record<string, unknown>[] = [];
for (const layers of layerCounts) {
  const line = await measure(layers);
  lines.push(line);
  console.log(JSON.stringify(line));
  if (!values.memory)
    for (const [name, n] of [...programs].sort((a, b) => b[1] - a[1]))
      console.log(`${(n / steps).toFixed(2).padStart(8)}  ${name}`);
}
if (values.memory && lines.length >= 2) {
  // least squares: bytes = fixed + perLayer · layers
  const fit = (key: 'peakAllocatedGb' | 'peakUsedGb') => {
    const xs = lines.map((l) => l['layers'] as number);
    const ys = lines.map((l) => l[key] as number);
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const perLayer =
      xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    const fixed = my - perLayer * mx;
    return {
      fixedGb: +fixed.toFixed(3),
      perLayerGb: +perLayer.toFixed(4),
      at48LayersGb: +(fixed + 48 * perLayer).toFixed(1),
    };
  };
  console.log(
    JSON.stringify({
      fit: 'peak GB = fixed + perLayer × layers',
      allocated: fit('peakAllocatedGb'),
      used: fit('peakUsedGb'),
    }),
  );
}
releaseBackend();
