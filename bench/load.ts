/**
 * Benchmark: loading a GPT2-XL-shaped checkpoint (1.56 B parameters, random float32 weights
 * written by layercut's own safetensors writer, one 6.2 GB file as on the hub) in full and cut
 * to its first 2 layers.
 *
 *   node --import tsx bench/load.ts [--dir .cache/bench/gpt2-xl-random] [--backend cpu] [--repeat 2]
 *
 * Prints one JSON line per measurement; figures go to bench/RESULTS.md by hand with date and machine.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { gpt2 } from '../src/models/gpt2.js';
import { loadModel } from '../src/models/load.js';
import { keepAll, keepFirst, type LayerSelection } from '../src/models/selection.js';
import { initBackend, type BackendName } from '../src/runtime/backend.js';
import { writeSafetensors, type WritableTensor } from '../src/weights/safetensors.js';

const GPT2_XL_CONFIG = {
  model_type: 'gpt2',
  architectures: ['GPT2LMHeadModel'],
  n_embd: 1600,
  n_layer: 48,
  n_head: 25,
  n_positions: 1024,
  vocab_size: 50257,
  layer_norm_epsilon: 1e-5,
  activation_function: 'gelu_new',
};

/** Fills an array with uniform noise in ±0.05 (xorshift32: fast, deterministic). */
function randomFill(data: Float32Array, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[i] = ((state >>> 0) / 4294967296 - 0.5) * 0.1;
  }
  return data;
}

async function writeRandomCheckpoint(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const config = gpt2.parseConfig(GPT2_XL_CONFIG);
  const allLayers = Array.from({ length: config.numLayers }, (_, i) => i);
  const tensors: Record<string, WritableTensor> = {};
  let seed = 1;
  for (const [name, shape] of gpt2.expectedTensors(config, allLayers)) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors[name] = { dtype: 'F32', shape, data: randomFill(new Float32Array(size), seed++) };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(GPT2_XL_CONFIG, null, 2));
}

async function measure(dir: string, label: string, layers: LayerSelection): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  const { model, bytesRead } = await loadModel(dir, { layers });
  const seconds = (performance.now() - start) / 1000;
  const rssAfter = process.memoryUsage().rss;
  console.log(
    JSON.stringify({
      label,
      layers: model.info.layersAfter,
      params: model.info.paramsAfter,
      gbRead: +(bytesRead / 1e9).toFixed(3),
      seconds: +seconds.toFixed(3),
      gbPerSecond: +(bytesRead / 1e9 / seconds).toFixed(2),
      rssGrowthGb: +((rssAfter - rssBefore) / 1e9).toFixed(2),
      backend: tf.getBackend(),
    }),
  );
  model.dispose();
}

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: path.join('.cache', 'bench', 'gpt2-xl-random') },
    backend: { type: 'string', default: 'cpu' },
    repeat: { type: 'string', default: '2' },
  },
});
const dir = values.dir!;
if (!existsSync(path.join(dir, 'model.safetensors'))) {
  const start = performance.now();
  await writeRandomCheckpoint(dir);
  console.log(
    JSON.stringify({ label: 'write checkpoint', seconds: +((performance.now() - start) / 1000).toFixed(1) }),
  );
}
await initBackend({ backend: values.backend as BackendName });
console.log(
  JSON.stringify({
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model}`,
    memoryGb: Math.round(os.totalmem() / 1e9),
  }),
);
for (let i = 0; i < Number(values.repeat); i++) {
  await measure(dir, 'cut to 2 layers', keepFirst(2));
  await measure(dir, 'full (48 layers)', keepAll);
}
