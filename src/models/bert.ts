/**
 * BERT, as Hugging Face's `BertForMaskedLM`, and the encoder code RoBERTa (roberta.ts) shares.
 *
 * Checkpoint keys, kept whole as parameter names (the masked-LM head sits beside "bert.", not in it):
 *   bert.embeddings.word_embeddings.weight [V, D]   bert.embeddings.position_embeddings.weight [P, D]
 *   bert.embeddings.token_type_embeddings.weight [2, D]   bert.embeddings.LayerNorm.{weight,bias} [D]
 *   under bert.encoder.layer.{i}.:
 *     attention.self.{query,key,value}.{weight [D, D], bias [D]}
 *     attention.output.dense.{weight [D, D], bias [D]}   attention.output.LayerNorm.{weight,bias} [D]
 *     intermediate.dense.{weight [F, D], bias [F]}
 *     output.dense.{weight [D, F], bias [D]}             output.LayerNorm.{weight,bias} [D]
 *   cls.predictions.transform.dense.{weight [D, D], bias [D]}
 *   cls.predictions.transform.LayerNorm.{weight,bias} [D]   cls.predictions.bias [V]
 *   cls.predictions.decoder.weight [V, D] (only if untied from word_embeddings)
 * Weights are nn.Linear's [out, in]. Layers are post-LayerNorm with bidirectional attention:
 *   h = LN(h + attn(h));  h = LN(h + ffn(h)).
 * The masked-LM head: logits = LN(act(dense(h))) · word_embeddingsᵀ + bias. `forward` returns the
 * last kept layer's output and `lmHead` applies the whole head, so `lmHead(h, tokenIds)` scores a
 * few vocabulary rows exactly as the full logits would.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigReader } from './config.js';
import { DecoderModel, withUntiedHead, type DecoderConfig, type HeadWeights } from './decoder.js';
import { ACTIVATIONS, activation, linearOutIn, type Activation } from './layers.js';
import { attention, mergeHeads, splitHeads } from '../runtime/ops/attention.js';
import { paddingMaskBias } from '../runtime/ops/masks.js';
import { layerNorm } from '../runtime/ops/norms.js';
import type { LanguageModel, ModelFamily } from './types.js';

/** Config of a BERT-style encoder (BERT, RoBERTa). */
export interface EncoderConfig extends DecoderConfig {
  heads: number;
  intermediateSize: number;
  layerNormEps: number;
  activation: Activation;
  typeVocabSize: number;
  /** Rows of position_embeddings (max_position_embeddings); RoBERTa uses fewer as positions. */
  positionTableSize: number;
  padTokenId: number;
  tieWordEmbeddings: boolean;
}

/** Where BERT and RoBERTa checkpoints differ in parameter names. */
export interface EncoderNames {
  /** Prefix of the embeddings and the layers: "bert." or "roberta.". */
  base: string;
  /** The masked-LM head's parts. */
  headDense: string;
  headNorm: string;
  headBias: string;
  /** The vocabulary matrix of an untied head. */
  headDecoder: string;
}

/** What makes an encoder family BERT or RoBERTa (see `encoderFamily`). */
export interface EncoderVariant {
  /** config.json's model_type. */
  modelType: string;
  names: EncoderNames;
  /** The longest input a position table of `tableSize` rows takes. */
  positionsUsable(tableSize: number, padTokenId: number): number;
  /** pad_token_id when config.json has none. */
  defaultPadTokenId: number;
  /** The activation inside the head's transform. */
  headActivation(config: EncoderConfig): Activation;
  /** Position ids [B, T] int32 of each token of inputIds [B, T]. */
  positionIds(inputIds: tf.Tensor2D, config: EncoderConfig): tf.Tensor2D;
}

/**
 * The ModelFamily of an encoder variant: the layout under `names.base` ("bert." or "roberta."),
 * the config reader, the parameter list and the model, shared by BERT and RoBERTa.
 */
export function encoderFamily(variant: EncoderVariant): ModelFamily<EncoderConfig> {
  const base = variant.names.base;
  const family: ModelFamily<EncoderConfig> = {
    modelTypes: [variant.modelType],
    keyPrefixes: [''],
    probeTensor: `${base}embeddings.word_embeddings.weight`,
    savePrefix: '',
    layerPrefix: (index) => `${base}encoder.layer.${index}.`,
    numLayersKey: 'num_hidden_layers',
    parseConfig: (json) => parseEncoderConfig(json, variant),
    expectedTensors: (c, keptLayers) => encoderTensors(c, keptLayers, variant.names),
    build: (config, keptLayers, params): LanguageModel =>
      new EncoderModel(family, config, keptLayers, params, variant),
  };
  return family;
}

