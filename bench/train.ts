/**
 * Benchmark: prompt-based fine-tuning steps (the `lm` objective + AdamW, as the trainer runs
 * them) on GPT2-XL-shaped models cut to k layers, random weights, batch B × T tokens.
 *
 *   node --import tsx bench/train.ts [--layers 1,2,4,12,48] [--batch 16] [--seq 128] [--steps 5]
 *                                   [--backend webgpu] [--width 1600 --heads 25 --vocab 50257]
 *
 * One JSON line per configuration. bench/train_peer.py times PyTorch + transformers on the
 * same shapes; run both on the GPU machine in one call (see bench/RESULTS.md).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { gpt2 } from '../src/models/gpt2.js';
import { initBackend, type BackendName } from '../src/runtime/backend.js';
import { promptLmLoss, type PromptBatch } from '../src/train/objectives.js';
import { AdamW } from '../src/train/optimizers.js';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '1,2,4,12,48' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'webgpu' },
    width: { type: 'string', default: '1600' },
    heads: { type: 'string', default: '25' },
    vocab: { type: 'string', default: '50257' },
    label: { type: 'string', default: 'gpt2-xl-shaped' },
  },
});
const [batchSize, seq, steps, warmup] = [values.batch, values.seq, values.steps, values.warmup].map(
  Number,
) as [number, number, number, number];
const report = await initBackend({ backend: values.backend as BackendName });
console.error(`backend ${report.name}: ${report.detail}`);

for (const layers of values.layers!.split(',').map(Number)) {
  const config = gpt2.parseConfig({
    model_type: 'gpt2',
    n_embd: Number(values.width),
    n_head: Number(values.heads),
    n_layer: layers,
    n_positions: 1024,
    vocab_size: Number(values.vocab),
  });
  const kept = Array.from({ length: layers }, (_, i) => i);
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of gpt2.expectedTensors(config, kept)) {
    const init =
      name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight'
        ? tf.ones(shape)
        : tf.randomNormal(shape, 0, 0.02, 'float32', 1);
    params.set(name, tf.variable(init, true));
    init.dispose();
  }
  const model = gpt2.build(config, kept, params);
  const optimizer = new AdamW(params, { weightDecay: 0 });
  const variables = [...params.values()];
  const nameOf = new Map([...params].map(([name, v]) => [v.name, name]));
  const batch: PromptBatch = {
    inputIds: tf.randomUniform([batchSize, seq], 0, config.vocabSize, 'int32') as tf.Tensor2D,
    attentionMask: tf.ones([batchSize, seq], 'int32') as tf.Tensor2D,
    answerPositions: tf.fill([batchSize], seq - 1, 'int32') as tf.Tensor1D,
    labels: tf.tensor1d(
      Array.from({ length: batchSize }, (_, i) => i % 2),
      'int32',
    ),
  };
  // ' Negative', ' Positive' in GPT-2's vocabulary (any two ids in smaller test vocabularies)
  const labelTokenIds = tf.tensor1d(config.vocabSize > 36183 ? [36183, 33733] : [1, 2], 'int32');

  const step = async (): Promise<number> => {
    const { value, grads } = tf.variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
    const named: tf.NamedTensorMap = {};
    for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
    optimizer.step(named, 5e-5);
    tf.dispose(grads);
    const loss = (await value.data())[0]!; // waits for the step's GPU work
    value.dispose();
    return loss;
  };
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  let loss = 0;
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    loss = await step();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    JSON.stringify({
      impl: `layercut ${report.name} fp32`,
      model: values.label,
      layers,
      params: model.info.paramsAfter,
      batch: batchSize,
      seq,
      msPerStep: +median.toFixed(1),
      stepsPerSecond: +(1000 / median).toFixed(2),
      tokensPerSecond: Math.round((batchSize * seq * 1000) / median),
      loss: +loss.toFixed(4),
      tensorsAfter: tf.memory().numTensors,
    }),
  );
  optimizer.dispose();
  model.dispose();
  tf.dispose([batch.inputIds, batch.attentionMask, batch.answerPositions, batch.labels, labelTokenIds]);
}
