/**
 * GPT-NeoX and Pythia (`gpt_neox`), as Hugging Face's `GPTNeoXForCausalLM`.
 *
 * Checkpoint keys, kept whole as parameter names (the output matrix sits beside "gpt_neox."):
 *   gpt_neox.embed_in.weight [V, D]   gpt_neox.final_layer_norm.{weight,bias} [D]
 *   embed_out.weight [V, D] (only if untied)
 *   under gpt_neox.layers.{i}.:
 *     input_layernorm.{weight,bias} [D]            post_attention_layernorm.{weight,bias} [D]
 *     attention.query_key_value.weight [3D, D]      (bias [3D] if attention_bias)
 *     attention.dense.weight [D, D]                 (bias [D] if attention_bias)
 *     mlp.dense_h_to_4h.{weight [F, D], bias [F]}   mlp.dense_4h_to_h.{weight [D, F], bias [D]}
 * Weights are nn.Linear's [out, in]. The fused QKV is laid out per head: its 3D outputs are H
 * groups of (q, k, v), each Dh wide. Rotary embeddings turn only the first Dr = Dh · rotary_pct
 * values of each head (partial rotary). Blocks are pre-LayerNorm, the residual parallel or not:
 *   use_parallel_residual:  h = h + attn(ln1(h)) + mlp(ln2(h))
 *   otherwise:              h = h + attn(ln1(h));  h = h + mlp(ln2(h))
 * then final_layer_norm, then logits = h · embed_outᵀ.
 *
 * config.json read: hidden_size, num_hidden_layers, num_attention_heads (dividing hidden_size),
 * intermediate_size, vocab_size, max_position_embeddings, layer_norm_eps, hidden_act,
 * use_parallel_residual, attention_bias, tie_word_embeddings, and the rotary settings (rotary.ts:
 * rotary_pct and rotary_emb_base, or rope_parameters' partial_rotary_factor and rope_theta).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigReader } from './config.js';
import { DecoderModel, withUntiedHead, type HeadWeights, type LayerExtras } from './decoder.js';
import { ACTIVATIONS, linearOutIn, type Activation } from './layers.js';
import { selfAttention } from '../runtime/ops/attention.js';
import { positionsFromMask } from '../runtime/ops/masks.js';
import { layerNorm } from '../runtime/ops/norms.js';
import { applyRotary, readRotary, rotaryTables, type RotarySpec } from './rotary.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

export interface GptNeoxConfig extends FamilyConfig {
  heads: number;
  intermediateSize: number;
  layerNormEps: number;
  activation: Activation;
  rotary: RotarySpec;
  parallelResidual: boolean;
  attentionBias: boolean;
  tieWordEmbeddings: boolean;
}

const BASE = 'gpt_neox.';
const head: HeadWeights = { embeddings: `${BASE}embed_in.weight`, untied: 'embed_out.weight' };

export const gptNeox: ModelFamily<GptNeoxConfig> = {
  modelTypes: ['gpt_neox'],
  keyPrefixes: [''],
  probeTensor: `${BASE}embed_in.weight`,
  savePrefix: '',
  layerPrefix: (index) => `${BASE}layers.${index}.`,
  numLayersKey: 'num_hidden_layers',

  parseConfig(json) {
    const read = new ConfigReader(json, 'gpt_neox');
    const hiddenSize = read.positiveInteger('hidden_size');
    const heads = read.divisorOf('num_attention_heads', 'hidden_size', hiddenSize);
    return {
      modelType: 'gpt_neox',
      numLayers: read.positiveInteger('num_hidden_layers'),
      hiddenSize,
      vocabSize: read.positiveInteger('vocab_size'),
      maxPositions: read.positiveInteger('max_position_embeddings'),
      heads,
      intermediateSize: read.positiveInteger('intermediate_size'),
      layerNormEps: read.positiveNumber('layer_norm_eps', 1e-5),
      activation: read.oneOf('hidden_act', ACTIVATIONS, 'gelu'),
      rotary: readRotary(json, 'gpt_neox', hiddenSize / heads, {
        thetaKey: 'rotary_emb_base',
        thetaDefault: 10000,
        fractionKey: 'rotary_pct',
        fractionDefault: 0.25,
      }),
      parallelResidual: read.boolean('use_parallel_residual', true),
      attentionBias: read.boolean('attention_bias', true),
      tieWordEmbeddings: read.boolean('tie_word_embeddings', false),
    };
  },

  expectedTensors(c, keptLayers) {
    const d = c.hiddenSize;
    const f = c.intermediateSize;
    const shapes = new Map<string, number[]>([[`${BASE}embed_in.weight`, [c.vocabSize, d]]]);
    const linear = (name: string, outF: number, inF: number, bias: boolean) => {
      shapes.set(`${name}.weight`, [outF, inF]);
      if (bias) shapes.set(`${name}.bias`, [outF]);
    };
    for (const i of keptLayers) {
      const p = `${BASE}layers.${i}.`;
      shapes.set(`${p}input_layernorm.weight`, [d]).set(`${p}input_layernorm.bias`, [d]);
      shapes.set(`${p}post_attention_layernorm.weight`, [d]).set(`${p}post_attention_layernorm.bias`, [d]);
      linear(`${p}attention.query_key_value`, 3 * d, d, c.attentionBias);
      linear(`${p}attention.dense`, d, d, c.attentionBias);
      linear(`${p}mlp.dense_h_to_4h`, f, d, true);
      linear(`${p}mlp.dense_4h_to_h`, d, f, true);
    }
    shapes.set(`${BASE}final_layer_norm.weight`, [d]).set(`${BASE}final_layer_norm.bias`, [d]);
    return withUntiedHead(shapes, c, head.untied, d);
  },

  build: (config, keptLayers, params): LanguageModel => new GptNeoxModel(gptNeox, config, keptLayers, params),
};

class GptNeoxModel extends DecoderModel<GptNeoxConfig> {
  protected readonly headWeights = head;

  private linear(name: string, x: tf.Tensor): tf.Tensor {
    return linearOutIn(
      x,
      this.p(`${name}.weight`),
      this.optional(`${name}.bias`),
    );
  }

  private norm(name: string, x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.p(`${name}.weight`), this.p(`${name}.bias`), this.config.layerNormEps);
  }

  /** Token embeddings only: positions enter through the rotary angles. [B, T] → [B, T, D]. */
  protected embed(inputIds: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.p(`${BASE}embed_in.weight`), inputIds);
  }

  protected override layerExtras(attentionMask: tf.Tensor2D): LayerExtras {
    return { rotary: rotaryTables(positionsFromMask(attentionMask), this.config.rotary) };
  }

  /** Self-attention of layer prefix `p` on its normed input x: [B, T, D] → [B, T, D]. */
  private attentionSublayer(p: string, x: tf.Tensor, bias: tf.Tensor4D, extras: LayerExtras): tf.Tensor {
    const c = this.config;
    const [batch, seq] = x.shape as [number, number, number];
    const headDim = c.hiddenSize / c.heads;
    const qkv = this.linear(`${p}attention.query_key_value`, x).reshape([batch, seq, c.heads, 3 * headDim]);
    const { cos, sin } = extras.rotary!;
    // laid out per head: each head's q, k and v side by side; rotated with the heads in place
    const [q, k, v] = tf.split(qkv, 3, 3).map((part, index) => {
      const heads = index < 2 ? applyRotary(part as tf.Tensor4D, cos, sin) : part; // [B, T, H, Dh]
      return heads.reshape([batch, seq, c.hiddenSize]) as tf.Tensor3D;
    });
    const layout = { heads: c.heads, kvHeads: c.heads, headDim };
    const attended = selfAttention(q!, k!, v!, bias, layout, 1 / Math.sqrt(headDim), true); // [B, T, D]
    return this.linear(`${p}attention.dense`, attended);
  }

  /** One pre-LayerNorm block with a parallel or sequential residual: [B, T, D] → [B, T, D]. */
  protected block(layer: number, h: tf.Tensor3D, bias: tf.Tensor4D, extras: LayerExtras): tf.Tensor3D {
    const p = `${BASE}layers.${layer}.`;
    const mlp = (y: tf.Tensor) => this.linear(`${p}mlp.dense_4h_to_h`, this.act(this.linear(`${p}mlp.dense_h_to_4h`, y)));
    const attended = this.attentionSublayer(p, this.norm(`${p}input_layernorm`, h), bias, extras);
    if (this.config.parallelResidual) {
      return tf.add(tf.add(h, attended), mlp(this.norm(`${p}post_attention_layernorm`, h)));
    }
    const afterAttention = tf.add(h, attended);
    return tf.add(afterAttention, mlp(this.norm(`${p}post_attention_layernorm`, afterAttention)));
  }

  headInput(hidden: tf.Tensor): tf.Tensor {
    return this.norm(`${BASE}final_layer_norm`, hidden);
  }
}