/** Reads an encoder's config.json with the variant's position rule and default pad_token_id. */
function parseEncoderConfig(json: Record<string, unknown>, variant: EncoderVariant): EncoderConfig {
  const { modelType, positionsUsable, defaultPadTokenId } = variant;
  const read = new ConfigReader(json, modelType);
  const hiddenSize = read.positiveInteger('hidden_size');
  const vocabSize = read.positiveInteger('vocab_size');
  const positionTableSize = read.positiveInteger('max_position_embeddings');
  const padTokenId = read.integer('pad_token_id', defaultPadTokenId);
  read.check(padTokenId < vocabSize, 'pad_token_id', padTokenId, `be below vocab_size (${vocabSize})`);
  const maxPositions = positionsUsable(positionTableSize, padTokenId);
  read.check(
    maxPositions >= 1,
    'max_position_embeddings',
    positionTableSize,
    `leave room for one token (${positionTableSize - maxPositions} rows go before the first, with pad_token_id ${padTokenId})`,
  );
  return {
    modelType,
    numLayers: read.positiveInteger('num_hidden_layers'),
    hiddenSize,
    vocabSize,
    maxPositions,
    heads: read.divisorOf('num_attention_heads', 'hidden_size', hiddenSize),
    intermediateSize: read.positiveInteger('intermediate_size'),
    layerNormEps: read.positiveNumber('layer_norm_eps', 1e-12),
    activation: read.oneOf('hidden_act', ACTIVATIONS, 'gelu'),
    typeVocabSize: read.positiveInteger('type_vocab_size', 2),
    positionTableSize,
    padTokenId,
    tieWordEmbeddings: read.boolean('tie_word_embeddings', true),
  };
}

/** Every parameter of an encoder with these kept layers and its masked-LM head. */
function encoderTensors(
  c: EncoderConfig,
  keptLayers: number[],
  names: EncoderNames,
): Map<string, number[]> {
  const d = c.hiddenSize;
  const f = c.intermediateSize;
  const e = `${names.base}embeddings.`;
  const shapes = new Map<string, number[]>([
    [`${e}word_embeddings.weight`, [c.vocabSize, d]],
    [`${e}position_embeddings.weight`, [c.positionTableSize, d]],
    [`${e}token_type_embeddings.weight`, [c.typeVocabSize, d]],
    [`${e}LayerNorm.weight`, [d]],
    [`${e}LayerNorm.bias`, [d]],
  ]);
  const linear = (name: string, outF: number, inF: number) =>
    shapes.set(`${name}.weight`, [outF, inF]).set(`${name}.bias`, [outF]);
  const norm = (name: string) => shapes.set(`${name}.weight`, [d]).set(`${name}.bias`, [d]);
  for (const i of keptLayers) {
    const p = `${names.base}encoder.layer.${i}.`;
    for (const proj of ['query', 'key', 'value']) linear(`${p}attention.self.${proj}`, d, d);
    linear(`${p}attention.output.dense`, d, d);
    norm(`${p}attention.output.LayerNorm`);
    linear(`${p}intermediate.dense`, f, d);
    linear(`${p}output.dense`, d, f);
    norm(`${p}output.LayerNorm`);
  }
  linear(names.headDense, d, d);
  norm(names.headNorm);
  shapes.set(names.headBias, [c.vocabSize]);
  return withUntiedHead(shapes, c, names.headDecoder, d);
}

/**
 * A post-LN encoder with a masked-LM head; its variant says how position ids are made.
 * `forward().lastHidden` is the last kept layer's output [B, T, D] (what a classification head
 * reads); `lmHead` applies the head's transform and then the vocabulary matrix and bias.
 */
class EncoderModel extends DecoderModel<EncoderConfig> {
  protected readonly headWeights: HeadWeights;
  private readonly names: EncoderNames;
  private readonly headAct: (x: tf.Tensor) => tf.Tensor;

