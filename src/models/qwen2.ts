/**
 * Qwen2 and Qwen2.5 (`qwen2`), as Hugging Face's `Qwen2ForCausalLM`: the Llama-like decoder
 * (llama-like.ts) with biases on q_proj, k_proj and v_proj (none on o_proj or the MLP) and
 * optional sliding-window attention on the upper layers (shared with Qwen3, qwen3.ts).
 *
 * config.json read: the Llama-like sizes and rotary settings, tie_word_embeddings (true for the
 * small sizes), rms_norm_eps, hidden_act, and use_sliding_window,
 * sliding_window, max_window_layers (layers ≥ it slide) or layer_types ("full_attention" /
 * "sliding_attention" per layer, which wins when present). Saving a cut keeps each kept layer's
 * attention type: layer_types is cut with the layers and max_window_layers counts the kept
 * full-attention layers below it.
 */
import { ConfigError, ConfigReader } from './config.js';
import { LLAMA_OPTIONS, llamaLikeFamily, readLlamaLikeBase, type LlamaLikeConfig } from './llama-like.js';

const LAYER_TYPES = ['full_attention', 'sliding_attention'];

/** The sliding window of a Qwen config.json and the layers that use it. */
export function qwenWindow(
  json: Record<string, unknown>,
  family: string,
  numLayers: number,
): LlamaLikeConfig['slidingWindow'] {
  const read = new ConfigReader(json, family);
  const types = json['layer_types'];
  if (types != null) {
    if (!Array.isArray(types) || types.length !== numLayers || types.some((t) => !LAYER_TYPES.includes(t as string))) {
      throw new ConfigError(
        `${family}: config.json 'layer_types' should list "full_attention" or "sliding_attention" for each of the ${numLayers} layers, got ${JSON.stringify(types)}`,
      );
    }
  }
  if (!read.boolean('use_sliding_window', false) || json['sliding_window'] == null) return null;
  const size = read.positiveInteger('sliding_window');
  const firstSliding = read.integer('max_window_layers', 28);
  const layers = Array.from({ length: numLayers }, (_, i) => i).filter((i) =>
    types != null ? (types as string[])[i] === 'sliding_attention' : i >= firstSliding,
  );
  return layers.length > 0 ? { size, layers } : null;
}

/** max_window_layers of a saved cut: the kept layers below the original bound keep full attention. */
export function savedWindowConfig(source: Record<string, unknown>, _config: LlamaLikeConfig, kept: number[]) {
  const bound = source['max_window_layers'];
  return typeof bound === 'number' ? { max_window_layers: kept.filter((layer) => layer < bound).length } : {};
}

export const qwen2 = llamaLikeFamily(
  'qwen2',
  (json): LlamaLikeConfig => {
    const base = readLlamaLikeBase(json, 'qwen2', { rmsNormEps: 1e-6, activation: 'silu', tieWordEmbeddings: false });
    return {
      ...base,
      ...LLAMA_OPTIONS,
      qkvBias: true,
      slidingWindow: qwenWindow(json, 'qwen2', base.numLayers),
    };
  },
  { savedConfig: savedWindowConfig },
);
