/**
 * config.json values of well-known hub models, so that `layercut plan` and `check` know their
 * depth and size offline, before anything is downloaded. Only the keys layercut's model
 * families read (src/models/gpt2.ts, opt.ts) are kept, with the values of the hub files.
 * A config in the local Hugging Face cache wins over this table.
 */

type ConfigJson = Readonly<Record<string, string | number | boolean>>;

function gpt2Config(layers: number, width: number, heads: number): ConfigJson {
  return {
    model_type: 'gpt2',
    n_layer: layers,
    n_embd: width,
    n_head: heads,
    n_positions: 1024,
    n_ctx: 1024,
    vocab_size: 50257,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    scale_attn_weights: true,
    tie_word_embeddings: true,
  };
}

function optConfig(
  layers: number,
  width: number,
  heads: number,
  ffn: number,
  extra: ConfigJson = {},
): ConfigJson {
  return {
    model_type: 'opt',
    num_hidden_layers: layers,
    hidden_size: width,
    num_attention_heads: heads,
    ffn_dim: ffn,
    max_position_embeddings: 2048,
    vocab_size: 50272,
    word_embed_proj_dim: width,
    do_layer_norm_before: true,
    activation_function: 'relu',
    enable_bias: true,
    layer_norm_elementwise_affine: true,
    _remove_final_layer_norm: false,
    tie_word_embeddings: true,
    ...extra,
  };
}

const gpt2 = gpt2Config(12, 768, 12);
const gpt2Medium = gpt2Config(24, 1024, 16);
const gpt2Large = gpt2Config(36, 1280, 20);
const gpt2Xl = gpt2Config(48, 1600, 25);
const distilgpt2 = gpt2Config(6, 768, 12);

/** Hub repository id (the current id and the legacy one) → config.json values. */
export const knownConfigs: Readonly<Record<string, ConfigJson>> = {
  'openai-community/gpt2': gpt2,
  gpt2,
  'openai-community/gpt2-medium': gpt2Medium,
  'gpt2-medium': gpt2Medium,
  'openai-community/gpt2-large': gpt2Large,
  'gpt2-large': gpt2Large,
  'openai-community/gpt2-xl': gpt2Xl,
  'gpt2-xl': gpt2Xl,
  'distilbert/distilgpt2': distilgpt2,
  distilgpt2,
  'facebook/opt-125m': optConfig(12, 768, 12, 3072),
  // OPT-350m: post-LayerNorm, 512-wide embeddings projected in and out of the 1024-wide layers.
  'facebook/opt-350m': optConfig(24, 1024, 16, 4096, {
    word_embed_proj_dim: 512,
    do_layer_norm_before: false,
  }),
  'facebook/opt-1.3b': optConfig(24, 2048, 32, 8192),
  'facebook/opt-2.7b': optConfig(32, 2560, 32, 10240),
  'facebook/opt-6.7b': optConfig(32, 4096, 32, 16384),
  'facebook/opt-13b': optConfig(40, 5120, 40, 20480),
};

/** The known config.json of hub repository `repo`, if layercut has one. */
export function knownConfig(repo: string): Record<string, unknown> | undefined {
  const config = knownConfigs[repo];
  return config ? { ...config } : undefined;
}
