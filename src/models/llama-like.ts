/**
 * The decoder that Llama, Qwen2, Qwen3, Mistral, Phi-3 and Gemma share, with the options by which
 * they differ. Each family file (llama.ts, qwen2.ts, …) reads its config.json into a
 * `LlamaLikeConfig` and documents its checkpoint; the layout and the forward pass live here.
 *
 * Checkpoint keys (prefix "model." from `…ForCausalLM`, none from the bare `…Model`):
 *   embed_tokens.weight [V, D]   norm.weight [D]   lm_head.weight [V, D] at the root (only if untied)
 *   layers.{i}.input_layernorm.weight [D]            layers.{i}.post_attention_layernorm.weight [D]
 *   layers.{i}.self_attn.q_proj.weight [H·Dh, D]     layers.{i}.self_attn.{k,v}_proj.weight [Hkv·Dh, D]
 *     or, fused (Phi-3): layers.{i}.self_attn.qkv_proj.weight [(H + 2·Hkv)·Dh, D], rows q | k | v
 *   layers.{i}.self_attn.o_proj.weight [D, H·Dh]
 *   layers.{i}.self_attn.{q,k}_norm.weight [Dh]      (Qwen3 only)
 *   layers.{i}.mlp.{gate,up}_proj.weight [F, D]      layers.{i}.mlp.down_proj.weight [D, F]
 *     or, fused (Phi-3): layers.{i}.mlp.gate_up_proj.weight [2F, D], rows gate | up
 *   with a bias [out] beside a weight where the config says so (q/k/v, o, MLP separately).
 * Weights are nn.Linear's [out, in]. Blocks are pre-RMSNorm:
 *   x = norm(h);  q, k, v = proj(x);  (q, k = qk_norm(q), qk_norm(k));  q, k = rope(q), rope(k)
 *   h = h + o_proj(attn(q, k, v))  (causal, or a sliding window on some layers)
 *   h = h + down(act(gate(y)) · up(y)) with y = norm(h);  then norm, then logits = h · lm_headᵀ.
 * Keys and values may have fewer heads than queries (grouped-query attention: Hkv divides H).
 * Gemma scales the embeddings by √D and stores each RMSNorm gain as w, applied as (1 + w).
 */
import * as tf from '@tensorflow/tfjs';
import { deviceScalar } from '../runtime/constants.js';
import { ConfigReader } from './config.js';
import { DecoderModel, withUntiedHead, type HeadWeights, type LayerExtras } from './decoder.js';
import { ACTIVATIONS, linearOutIn, type Activation } from './layers.js';
import { selfAttention } from '../runtime/ops/attention.js';
import { causalMaskBias, positionsFromMask } from '../runtime/ops/masks.js';
import { rmsNorm } from '../runtime/ops/norms.js';
import { applyRotary, readRotary, rotaryTables, type RotaryKeys, type RotarySpec } from './rotary.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

export interface LlamaLikeConfig extends FamilyConfig {
  heads: number;
  /** Key/value heads (Hkv); equals `heads` without grouped-query attention. */
  kvHeads: number;
  /** Width of one attention head (Dh). */
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  activation: Activation;
  rotary: RotarySpec;
  /** Biases on the query, key and value projections. */
  qkvBias: boolean;
  /** Bias on o_proj. */
  outputBias: boolean;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  /** Sliding-window attention: the window and the layers (original indices) that use it; null: none. */
  slidingWindow: { size: number; layers: number[] } | null;
  /** Qwen3: RMSNorm over each head's queries and keys (q_norm, k_norm) before the rotation. */
  qkNorm: boolean;
  /** Gemma: embeddings × √D, and RMSNorm gains applied as (1 + w). */
  gemmaScaling: boolean;
  /** Phi-3: qkv_proj and gate_up_proj instead of q/k/v_proj and gate/up_proj. */
  fusedProjections: boolean;
}

