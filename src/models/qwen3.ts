/**
 * Qwen3 (`qwen3`), as Hugging Face's `Qwen3ForCausalLM`: the Llama-like decoder (llama-like.ts)
 * with an RMSNorm over each head's queries and keys (self_attn.q_norm / k_norm, [Dh]) before the
 * rotation, head_dim given explicitly (128 when absent), biases on q/k/v/o only with
 * attention_bias, and Qwen2's optional sliding window (qwen2.ts).
 *
 * config.json read: the Llama-like sizes and rotary settings, head_dim, tie_word_embeddings,
 * rms_norm_eps (also the q/k norms'), hidden_act, attention_bias, use_sliding_window,
 * sliding_window, max_window_layers, layer_types.
 */
import { ConfigReader } from './config.js';
import { LLAMA_OPTIONS, llamaLikeFamily, readLlamaLikeBase, type LlamaLikeConfig } from './llama-like.js';
import { qwenWindow, savedWindowConfig } from './qwen2.js';

export const qwen3 = llamaLikeFamily(
  'qwen3',
  (json): LlamaLikeConfig => {
    const base = readLlamaLikeBase(json, 'qwen3', {
      headDim: 128,
      rmsNormEps: 1e-6,
      activation: 'silu',
      tieWordEmbeddings: false,
    });
    const attentionBias = new ConfigReader(json, 'qwen3').boolean('attention_bias', false);
    return {
      ...base,
      ...LLAMA_OPTIONS,
      qkvBias: attentionBias,
      outputBias: attentionBias,
      slidingWindow: qwenWindow(json, 'qwen3', base.numLayers),
      qkNorm: true,
    };
  },
  { savedConfig: savedWindowConfig },
);
