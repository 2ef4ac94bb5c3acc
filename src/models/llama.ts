/**
 * Llama (Llama 2 and 3 and their many fine-tunes), as Hugging Face's `LlamaForCausalLM`.
 *
 * Checkpoint keys (prefix "model." from `LlamaForCausalLM`, none from `LlamaModel`):
 *   embed_tokens.weight [V, D]   norm.weight [D]   lm_head.weight [V, D] at the root (only if untied)
 *   layers.{i}.input_layernorm.weight [D]           layers.{i}.post_attention_layernorm.weight [D]
 *   layers.{i}.self_attn.q_proj.weight [H·Dh, D]    layers.{i}.self_attn.{k,v}_proj.weight [Hkv·Dh, D]
 *   layers.{i}.self_attn.o_proj.weight [D, H·Dh]    (each with a bias only when attention_bias)
 *   layers.{i}.mlp.{gate,up}_proj.weight [F, D]     layers.{i}.mlp.down_proj.weight [D, F]  (biases if mlp_bias)
 * Weights are nn.Linear's [out, in]. Blocks are pre-RMSNorm:
 *   h = h + o_proj(attn(rope(q), rope(k), v));  h = h + down(silu(gate(x)) · up(x)) with x = norm(h);
 *   then norm, then logits = h · lm_headᵀ. Keys and values may have fewer heads than queries
 *   (grouped-query attention: Hkv divides H).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ConfigReader } from './config.js';
import { DecoderModel, type LayerExtras } from './decoder.js';
import {
  ACTIVATIONS,
  activation,
  attention,
  causalMaskBias,
  linearOutIn,
  mergeHeads,
  positionsFromMask,
  splitHeads,
  rmsNorm,
  type Activation,
} from './layers.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

export interface LlamaConfig extends FamilyConfig {
  heads: number;
  /** Key/value heads (Hkv); equals `heads` without grouped-query attention. */
  kvHeads: number;
  /** Width of one attention head (Dh); hidden_size / heads unless config.json sets head_dim. */
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  activation: Activation;
  /** Base of the rotary frequencies. */
  ropeTheta: number;
  attentionBias: boolean;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
}

export const llama: ModelFamily<LlamaConfig> = {
  modelTypes: ['llama'],
  keyPrefixes: ['model.', ''],
  probeTensor: 'embed_tokens.weight',
  savePrefix: 'model.',
  layerPrefix: (index) => `layers.${index}.`,
  numLayersKey: 'num_hidden_layers',

  parseConfig(json) {
    const read = new ConfigReader(json, 'llama');
    const hiddenSize = read.positiveInteger('hidden_size');
    // without head_dim, a head is hidden_size / heads wide: the heads must divide the width
    const heads =
      json['head_dim'] === undefined || json['head_dim'] === null
        ? read.divisorOf('num_attention_heads', 'hidden_size', hiddenSize)
        : read.positiveInteger('num_attention_heads');
    const kvHeads = read.divisorOf('num_key_value_heads', 'num_attention_heads', heads, heads);
    const headDim = read.positiveInteger('head_dim', hiddenSize / heads);
    read.check(headDim % 2 === 0, 'head_dim', headDim, 'be even: rotary embeddings turn pairs of dimensions');
    return {
      modelType: 'llama',
      numLayers: read.positiveInteger('num_hidden_layers'),
      hiddenSize,
      vocabSize: read.positiveInteger('vocab_size'),
      maxPositions: read.positiveInteger('max_position_embeddings'),
      heads,
      kvHeads,
      headDim,
      intermediateSize: read.positiveInteger('intermediate_size'),
      rmsNormEps: read.positiveNumber('rms_norm_eps', 1e-6),
      activation: read.oneOf('hidden_act', ACTIVATIONS, 'silu'),
      ropeTheta: readRopeTheta(json),
      attentionBias: read.boolean('attention_bias', false),
      mlpBias: read.boolean('mlp_bias', false),
      tieWordEmbeddings: read.boolean('tie_word_embeddings', false),
    };
  },

  expectedTensors(c, keptLayers) {
    const d = c.hiddenSize;
    const qWidth = c.heads * c.headDim;
    const kvWidth = c.kvHeads * c.headDim;
    const shapes = new Map<string, number[]>([['embed_tokens.weight', [c.vocabSize, d]]]);
    const linear = (name: string, outF: number, inF: number, bias: boolean) => {
      shapes.set(`${name}.weight`, [outF, inF]);
      if (bias) shapes.set(`${name}.bias`, [outF]);
    };
    for (const i of keptLayers) {
      const p = `layers.${i}.`;
      shapes.set(`${p}input_layernorm.weight`, [d]);
      linear(`${p}self_attn.q_proj`, qWidth, d, c.attentionBias);
      linear(`${p}self_attn.k_proj`, kvWidth, d, c.attentionBias);
      linear(`${p}self_attn.v_proj`, kvWidth, d, c.attentionBias);
      linear(`${p}self_attn.o_proj`, d, qWidth, c.attentionBias);
      shapes.set(`${p}post_attention_layernorm.weight`, [d]);
      linear(`${p}mlp.gate_proj`, c.intermediateSize, d, c.mlpBias);
      linear(`${p}mlp.up_proj`, c.intermediateSize, d, c.mlpBias);
      linear(`${p}mlp.down_proj`, d, c.intermediateSize, c.mlpBias);
    }
    shapes.set('norm.weight', [d]);
    if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, d]);
    return shapes;
  },

  build(config, keptLayers, params): LanguageModel {
    return new LlamaModel(config, keptLayers, params);
  },
};

/**
 * The rotary base from config.json: `rope_parameters` (transformers 5) or `rope_theta` with
 * `rope_scaling` (transformers 4). Only plain rotary embeddings are supported.
 */
