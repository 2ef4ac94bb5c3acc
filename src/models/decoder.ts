/**
 * The forward loop every family shares: embed, run the kept layers in order, apply the final
 * norm, score with the LM head. Families implement `embed`, `block` and `headInput`. The mask
 * bias is causal (the decoders: GPT-2, OPT, the Llama-like families, GPT-NeoX); encoders (BERT,
 * RoBERTa) override `maskBias` with a padding-only one and `lmHead` with their masked-LM head.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { causalMaskBias } from '../runtime/ops/masks.js';
import { addLayerNorm, layerNorm, layerNormOfSum } from '../runtime/ops/norms.js';
import { activation, type Activation } from './layers.js';
import type {
  FamilyConfig,
  ForwardOptions,
  ForwardOutput,
  LanguageModel,
  ModelFamily,
  ModelInfo,
} from './types.js';

/** Tensors made once per forward pass that every layer reads besides the mask bias. */
export interface LayerExtras {
  /** Rotary position embedding tables (Llama-like, GPT-NeoX): cos and sin of each angle, [B, 1, T, Dr/2]. */
  rotary?: { cos: tf.Tensor4D; sin: tf.Tensor4D };
  /** The attention bias of sliding-window layers (Mistral, Qwen2, Phi-3), [B, 1, T, T]. */
  slidingBias?: tf.Tensor4D;
}

/**
 * The residual stream between blocks: a tensor [B, T, D], or a sum not yet added (`residual +
 * update`) that a pre-LN family's next norm adds in its own program (norms.ts: addLayerNorm).
 * Families that return a `PendingSum` from `embed` or `block` take one in `block` (`streamAndNorm`)
 * and `headInputOf` (`normOfStream`); the loop adds it (`streamValue`) wherever the stream itself
 * is read.
 */
export interface PendingSum {
  residual: tf.Tensor3D;
  update: tf.Tensor3D;
}
export type Stream = tf.Tensor3D | PendingSum;

/** The stream as a tensor: a pending sum added (as tf.add). */
export function streamValue(stream: Stream): tf.Tensor3D {
  return stream instanceof tf.Tensor ? stream : tf.add(stream.residual, stream.update);
}

/** [the stream as a tensor, its LayerNorm]: a pending sum added in the norm's program. */
export function streamAndNorm(
  stream: Stream,
  gain: tf.Tensor,
  bias: tf.Tensor,
  eps: number,
): [tf.Tensor3D, tf.Tensor3D] {
  if (stream instanceof tf.Tensor) return [stream, layerNorm(stream, gain, bias, eps) as tf.Tensor3D];
  return addLayerNorm(stream.residual, stream.update, gain, bias, eps) as [tf.Tensor3D, tf.Tensor3D];
}

/** The stream's LayerNorm alone (before the head): a pending sum added in the norm's program. */
export function normOfStream(stream: Stream, gain: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  if (stream instanceof tf.Tensor) return layerNorm(stream, gain, bias, eps);
  return layerNormOfSum(stream.residual, stream.update, gain, bias, eps);
}

/** What every family's config says besides the sizes: its activation and whether the head is tied. */
export interface DecoderConfig extends FamilyConfig {
  /** The activation of the MLP (hidden_act or activation_function). */
  activation: Activation;
  /** tie_word_embeddings: the token embeddings score the vocabulary, no head of its own. */
  tieWordEmbeddings: boolean;
}

/** The parameters that can score the vocabulary, by canonical name. */
export interface HeadWeights {
  /** The token embeddings [V, E]: the head when the config ties them. */
  embeddings: string;
  /** The head of its own [V, Dhead], present only when untied. */
  untied: string;
}

/**
 * `shapes`, a family's parameter list, with the separate head `untied` [V, width] added where the
 * config does not tie the head to the token embeddings.
 */
export function withUntiedHead(
  shapes: Map<string, number[]>,
  config: DecoderConfig,
  untied: string,
  width: number,
): Map<string, number[]> {
  return config.tieWordEmbeddings ? shapes : shapes.set(untied, [config.vocabSize, width]);
}

/**
 * A model of `family` over loaded parameters; the family's config names the model (`modelType`),
 * the MLP's activation (`act`) and whether `headWeights.embeddings` or `.untied` is the LM head.
 */
export abstract class DecoderModel<C extends DecoderConfig> implements LanguageModel {
  readonly info: ModelInfo;
  readonly afterLayer = new Map<number, (hidden: tf.Tensor3D) => tf.Tensor3D>();
  /** The family's activation, config.activation. */
  protected readonly act: (x: tf.Tensor) => tf.Tensor;
  protected abstract readonly headWeights: HeadWeights;

