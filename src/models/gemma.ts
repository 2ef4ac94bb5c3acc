/**
 * Gemma (`gemma`, the first generation), as Hugging Face's `GemmaForCausalLM`: the Llama-like
 * decoder (llama-like.ts) with embeddings scaled by √D, RMSNorm gains stored as w and applied as
 * (1 + w), a GELU-tanh gated MLP, usually multi-query attention (Gemma 2B: one key/value head),
 * head_dim 256 ≠ D / H, and tied embeddings.
 *
 * config.json read: the Llama-like sizes and rotary settings, head_dim (256 when absent),
 * hidden_act (gelu_pytorch_tanh when absent; hidden_activation is ignored, as transformers 5 does),
 * rms_norm_eps,
 * attention_bias (q, k, v and o), tie_word_embeddings (true when absent). Gemma 2 and 3
 * (`gemma2`, `gemma3_text`: logit soft-capping, alternating local/global layers) are other
 * model_types, not read.
 */
import { ConfigError, ConfigReader } from './config.js';
import { LLAMA_OPTIONS, llamaLikeFamily, readLlamaLikeBase, type LlamaLikeConfig } from './llama-like.js';

export const gemma = llamaLikeFamily('gemma', (json): LlamaLikeConfig => {
  const read = new ConfigReader(json, 'gemma');
  if (read.boolean('use_adarms', false)) {
    throw new ConfigError(
      "gemma: config.json 'use_adarms' true (adaptive RMSNorm) is not supported",
      'layercut reads Gemma with plain (1 + w) RMSNorms: set use_adarms false',
    );
  }
  if (read.boolean('use_bidirectional_attention', false)) {
    throw new ConfigError(
      "gemma: config.json 'use_bidirectional_attention' true (an encoder, as for embedding models) is not supported",
      'layercut reads Gemma as a causal language model: set use_bidirectional_attention false or null',
    );
  }
  // transformers 5 runs hidden_act and ignores hidden_activation (checked: gemma-tiny-act)
  const base = readLlamaLikeBase(json, 'gemma', {
    headDim: 256,
    rmsNormEps: 1e-6,
    activation: 'gelu_pytorch_tanh',
    tieWordEmbeddings: true,
  });
  const attentionBias = read.boolean('attention_bias', false);
  return {
    ...base,
    ...LLAMA_OPTIONS,
    qkvBias: attentionBias,
    outputBias: attentionBias,
    gemmaScaling: true,
  };
});
