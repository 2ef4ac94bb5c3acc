/**
 * Mistral (`mistral`), as Hugging Face's `MistralForCausalLM`: the Llama-like decoder
 * (llama-like.ts) without biases, and sliding-window attention on every layer — each token sees
 * itself and the sliding_window − 1 tokens before it — exact for sequences longer than the window.
 *
 * config.json read: the Llama-like sizes and rotary settings, head_dim (Mistral-Nemo: 128 ≠ D/H),
 * rms_norm_eps, hidden_act, tie_word_embeddings, sliding_window (null: full causal attention, as
 * Mistral 7B v0.2 and later; absent: 4096, transformers' default).
 */
import { everyLayerWindow, LLAMA_OPTIONS, llamaLikeFamily, readLlamaLikeBase, type LlamaLikeConfig } from './llama-like.js';

export const mistral = llamaLikeFamily('mistral', (json): LlamaLikeConfig => {
  const base = readLlamaLikeBase(json, 'mistral', { rmsNormEps: 1e-6, activation: 'silu', tieWordEmbeddings: false });
  return {
    ...base,
    ...LLAMA_OPTIONS,
    slidingWindow: everyLayerWindow(json, 'mistral', base.numLayers, 4096),
  };
});