/** The parts of a Llama-like config.json every family reads the same way, with family defaults. */
export interface LlamaLikeDefaults {
  /** head_dim when config.json has none (undefined: hidden_size / num_attention_heads). */
  headDim?: number;
  rmsNormEps: number;
  activation: Activation;
  tieWordEmbeddings: boolean;
  rotaryKeys?: RotaryKeys;
}

/** What every Llama-like config.json holds: sizes, heads, norm, activation, rotary. */
export type LlamaLikeBase = Omit<
  LlamaLikeConfig,
  'qkvBias' | 'outputBias' | 'mlpBias' | 'slidingWindow' | 'qkNorm' | 'gemmaScaling' | 'fusedProjections'
>;

/** The options by which a Llama-like family differs from Llama (see `LLAMA_OPTIONS`). */
export type LlamaLikeOptions = Omit<LlamaLikeConfig, keyof LlamaLikeBase>;

/**
 * Llama's own options: no biases (unless config.json asks), no sliding window, no q/k norm, no
 * Gemma scaling, separate projections. A family file spreads them and states only where it differs.
 */
export const LLAMA_OPTIONS: Readonly<LlamaLikeOptions> = {
  qkvBias: false,
  outputBias: false,
  mlpBias: false,
  slidingWindow: null,
  qkNorm: false,
  gemmaScaling: false,
  fusedProjections: false,
};

/**
 * Reads and checks the shared part of a Llama-like config.json (`family` names it in errors).
 */
export function readLlamaLikeBase(
  json: Record<string, unknown>,
  family: string,
  defaults: LlamaLikeDefaults,
): LlamaLikeBase {
  const read = new ConfigReader(json, family);
  const hiddenSize = read.positiveInteger('hidden_size');
  // without head_dim, a head is hidden_size / heads wide: the heads must divide the width
  const headDimGiven = json['head_dim'] != null || defaults.headDim !== undefined;
  const heads = headDimGiven
    ? read.positiveInteger('num_attention_heads')
    : read.divisorOf('num_attention_heads', 'hidden_size', hiddenSize);
  const kvHeads = read.divisorOf('num_key_value_heads', 'num_attention_heads', heads, heads);
  const headDim = read.positiveInteger('head_dim', defaults.headDim ?? hiddenSize / heads);
  return {
    modelType: family,
    numLayers: read.positiveInteger('num_hidden_layers'),
    hiddenSize,
    vocabSize: read.positiveInteger('vocab_size'),
    maxPositions: read.positiveInteger('max_position_embeddings'),
    heads,
    kvHeads,
    headDim,
    intermediateSize: read.positiveInteger('intermediate_size'),
    rmsNormEps: read.positiveNumber('rms_norm_eps', defaults.rmsNormEps),
    activation: read.oneOf('hidden_act', ACTIVATIONS, defaults.activation),
    rotary: readRotary(json, family, headDim, defaults.rotaryKeys),
    tieWordEmbeddings: read.boolean('tie_word_embeddings', defaults.tieWordEmbeddings),
  };
}

/**
 * A sliding window that covers every layer (Mistral, Phi-3): config.json's `sliding_window`, none
 * where it is null, the family's `absent` value where config.json has no such key.
 */
export function everyLayerWindow(
  json: Record<string, unknown>,
  family: string,
  numLayers: number,
  absent: number | null,
): LlamaLikeConfig['slidingWindow'] {
  const value = json['sliding_window'];
  if (value === null || (value === undefined && absent === null)) return null;
  const size = new ConfigReader(json, family).positiveInteger('sliding_window', absent ?? undefined);
  return { size, layers: Array.from({ length: numLayers }, (_, i) => i) };
}

const head: HeadWeights = { embeddings: 'embed_tokens.weight', untied: 'lm_head.weight' };

