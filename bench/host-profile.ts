/**
 * The host side of a fine-tuning step on the webgpu backend, measurable without a GPU: Dawn's
 * null backend validates and "runs" every dispatch but executes nothing, so what is left is the
 * host's work (tfjs, bind groups, uniforms, submits). Prints one JSON line: ms per step, and
 * dispatches, bind groups, uniform writes and submits per step, then the programs per step.
 *
 *   node --import tsx bench/host-profile.ts [--width 768 --heads 12 --layers 2 --vocab 2000 --seq 128 --steps 20]
 *   node --cpu-prof --import tsx bench/host-profile.ts      (a .cpuprofile of the same steps)
 *
 * A GPT-2-shaped random model (batch 1), the `lm` prompt loss and AdamW, as bench/train.ts runs them.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { gpt2 } from '../src/models/gpt2.js';
import { randomGpt2Checkpoint } from '../src/models/init.js';
import { initBackend, releaseBackend } from '../src/runtime/backend.js';
import { activeWebGpuDevice } from '../src/runtime/webgpu.js';
import { promptLmLoss, type PromptBatch } from '../src/train/objectives.js';
import { AdamW } from '../src/train/optimizers.js';

const { values } = parseArgs({
  options: {
    width: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    layers: { type: 'string', default: '2' },
    vocab: { type: 'string', default: '2000' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '20' },
  },
});
const [width, heads, layers, vocab, seq, steps] = [
  values.width,
  values.heads,
  values.layers,
  values.vocab,
  values.seq,
  values.steps,
].map(Number) as [number, number, number, number, number, number];

await initBackend({ backend: 'webgpu', webgpu: { createFlags: ['backend=null'] } });
const device = activeWebGpuDevice()!;
const counts = { dispatches: 0, bindGroups: 0, uniformWrites: 0, submits: 0 };
const programs = new Map<string, number>();
// count what the host does per dispatch
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
  counts.uniformWrites++,
  writeBuffer(...args)
);
const submit = device.queue.submit.bind(device.queue);
device.queue.submit = (buffers) => (counts.submits++, submit(buffers));
const backend = tf.backend() as unknown as {
  runWebGPUProgram: (program: { shaderKey: string }, ...rest: unknown[]) => unknown;
};
const runWebGPUProgram = backend.runWebGPUProgram.bind(backend);
backend.runWebGPUProgram = (program, ...rest) => {
  const name = `${program.constructor.name} ${program.shaderKey.split('_')[0]}`;
  programs.set(name, (programs.get(name) ?? 0) + 1);
  return runWebGPUProgram(program, ...rest);
};

const configJson = {
  model_type: 'gpt2',
  n_embd: width,
  n_head: heads,
  n_layer: layers,
  vocab_size: vocab,
  n_positions: seq,
};
const config = gpt2.parseConfig(configJson);
const keptLayers = Array.from({ length: layers }, (_, i) => i);
const tensors = await randomGpt2Checkpoint(configJson, 0);
const params = new Map(
  Object.entries(tensors).map(([name, t]) => {
    const values = tf.tensor(t.data as Float32Array, t.shape);
    const variable = tf.variable(values, true, name);
    values.dispose();
    return [name, variable];
  }),
);
const model = gpt2.build(config, keptLayers, params);
const variables = [...model.params.values()];
const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
const batch: PromptBatch = {
  inputIds: tf.tensor2d(
    Array.from({ length: seq }, (_, i) => (i * 37) % vocab),
    [1, seq],
    'int32',
  ),
  attentionMask: tf.ones([1, seq], 'int32') as tf.Tensor2D,
  answerPositions: tf.tensor1d([seq - 1], 'int32'),
  labels: tf.tensor1d([0], 'int32'),
};
const labelTokenIds = tf.tensor1d([5, 9], 'int32');
const optimizer = new AdamW(model.params, { weightDecay: 0 });
const step = (): tf.Scalar => {
  const { value, grads } = tf.variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
  const named: tf.NamedTensorMap = {};
  for (const [name, g] of Object.entries(grads)) named[nameOf.get(name)!] = g;
  optimizer.step(named, 5e-5);
  tf.dispose(grads);
  return value;
};
for (let i = 0; i < 3; i++) {
  const loss = step(); // compiles every program
  await loss.data();
  loss.dispose();
}
Object.assign(counts, { dispatches: 0, bindGroups: 0, uniformWrites: 0, submits: 0 });
programs.clear();
const start = performance.now();
const losses = Array.from({ length: steps }, step);
await losses.at(-1)!.data();
const ms = (performance.now() - start) / steps;
tf.dispose(losses);
const perStep = (n: number) => +(n / steps).toFixed(2);
console.log(
  JSON.stringify({
    model: `gpt2 d${width} h${heads} ${layers} layers, vocab ${vocab}, 1x${seq}`,
    hostMsPerStep: +ms.toFixed(1),
    dispatches: perStep(counts.dispatches),
    bindGroups: perStep(counts.bindGroups),
    uniformWrites: perStep(counts.uniformWrites),
    submits: perStep(counts.submits),
  }),
);
for (const [name, n] of [...programs].sort((a, b) => b[1] - a[1]))
  console.log(`${perStep(n).toString().padStart(6)}  ${name}`);
optimizer.dispose();
model.dispose();
releaseBackend();