  constructor(
    family: ModelFamily<EncoderConfig>,
    config: EncoderConfig,
    keptLayers: number[],
    params: Map<string, tf.Variable>,
    private readonly variant: EncoderVariant,
  ) {
    super(family, config, keptLayers, params);
    this.names = variant.names;
    this.headWeights = { embeddings: `${this.names.base}embeddings.word_embeddings.weight`, untied: this.names.headDecoder };
    this.headAct = activation(variant.headActivation(config));
  }

  private linear(name: string, x: tf.Tensor): tf.Tensor {
    return linearOutIn(x, this.p(`${name}.weight`), this.p(`${name}.bias`));
  }

  private norm(name: string, x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.p(`${name}.weight`), this.p(`${name}.bias`), this.config.layerNormEps);
  }

  /** LN(word + position + token type 0): [B, T] → [B, T, D]. */
  protected embed(inputIds: tf.Tensor2D): tf.Tensor3D {
    const e = `${this.names.base}embeddings.`;
    const words = tf.gather(this.p(`${e}word_embeddings.weight`), inputIds); // [B, T, D]
    const positionIds = this.variant.positionIds(inputIds, this.config); // [B, T]
    const positions = tf.gather(this.p(`${e}position_embeddings.weight`), positionIds); // [B, T, D]
    const tokenType = tf.slice(this.p<tf.Rank.R2>(`${e}token_type_embeddings.weight`), [0, 0], [1, -1]); // [1, D]
    return this.norm(`${e}LayerNorm`, tf.add(tf.add(words, positions), tokenType)) as tf.Tensor3D;
  }

  protected override maskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
    return paddingMaskBias(attentionMask);
  }

  /** One post-LN layer: [B, T, D] → [B, T, D]. */
  protected block(layer: number, h: tf.Tensor3D, bias: tf.Tensor4D): tf.Tensor3D {
    const c = this.config;
    const p = `${this.names.base}encoder.layer.${layer}.`;
    const heads = (name: string) => splitHeads(this.linear(`${p}attention.self.${name}`, h), c.heads); // [B, H, T, Dh]
    const scale = 1 / Math.sqrt(c.hiddenSize / c.heads);
    const attended = attention(heads('query'), heads('key'), heads('value'), bias, scale);
    const attentionOut = this.linear(`${p}attention.output.dense`, mergeHeads(attended)); // [B, T, D]
    const a = this.norm(`${p}attention.output.LayerNorm`, tf.add(h, attentionOut));
    const inner = this.act(this.linear(`${p}intermediate.dense`, a)); // [B, T, F]
    const ffnOut = this.linear(`${p}output.dense`, inner); // [B, T, D]
    return this.norm(`${p}output.LayerNorm`, tf.add(a, ffnOut)) as tf.Tensor3D;
  }

  /** Encoders have no final norm: the head's transform belongs to `lmHead`. */
  headInput(hidden: tf.Tensor): tf.Tensor {
    return hidden;
  }

  /** The masked-LM head: [..., D] → [..., V], or only the rows `tokenIds` → [..., C]. */
  override lmHead(hidden: tf.Tensor, tokenIds?: tf.Tensor1D): tf.Tensor {
    return tf.tidy(() => {
      const dense = this.headAct(this.linear(this.names.headDense, hidden)); // [..., D]
      const transformed = this.norm(this.names.headNorm, dense);
      const bias = this.p<tf.Rank.R1>(this.names.headBias); // [V]
      return tf.add(super.lmHead(transformed, tokenIds), tokenIds ? tf.gather(bias, tokenIds) : bias);
    });
  }
}

export const bert = encoderFamily({
  modelType: 'bert',
  names: {
    base: 'bert.',
    headDense: 'cls.predictions.transform.dense',
    headNorm: 'cls.predictions.transform.LayerNorm',
    headBias: 'cls.predictions.bias',
    headDecoder: 'cls.predictions.decoder.weight',
  },
  positionsUsable: (tableSize) => tableSize,
  defaultPadTokenId: 0,
  headActivation: (config) => config.activation,
  /** 0..T−1 in every row, as Hugging Face's BERT (padding sits at the end and is masked). */
  positionIds(inputIds) {
    const [batch, seq] = inputIds.shape;
    return tf.tile(tf.range(0, seq, 1, 'int32').reshape([1, seq]), [batch, 1]) as tf.Tensor2D;
  },
});
