/**
 * OPT, as Hugging Face's `OPTForCausalLM`: the pre-LayerNorm layout of OPT-125m and OPT-1.3B and
 * larger, and the post-LayerNorm layout with project_in/project_out of OPT-350m.
 *
 * Checkpoint keys (prefix "model.decoder." from `OPTForCausalLM`, "decoder." from `OPTModel`):
 *   embed_tokens.weight [V, E]      embed_positions.weight [P + 2, D] (learned, offset 2)
 *   project_in.weight [D, E], project_out.weight [E, D]   (only when E = word_embed_proj_dim ≠ D)
 *   final_layer_norm.{weight,bias} [D]                    (only pre-LN without _remove_final_layer_norm)
 *   layers.{i}.self_attn.{q,k,v,out}_proj.{weight [D, D], bias [D]}
 *   layers.{i}.self_attn_layer_norm.{weight,bias} [D]     layers.{i}.final_layer_norm.{weight,bias} [D]
 *   layers.{i}.fc1.{weight [F, D], bias [F]}              layers.{i}.fc2.{weight [D, F], bias [D]}
 *   lm_head.weight [V, E] at the root, only if untied.
 * Weights are nn.Linear's [out, in]. Pre-LN: h += attn(ln(h)); h += ffn(ln(h)).
 * Post-LN: h = ln(h + attn(h)); h = ln(h + ffn(h)).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigReader } from './config.js';
import { ACTIVATIONS, linearOutIn, type Activation } from './layers.js';
import { selfAttention } from '../runtime/ops/attention.js';
import { positionsFromMask } from '../runtime/ops/masks.js';
import { addLayerNorm, layerNorm } from '../runtime/ops/norms.js';
import { DecoderModel, withUntiedHead, type HeadWeights } from './decoder.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

export interface OptConfig extends FamilyConfig {
  heads: number;
  ffnSize: number;
  /** Width of token embeddings and the LM head (E); D when there is no projection. */
  wordEmbedProjDim: number;
  preLayerNorm: boolean;
  finalLayerNorm: boolean;
  layerNormAffine: boolean;
  bias: boolean;
  activation: Activation;
  tieWordEmbeddings: boolean;
}

/** OPT's learned positions start at index 2 (a fairseq legacy). */
const POSITION_OFFSET = 2;
/** nn.LayerNorm's default epsilon, which OPT uses. */
const LAYER_NORM_EPS = 1e-5;

const head: HeadWeights = { embeddings: 'embed_tokens.weight', untied: 'lm_head.weight' };

export const opt: ModelFamily<OptConfig> = {
  modelTypes: ['opt'],
  keyPrefixes: ['model.decoder.', 'decoder.', ''],
  probeTensor: 'embed_tokens.weight',
  savePrefix: 'model.decoder.',
  layerPrefix: (index) => `layers.${index}.`,
  numLayersKey: 'num_hidden_layers',

  parseConfig(json) {
    const read = new ConfigReader(json, 'opt');
    const hiddenSize = read.positiveInteger('hidden_size');
    const preLayerNorm = read.boolean('do_layer_norm_before', true);
    return {
      modelType: 'opt',
      numLayers: read.positiveInteger('num_hidden_layers'),
      hiddenSize,
      vocabSize: read.positiveInteger('vocab_size'),
      maxPositions: read.positiveInteger('max_position_embeddings'),
      heads: read.divisorOf('num_attention_heads', 'hidden_size', hiddenSize),
      ffnSize: read.positiveInteger('ffn_dim'),
      wordEmbedProjDim: read.positiveInteger('word_embed_proj_dim', hiddenSize),
      preLayerNorm,
      finalLayerNorm: preLayerNorm && !read.boolean('_remove_final_layer_norm', false),
      layerNormAffine: read.boolean('layer_norm_elementwise_affine', true),
      bias: read.boolean('enable_bias', true),
      activation: read.oneOf('activation_function', ACTIVATIONS, 'relu'),
      tieWordEmbeddings: read.boolean('tie_word_embeddings', true),
    };
  },

  expectedTensors(c, keptLayers) {
    const d = c.hiddenSize;
    const e = c.wordEmbedProjDim;
    const shapes = new Map<string, number[]>([
      ['embed_tokens.weight', [c.vocabSize, e]],
      ['embed_positions.weight', [c.maxPositions + POSITION_OFFSET, d]],
    ]);
    if (e !== d) shapes.set('project_in.weight', [d, e]).set('project_out.weight', [e, d]);
    const norm = (name: string) => {
      if (c.layerNormAffine) shapes.set(`${name}.weight`, [d]).set(`${name}.bias`, [d]);
    };
    const linear = (name: string, outF: number, inF: number) => {
      shapes.set(`${name}.weight`, [outF, inF]);
      if (c.bias) shapes.set(`${name}.bias`, [outF]);
    };
    for (const i of keptLayers) {
      const p = `layers.${i}.`;
      for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linear(`${p}self_attn.${proj}`, d, d);
      norm(`${p}self_attn_layer_norm`);
      linear(`${p}fc1`, c.ffnSize, d);
      linear(`${p}fc2`, d, c.ffnSize);
      norm(`${p}final_layer_norm`);
    }
    if (c.finalLayerNorm) norm('final_layer_norm');
    return withUntiedHead(shapes, c, head.untied, e);
  },

  build: (config, keptLayers, params): LanguageModel => new OptModel(opt, config, keptLayers, params),
};