  constructor(
    family: ModelFamily<C>,
    protected readonly config: C,
    protected readonly keptLayers: number[],
    readonly params: Map<string, tf.Variable>,
  ) {
    this.act = activation(config.activation);
    const allLayers = Array.from({ length: config.numLayers }, (_, i) => i);
    this.info = {
      family: config.modelType,
      config,
      keptLayers: [...keptLayers],
      layersBefore: config.numLayers,
      layersAfter: keptLayers.length,
      paramsBefore: countParams(family.expectedTensors(config, allLayers)),
      paramsAfter: countParams(family.expectedTensors(config, keptLayers)),
    };
  }

  /** The [V, Dhead] matrix that scores the vocabulary: the tied embeddings or the separate head. */
  private get headWeightName(): string {
    return this.config.tieWordEmbeddings ? this.headWeights.embeddings : this.headWeights.untied;
  }

  get headWidth(): number {
    return this.p(this.headWeightName).shape[1]!;
  }

  /** A parameter by canonical name. */
  protected p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const value = this.params.get(name);
    if (!value) throw new LayercutError(`internal: parameter '${name}' was not loaded`);
    return value as unknown as tf.Tensor<R>;
  }

  /** A parameter the checkpoint may lack (an optional bias or projection): undefined then. */
  protected optional<R extends tf.Rank>(name: string): tf.Tensor<R> | undefined {
    return this.params.has(name) ? this.p<R>(name) : undefined;
  }

  protected abstract embed(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): Stream;
  /** The attention bias every layer adds: causal, padding masked. [B, T] → [B, 1, T, T]. */
  protected maskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
    return causalMaskBias(attentionMask);
  }
  /** Per-forward tensors the layers share (see `LayerExtras`); none unless a family overrides it. */
  protected layerExtras(_attentionMask: tf.Tensor2D): LayerExtras {
    return {};
  }
  /** Layer `layer` (its original index): [B, T, D] → [B, T, D]. */
  protected abstract block(layer: number, hidden: Stream, bias: tf.Tensor4D, extras: LayerExtras): Stream;
  abstract headInput(hidden: tf.Tensor): tf.Tensor;
  /** `headInput` of the stream after the last block; a family that leaves a sum pending adds it here. */
  protected headInputOf(stream: Stream): tf.Tensor {
    return this.headInput(streamValue(stream));
  }

  forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: ForwardOptions = {}): ForwardOutput {
    const [batch, seq] = inputIds.shape;
    if (attentionMask.shape[0] !== batch || attentionMask.shape[1] !== seq) {
      throw new LayercutError(
        `attention mask shape [${attentionMask.shape}] differs from input ids [${inputIds.shape}]`,
      );
    }
    if (seq > this.config.maxPositions) {
      throw new LayercutError(
        `input of ${seq} tokens is longer than the model's ${this.config.maxPositions} positions`,
        'truncate the input (maxLength) or use a model with more positions',
      );
    }
    return tf.tidy(() => {
      const bias = this.maskBias(attentionMask);
      const extras = this.layerExtras(attentionMask);
      let hidden = this.embed(inputIds, attentionMask);
      const states: tf.Tensor3D[] = [];
      if (options.hiddenStates) states.push((hidden = streamValue(hidden)));
      for (const layer of this.keptLayers) {
        hidden = this.block(layer, hidden, bias, extras);
        const replacement = this.afterLayer.get(layer); // a fitted block replacement (replacement.ts)
        if (replacement) hidden = replacement(streamValue(hidden));
        if (options.hiddenStates) states.push((hidden = streamValue(hidden)));
      }
      const lastHidden = this.headInputOf(hidden) as tf.Tensor3D;
      return options.hiddenStates ? { lastHidden, hiddenStates: states } : { lastHidden };
    });
  }

  lmHead(hidden: tf.Tensor, tokenIds?: tf.Tensor1D): tf.Tensor {
    return tf.tidy(() => {
      const weight = this.p<tf.Rank.R2>(this.headWeightName); // [V, Dhead]
      const rows = tokenIds ? tf.gather(weight, tokenIds) : weight; // [C or V, Dhead]
      const width = hidden.shape[hidden.shape.length - 1]!;
      const flat = hidden.reshape([-1, width]) as tf.Tensor2D;
      return tf.matMul(flat, rows, false, true).reshape([...hidden.shape.slice(0, -1), rows.shape[0]]);
    });
  }

  logits(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => this.lmHead(this.forward(inputIds, attentionMask).lastHidden) as tf.Tensor3D);
  }

  dispose(): void {
    for (const variable of this.params.values()) variable.dispose();
    this.params.clear();
  }
}

export function countParams(shapes: Map<string, number[]>): number {
  let total = 0;
  for (const shape of shapes.values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}
