/**
 * Llama (Llama 2, Llama 3 / 3.1 / 3.2 and their many fine-tunes), as Hugging Face's
 * `LlamaForCausalLM`. The layout and forward pass are the shared Llama-like decoder
 * (llama-like.ts): separate q/k/v/o projections, a SiLU-gated MLP, RMSNorm, rotary positions.
 *
 * config.json read: hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads,
 * head_dim, intermediate_size, vocab_size, max_position_embeddings, rms_norm_eps, hidden_act,
 * tie_word_embeddings (Llama 3.2: true), attention_bias (q, k, v and o biases), mlp_bias, and the
 * rotary settings (rotary.ts: rope_theta, e.g. 500000 for Llama 3; rope_type "llama3" for 3.1+,
 * "linear", "dynamic").
 */
import { ConfigReader } from './config.js';
import { LLAMA_OPTIONS, llamaLikeFamily, readLlamaLikeBase, type LlamaLikeConfig } from './llama-like.js';

export const llama = llamaLikeFamily('llama', (json): LlamaLikeConfig => {
  const read = new ConfigReader(json, 'llama');
  const attentionBias = read.boolean('attention_bias', false);
  return {
    ...readLlamaLikeBase(json, 'llama', { rmsNormEps: 1e-6, activation: 'silu', tieWordEmbeddings: false }),
    ...LLAMA_OPTIONS,
    qkvBias: attentionBias,
    outputBias: attentionBias,
    mlpBias: read.boolean('mlp_bias', false),
  };
});