class OptModel extends DecoderModel<OptConfig> {
  protected readonly headWeights = head;

  /** [B, T] → [B, T, D]: token embeddings (projected in when E ≠ D) + learned positions. */
  protected embed(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): tf.Tensor3D {
    let tokens: tf.Tensor = tf.gather(this.p('embed_tokens.weight'), inputIds); // [B, T, E]
    const projectIn = this.optional<tf.Rank.R2>('project_in.weight');
    if (projectIn) tokens = linearOutIn(tokens, projectIn); // [B, T, D]
    const positions = positionsFromMask(attentionMask, POSITION_OFFSET);
    return tf.add(tokens, tf.gather(this.p('embed_positions.weight'), positions));
  }

  private norm(name: string, h: tf.Tensor): tf.Tensor {
    return layerNorm(h, this.optional(`${name}.weight`), this.optional(`${name}.bias`), LAYER_NORM_EPS);
  }

  /** [h + residual, its norm] (norms.ts: addLayerNorm). */
  private addNorm(name: string, h: tf.Tensor, residual: tf.Tensor): [tf.Tensor, tf.Tensor] {
    return addLayerNorm(h, residual, this.optional(`${name}.weight`), this.optional(`${name}.bias`), LAYER_NORM_EPS);
  }

  private linear(name: string, x: tf.Tensor): tf.Tensor {
    return linearOutIn(x, this.p(`${name}.weight`), this.optional(`${name}.bias`));
  }

  /** One layer, pre- or post-LN: [B, T, D] → [B, T, D]. */
  protected block(layer: number, h: tf.Tensor3D, bias: tf.Tensor4D): tf.Tensor3D {
    const c = this.config;
    const p = `layers.${layer}.`;
    const headDim = c.hiddenSize / c.heads;

    let x: tf.Tensor = c.preLayerNorm ? this.norm(`${p}self_attn_layer_norm`, h) : h;
    // OPT scales the queries before the product; the same maths as scaling the scores.
    const q = tf.mul(this.linear(`${p}self_attn.q_proj`, x), 1 / Math.sqrt(headDim));
    const k = this.linear(`${p}self_attn.k_proj`, x);
    const v = this.linear(`${p}self_attn.v_proj`, x);
    const layout = { heads: c.heads, kvHeads: c.heads, headDim };
    const attended = selfAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, bias, layout, 1, true); // [B, T, D]
    const projected = this.linear(`${p}self_attn.out_proj`, attended);
    let out: tf.Tensor;
    if (c.preLayerNorm) [out, x] = this.addNorm(`${p}final_layer_norm`, h, projected); // h + attn, its norm
    else x = out = this.norm(`${p}self_attn_layer_norm`, tf.add(h, projected));
    const inner = this.act(this.linear(`${p}fc1`, x)); // [B, T, F]
    out = tf.add(out, this.linear(`${p}fc2`, inner));
    if (!c.preLayerNorm) out = this.norm(`${p}final_layer_norm`, out);
    return out as tf.Tensor3D;
  }

  headInput(hidden: tf.Tensor): tf.Tensor {
    let h = this.config.finalLayerNorm ? this.norm('final_layer_norm', hidden) : hidden;
    const projectOut = this.optional<tf.Rank.R2>('project_out.weight');
    if (projectOut) h = linearOutIn(h, projectOut); // [.., E]
    return h;
  }
}