function readRopeTheta(json: Record<string, unknown>): number {
  const parameters = json['rope_parameters'];
  const scaling = json['rope_scaling'];
  const settings = parameters ?? scaling;
  let ropeType = 'default';
  if (settings !== undefined && settings !== null) {
    if (typeof settings !== 'object' || Array.isArray(settings)) {
      const key = parameters === undefined ? 'rope_scaling' : 'rope_parameters';
      throw new ConfigError(
        `llama: config.json '${key}' should be an object, got ${JSON.stringify(settings)}`,
      );
    }
    const fields = settings as Record<string, unknown>;
    const type = fields['rope_type'] ?? fields['type'];
    if (type !== undefined) ropeType = String(type);
  }
  if (ropeType !== 'default') {
    throw new ConfigError(
      `llama: rotary scaling '${ropeType}' in config.json is not supported`,
      'layercut implements plain rotary position embeddings only (rope_scaling null or rope_type "default")',
    );
  }
  const fromParameters =
    parameters !== undefined && parameters !== null
      ? (parameters as Record<string, unknown>)['rope_theta']
      : undefined;
  const read = new ConfigReader(
    fromParameters === undefined ? json : { rope_theta: fromParameters },
    'llama',
  );
  return read.positiveNumber('rope_theta', 10000);
}

export { rmsNorm };

/**
 * cos and sin of the rotary angles position · θ^(−2j/Dh), j = 0..Dh/2−1.
 * positions: [B, T] int32 → cos, sin: [B, 1, T, Dh/2] (broadcast over heads).
 */
export function rotaryTables(
  positions: tf.Tensor2D,
  headDim: number,
  theta: number,
): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  return tf.tidy(() => {
    const [batch, seq] = positions.shape;
    const half = headDim / 2;
    const frequencies = Float32Array.from({ length: half }, (_, j) => theta ** (-(2 * j) / headDim));
    const inverseFrequencies = tf.tensor3d(frequencies, [1, 1, half]);
    const angles = tf.mul(tf.cast(positions, 'float32').reshape([batch, seq, 1]), inverseFrequencies); // [B, T, Dh/2]
    const shape: [number, number, number, number] = [batch, 1, seq, half];
    return { cos: tf.cos(angles).reshape(shape), sin: tf.sin(angles).reshape(shape) };
  });
}

/**
 * Rotates each head's vector by the rotary angles, Hugging Face's `rotate_half` convention: the
 * first and second halves of Dh form the (real, imaginary) pairs.
 * x: [B, H, T, Dh], cos and sin: [B, 1, T, Dh/2] → [B, H, T, Dh].
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const [first, second] = tf.split(x, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  const rotatedFirst = tf.sub(tf.mul(first, cos), tf.mul(second, sin));
  const rotatedSecond = tf.add(tf.mul(second, cos), tf.mul(first, sin));
  return tf.concat([rotatedFirst, rotatedSecond], 3) as tf.Tensor4D;
}

class LlamaModel extends DecoderModel<LlamaConfig> {
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(config: LlamaConfig, keptLayers: number[], params: Map<string, tf.Variable>) {
    super(
      'llama',
      llama,
      config,
      keptLayers,
      params,
      config.tieWordEmbeddings ? 'embed_tokens.weight' : 'lm_head.weight',
    );
    this.act = activation(config.activation);
  }

  private linear(name: string, x: tf.Tensor): tf.Tensor {
    return linearOutIn(
      x,
      this.p(`${name}.weight`),
      this.params.has(`${name}.bias`) ? this.p(`${name}.bias`) : undefined,
    );
  }

  /** Token embeddings only: positions enter through the rotary angles. [B, T] → [B, T, D]. */
  protected embed(inputIds: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.p('embed_tokens.weight'), inputIds);
  }

  protected maskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
    return causalMaskBias(attentionMask);
  }

  protected override layerExtras(attentionMask: tf.Tensor2D): LayerExtras {
    const c = this.config;
    return { rotary: rotaryTables(positionsFromMask(attentionMask), c.headDim, c.ropeTheta) };
  }

  /** One pre-RMSNorm block: [B, T, D] → [B, T, D]. */
  protected block(layer: number, h: tf.Tensor3D, bias: tf.Tensor4D, extras: LayerExtras): tf.Tensor3D {
    const c = this.config;
    const p = `layers.${layer}.`;
    const { cos, sin } = extras.rotary!;

    const x = rmsNorm(h, this.p(`${p}input_layernorm.weight`), c.rmsNormEps);
    const q = applyRotary(splitHeads(this.linear(`${p}self_attn.q_proj`, x), c.heads), cos, sin); // [B, H, T, Dh]
    const k = applyRotary(splitHeads(this.linear(`${p}self_attn.k_proj`, x), c.kvHeads), cos, sin); // [B, Hkv, T, Dh]
    const v = splitHeads(this.linear(`${p}self_attn.v_proj`, x), c.kvHeads); // [B, Hkv, T, Dh]
    const scale = 1 / Math.sqrt(c.headDim);
    const attended = attention(q, k, v, bias, scale);
    h = tf.add(h, this.linear(`${p}self_attn.o_proj`, mergeHeads(attended)));

    const y = rmsNorm(h, this.p(`${p}post_attention_layernorm.weight`), c.rmsNormEps);
    const gated = tf.mul(this.act(this.linear(`${p}mlp.gate_proj`, y)), this.linear(`${p}mlp.up_proj`, y)); // [B, T, F]
    return tf.add(h, this.linear(`${p}mlp.down_proj`, gated));
  }

  headInput(hidden: tf.Tensor): tf.Tensor {
    return rmsNorm(hidden, this.p('norm.weight'), this.config.rmsNormEps);
  }
}