/** Every parameter of a Llama-like model with these kept layers, with its shape. */
export function llamaLikeTensors(c: LlamaLikeConfig, keptLayers: number[]): Map<string, number[]> {
  const d = c.hiddenSize;
  const qWidth = c.heads * c.headDim;
  const kvWidth = c.kvHeads * c.headDim;
  const f = c.intermediateSize;
  const shapes = new Map<string, number[]>([['embed_tokens.weight', [c.vocabSize, d]]]);
  const linear = (name: string, outF: number, inF: number, bias: boolean) => {
    shapes.set(`${name}.weight`, [outF, inF]);
    if (bias) shapes.set(`${name}.bias`, [outF]);
  };
  for (const i of keptLayers) {
    const p = `layers.${i}.`;
    shapes.set(`${p}input_layernorm.weight`, [d]);
    if (c.fusedProjections) {
      linear(`${p}self_attn.qkv_proj`, qWidth + 2 * kvWidth, d, c.qkvBias);
    } else {
      linear(`${p}self_attn.q_proj`, qWidth, d, c.qkvBias);
      linear(`${p}self_attn.k_proj`, kvWidth, d, c.qkvBias);
      linear(`${p}self_attn.v_proj`, kvWidth, d, c.qkvBias);
    }
    linear(`${p}self_attn.o_proj`, d, qWidth, c.outputBias);
    if (c.qkNorm) {
      shapes.set(`${p}self_attn.q_norm.weight`, [c.headDim]);
      shapes.set(`${p}self_attn.k_norm.weight`, [c.headDim]);
    }
    shapes.set(`${p}post_attention_layernorm.weight`, [d]);
    if (c.fusedProjections) {
      linear(`${p}mlp.gate_up_proj`, 2 * f, d, c.mlpBias);
    } else {
      linear(`${p}mlp.gate_proj`, f, d, c.mlpBias);
      linear(`${p}mlp.up_proj`, f, d, c.mlpBias);
    }
    linear(`${p}mlp.down_proj`, d, f, c.mlpBias);
  }
  shapes.set('norm.weight', [d]);
  return withUntiedHead(shapes, c, head.untied, d);
}

/** The ModelFamily of a Llama-like model_type whose config.json `parseConfig` reads. */
export function llamaLikeFamily(
  modelType: string,
  parseConfig: (json: Record<string, unknown>) => LlamaLikeConfig,
  extra: Pick<ModelFamily<LlamaLikeConfig>, "savedConfig"> = {},
): ModelFamily<LlamaLikeConfig> {
  const family: ModelFamily<LlamaLikeConfig> = {
    modelTypes: [modelType],
    keyPrefixes: ['model.', ''],
    probeTensor: 'embed_tokens.weight',
    savePrefix: 'model.',
    layerPrefix: (index) => `layers.${index}.`,
    numLayersKey: 'num_hidden_layers',
    parseConfig,
    expectedTensors: llamaLikeTensors,
    build: (config, keptLayers, params): LanguageModel => new LlamaLikeModel(family, config, keptLayers, params),
    ...extra,
  };
  return family;
}

class LlamaLikeModel extends DecoderModel<LlamaLikeConfig> {
  protected readonly headWeights = head;
  private readonly slidingLayers: ReadonlySet<number> = new Set(this.config.slidingWindow?.layers ?? []);

  private linear(name: string, x: tf.Tensor): tf.Tensor {
    return linearOutIn(
      x,
      this.p(`${name}.weight`),
      this.optional(`${name}.bias`),
    );
  }

  /** RMSNorm with the gain `name` (Gemma: 1 + gain). x: [..., W] → [..., W]. */
  private norm(name: string, x: tf.Tensor): tf.Tensor {
    const weight = this.p(name);
    const gain = this.config.gemmaScaling ? tf.add(weight, deviceScalar(1)) : weight;
    return rmsNorm(x, gain, this.config.rmsNormEps);
  }

  /** Token embeddings (Gemma: × √D); positions enter through the rotary angles. [B, T] → [B, T, D]. */
  protected embed(inputIds: tf.Tensor2D): tf.Tensor3D {
    const embedded = tf.gather(this.p('embed_tokens.weight'), inputIds) as tf.Tensor3D;
    if (!this.config.gemmaScaling) return embedded;
    return tf.mul(embedded, deviceScalar(Math.sqrt(this.config.hiddenSize)));
  }

