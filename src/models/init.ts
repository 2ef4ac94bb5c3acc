/**
 * Fresh GPT-2 weights, initialised as transformers initialises GPT2LMHeadModel: weights
 * ~ N(0, initializer_range), the residual output projections (`c_proj`) ~
 * N(0, initializer_range / √(2·layers)), biases 0, LayerNorm gains 1. Deterministic for a seed.
 * Used by generated built-in models and as the starting point of pretraining.
 */
import { mulberry32, type Random } from '../data/random.js';
import type { WritableTensor } from '../weights/safetensors.js';

/** Normal samples (Box–Muller) from a seeded uniform generator. */
function normals(random: Random, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - random.next(); // (0, 1]: log stays finite
    const v = random.next();
    const radius = std * Math.sqrt(-2 * Math.log(u));
    out[i] = radius * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Every tensor of a GPT-2 checkpoint for `configJson` (config.json's content), randomly initialised. */
export async function randomGpt2Checkpoint(
  configJson: Record<string, unknown>,
  seed: number,
): Promise<Record<string, WritableTensor>> {
  // Imported here, not at the top: the GPT-2 family brings tfjs, which callers may not need yet.
  const { gpt2 } = await import('./gpt2.js');
  const config = gpt2.parseConfig(configJson);
  const random = mulberry32(seed);
  const std = Number(configJson['initializer_range'] ?? 0.02);
  const layers = Array.from({ length: config.numLayers }, (_, i) => i);
  const tensors: Record<string, WritableTensor> = {};
  for (const [tensorName, shape] of gpt2.expectedTensors(config, layers)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (/ln_(\d|f)\.weight$/.test(tensorName)) data = new Float32Array(size).fill(1);
    else if (tensorName.endsWith('.bias')) data = new Float32Array(size);
    else if (tensorName.endsWith('c_proj.weight'))
      data = normals(random, size, std / Math.sqrt(2 * config.numLayers));
    else data = normals(random, size, std);
    tensors[tensorName] = { dtype: 'F32', shape, data };
  }
  return tensors;
}
