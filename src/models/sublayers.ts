/**
 * Where the two sublayers of a pre-norm layer live, as paths inside the layer, for the families
 * where "remove the attention (or the MLP) of layer i" has a meaning: a pre-norm layer computes
 * h + attn(norm₁(h)) then h + mlp(norm₂(h)), so a sublayer can go and leave the residual stream
 * as it was (its norm goes with it). Post-norm families (BERT, RoBERTa, OPT-350m) normalise the
 * sum itself: there is nothing to remove without changing what the rest computes.
 * No tensors here: the compiler reads it too.
 */
import type { FamilyConfig } from './types.js';

export interface SublayerLayout {
  /** The norm before attention ('ln_1'). */
  attentionNorm: string;
  /** Attention's output projection ('attn.c_proj'): its output is what attention adds. */
  attentionOutput: string;
  /** The norm before the MLP ('ln_2'). */
  mlpNorm: string;
  /** The MLP's output projection ('mlp.c_proj'): its output is what the MLP adds. */
  mlpOutput: string;
  /** Prefixes of every parameter of each sublayer, its norm included ('ln_1.', 'attn.'). */
  attentionParams: string[];
  mlpParams: string[];
}

type Paths = Pick<SublayerLayout, 'attentionNorm' | 'attentionOutput' | 'mlpNorm' | 'mlpOutput'>;

/**
 * A layout from its four paths: each sublayer's parameters are its norm's and those of the module
 * that holds its output projection ('attn' for 'attn.c_proj'), or of `mlpModules` where the MLP's
 * projections are not inside one module (OPT's fc1 and fc2).
 */
function layoutFrom(paths: Paths, mlpModules: string[] = [paths.mlpOutput.split('.')[0]!]): SublayerLayout {
  return {
    ...paths,
    attentionParams: [`${paths.attentionNorm}.`, `${paths.attentionOutput.split('.')[0]!}.`],
    mlpParams: [`${paths.mlpNorm}.`, ...mlpModules.map((module) => `${module}.`)],
  };
}

/** Llama and the families that share its decoder (src/models/llama-like.ts). */
const LLAMA_LIKE = layoutFrom({
  attentionNorm: 'input_layernorm',
  attentionOutput: 'self_attn.o_proj',
  mlpNorm: 'post_attention_layernorm',
  mlpOutput: 'mlp.down_proj',
});

const LAYOUTS: Record<string, SublayerLayout> = {
  gpt2: layoutFrom({ attentionNorm: 'ln_1', attentionOutput: 'attn.c_proj', mlpNorm: 'ln_2', mlpOutput: 'mlp.c_proj' }),
  opt: layoutFrom(
    {
      attentionNorm: 'self_attn_layer_norm',
      attentionOutput: 'self_attn.out_proj',
      mlpNorm: 'final_layer_norm',
      mlpOutput: 'fc2',
    },
    ['fc1', 'fc2'],
  ),
  llama: LLAMA_LIKE,
  qwen2: LLAMA_LIKE,
  qwen3: LLAMA_LIKE,
  mistral: LLAMA_LIKE,
  phi3: LLAMA_LIKE,
  gemma: LLAMA_LIKE,
  // parallel (h + attn(n₁(h)) + mlp(n₂(h))) or sequential residual: either way each sublayer adds its output
  gpt_neox: layoutFrom({
    attentionNorm: 'input_layernorm',
    attentionOutput: 'attention.dense',
    mlpNorm: 'post_attention_layernorm',
    mlpOutput: 'mlp.dense_4h_to_h',
  }),
};

/** The layout of a model's sublayers, or a sentence saying why it has none. */
export function sublayerLayout(config: FamilyConfig): SublayerLayout | string {
  const layout = LAYOUTS[config.modelType];
  if (config.modelType === 'bert' || config.modelType === 'roberta')
    return `${config.modelType} is post-LayerNorm (each sublayer's sum is normalised): its sublayers cannot be removed alone`;
  if (!layout) return `layercut does not know the sublayers of ${config.modelType} models`;
  if ('preLayerNorm' in config && config.preLayerNorm === false)
    return `${config.modelType} with post-LayerNorm (do_layer_norm_before false) normalises each sublayer's sum: its sublayers cannot be removed alone`;
  return layout;
}