  protected override layerExtras(attentionMask: tf.Tensor2D): LayerExtras {
    const c = this.config;
    const window = c.slidingWindow && this.keptLayers.some((layer) => this.slidingLayers.has(layer));
    return {
      rotary: rotaryTables(positionsFromMask(attentionMask), c.rotary),
      ...(window ? { slidingBias: causalMaskBias(attentionMask, c.slidingWindow!.size) } : {}),
    };
  }

  /** q, k, v of one layer: [B, T, D] → [B, T, H·Dh], [B, T, Hkv·Dh], [B, T, Hkv·Dh]. */
  private projections(p: string, x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const c = this.config;
    if (!c.fusedProjections) {
      return [
        this.linear(`${p}self_attn.q_proj`, x),
        this.linear(`${p}self_attn.k_proj`, x),
        this.linear(`${p}self_attn.v_proj`, x),
      ];
    }
    const kvWidth = c.kvHeads * c.headDim;
    const qkv = this.linear(`${p}self_attn.qkv_proj`, x); // [B, T, (H + 2·Hkv)·Dh]
    return tf.split(qkv, [c.heads * c.headDim, kvWidth, kvWidth], 2) as [tf.Tensor, tf.Tensor, tf.Tensor];
  }

  /** act(gate(y)) · up(y): [B, T, D] → [B, T, F]. */
  private gatedMlpInput(p: string, y: tf.Tensor): tf.Tensor {
    if (!this.config.fusedProjections) {
      return tf.mul(this.act(this.linear(`${p}mlp.gate_proj`, y)), this.linear(`${p}mlp.up_proj`, y));
    }
    const [gate, up] = tf.split(this.linear(`${p}mlp.gate_up_proj`, y), 2, 2); // each [B, T, F]
    return tf.mul(this.act(gate!), up!);
  }

  /** One pre-RMSNorm block: [B, T, D] → [B, T, D]. */
  protected block(layer: number, h: tf.Tensor3D, bias: tf.Tensor4D, extras: LayerExtras): tf.Tensor3D {
    const c = this.config;
    const p = `layers.${layer}.`;
    const { cos, sin } = extras.rotary!;

    const x = this.norm(`${p}input_layernorm.weight`, h);
    const [qFlat, kFlat, vFlat] = this.projections(p, x);
    // heads in place, [B, T, n, Dh]: Qwen3's per-head norm and the rotation need no transpose
    const [batch, seq] = h.shape;
    const heads = (y: tf.Tensor, n: number, normKey: string): tf.Tensor3D => {
      let z = y.reshape([batch, seq, n, c.headDim]) as tf.Tensor4D;
      if (c.qkNorm) z = this.norm(normKey, z) as tf.Tensor4D;
      return applyRotary(z, cos, sin).reshape([batch, seq, n * c.headDim]) as tf.Tensor3D;
    };
    const q = heads(qFlat, c.heads, `${p}self_attn.q_norm.weight`); // [B, T, H·Dh]
    const k = heads(kFlat, c.kvHeads, `${p}self_attn.k_norm.weight`); // [B, T, Hkv·Dh]
    const layerBias = this.slidingLayers.has(layer) ? extras.slidingBias! : bias;
    const layout = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
    const attended = selfAttention(q, k, vFlat as tf.Tensor3D, layerBias, layout, 1 / Math.sqrt(c.headDim), true);
    h = tf.add(h, this.linear(`${p}self_attn.o_proj`, attended)); // attended: [B, T, H·Dh]

    const y = this.norm(`${p}post_attention_layernorm.weight`, h);
    return tf.add(h, this.linear(`${p}mlp.down_proj`, this.gatedMlpInput(p, y)));
  }

  headInput(hidden: tf.Tensor): tf.Tensor {
    return this.norm('norm.weight', hidden);
  }
}
