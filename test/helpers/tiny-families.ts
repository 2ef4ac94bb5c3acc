/**
 * Tiny random checkpoints of the families added for issue 19 (Llama 3, Qwen2, Qwen3, Mistral,
 * Phi-3, Gemma, GPT-NeoX), written with layercut's own safetensors writer under the keys
 * `save_pretrained` uses, each config exercising the family's options (sliding windows on some
 * layers, partial rotary, fused projections, tied embeddings, …). Optionally with the small
 * SentencePiece tokenizer of the fixtures (llama-bpe), for end-to-end runs.
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mulberry32 } from '../../src/data/random.js';
import { families } from '../../src/models/load.js';
import { writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.js';
import { fixturesDir } from './fixtures.js';

const SIZES = { vocab_size: 99, num_hidden_layers: 4, max_position_embeddings: 64 };

/** config.json of each tiny model, by name; model_type picks the family. */
export const tinyFamilyConfigs = {
  llama3: {
    ...SIZES,
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    rope_parameters: {
      rope_type: 'llama3',
      rope_theta: 500000,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 32,
    },
  },
  qwen2: {
    ...SIZES,
    model_type: 'qwen2',
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    use_sliding_window: true,
    sliding_window: 3,
    max_window_layers: 2,
  },
  qwen3: {
    ...SIZES,
    model_type: 'qwen3',
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    head_dim: 16,
    attention_bias: true,
    layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'],
    use_sliding_window: true,
    sliding_window: 2,
  },
  mistral: {
    ...SIZES,
    model_type: 'mistral',
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    sliding_window: 3,
  },
  phi3: {
    ...SIZES,
    model_type: 'phi3',
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    partial_rotary_factor: 0.5,
    sliding_window: 4,
  },
  gemma: {
    ...SIZES,
    model_type: 'gemma',
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    head_dim: 16,
    hidden_activation: 'gelu_pytorch_tanh',
  },
  gpt_neox: {
    ...SIZES,
    model_type: 'gpt_neox',
    hidden_size: 32,
    intermediate_size: 64,
    num_attention_heads: 2,
    rotary_pct: 0.25,
    use_parallel_residual: true,
  },
} as const satisfies Record<string, Record<string, unknown>>;

export type TinyFamily = keyof typeof tinyFamilyConfigs;
export const tinyFamilies = Object.keys(tinyFamilyConfigs) as TinyFamily[];

/** Small random values; norm gains near their neutral value (Gemma stores gain − 1). */
function randomTensor(name: string, shape: number[], gemma: boolean, next: () => number): WritableTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const isGain = /norm\.weight$/.test(name);
  const isBias = name.endsWith('.bias');
  for (let i = 0; i < data.length; i++) {
    const r = next() - 0.5;
    data[i] = isGain ? (gemma ? 0 : 1) + 0.2 * r : isBias ? 0.1 * r : 0.3 * r;
  }
  return { dtype: 'F32', shape, data };
}

export interface TinyFamilyOptions {
  seed?: number;
  /** Copy the fixtures' small SentencePiece tokenizer (llama-bpe) and size the vocabulary for it. */
  withTokenizer?: boolean;
  /** config.json entries to change. */
  config?: Record<string, unknown>;
}

/** Writes the tiny model `name` into a new temporary folder; returns the folder. */
export async function writeTinyFamily(name: TinyFamily, options: TinyFamilyOptions = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `layercut-tiny-${name}-`));
  const tokenizerDir = path.join(fixturesDir, 'tokenizers', 'llama-bpe');
  const config: Record<string, unknown> = {
    ...tinyFamilyConfigs[name],
    ...(options.withTokenizer
      ? { vocab_size: 708, max_position_embeddings: 128, bos_token_id: 1, eos_token_id: 2 }
      : {}),
    ...options.config,
  };
  const family = families.find((f) => f.modelTypes.includes(config['model_type'] as string))!;
  const parsed = family.parseConfig(config);
  const random = mulberry32(options.seed ?? 3);
  const tensors: Record<string, WritableTensor> = {};
  const layers = Array.from({ length: parsed.numLayers }, (_, i) => i);
  for (const [key, shape] of family.expectedTensors(parsed, layers)) {
    const stored = key.startsWith('lm_head.') ? key : family.savePrefix + key;
    tensors[stored] = randomTensor(key, shape, config['model_type'] === 'gemma', () => random.next());
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (options.withTokenizer) {
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
      await copyFile(path.join(tokenizerDir, file), path.join(dir, file));
    }
  }
  return dir;
}
