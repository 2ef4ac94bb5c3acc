/**
 * Phi-3 and Phi-3.5 / Phi-4-mini (`phi3`), as Hugging Face's `Phi3ForCausalLM`: the Llama-like
 * decoder (llama-like.ts) with fused projections and no biases:
 *   layers.{i}.self_attn.qkv_proj.weight [(H + 2·Hkv)·Dh, D]   rows: queries | keys | values
 *   layers.{i}.mlp.gate_up_proj.weight [2F, D]                 rows: gate | up
 * and optionally partial rotary embeddings (partial_rotary_factor: the first fraction of each head
 * rotates) and a sliding window on every layer.
 *
 * config.json read: the Llama-like sizes and rotary settings (rope_type "default" or "longrope" —
 * also spelt "su" or "yarn" — with original_max_position_embeddings, 4096 when absent),
 * partial_rotary_factor, rms_norm_eps, hidden_act, tie_word_embeddings, sliding_window (null or
 * absent: full causal attention).
 */
import { everyLayerWindow, LLAMA_OPTIONS, llamaLikeFamily, readLlamaLikeBase, type LlamaLikeConfig } from './llama-like.js';
import { LLAMA_ROTARY_KEYS, type RotaryKeys } from './rotary.js';

/** transformers' Phi3Config: rope_type "default" or "longrope" ("su" and "yarn" read as it). */
export const PHI3_ROTARY_KEYS: RotaryKeys = {
  ...LLAMA_ROTARY_KEYS,
  types: ['default', 'longrope'],
  aliases: { su: 'longrope', yarn: 'longrope' },
  originalMaxPositionsDefault: 4096,
};

export const phi3 = llamaLikeFamily('phi3', (json): LlamaLikeConfig => {
  const base = readLlamaLikeBase(json, 'phi3', {
    rmsNormEps: 1e-5,
    activation: 'silu',
    tieWordEmbeddings: false,
    rotaryKeys: PHI3_ROTARY_KEYS,
  });
  return {
    ...base,
    ...LLAMA_OPTIONS,
    slidingWindow: everyLayerWindow(json, 'phi3', base.numLayers, null),
    fusedProjections: true,
  };
});
