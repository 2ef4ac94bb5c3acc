/**
 * What every model family provides, and the loaded model's public face.
 *
 * Parameters are named by the checkpoint's own keys without the family's prefix
 * ("h.0.attn.c_attn.weight" for GPT-2, "layers.0.fc1.weight" for OPT), with the ORIGINAL layer
 * index: a GPT-2 cut to layers [0, 5] holds "h.0.*" and "h.5.*".
 */
import type * as tf from '@tensorflow/tfjs';

/** Parsed config.json of one family; `modelType` is config.json's model_type. */
export interface FamilyConfig {
  modelType: string;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositions: number;
}

/** How a family is read from a checkpoint and run. One implementation per file in src/models/. */
export interface ModelFamily<C extends FamilyConfig = FamilyConfig> {
  /** config.json model_type values this family reads. */
  modelTypes: string[];
  /** Key prefixes checkpoints of this family use, tried in order (the empty prefix included). */
  keyPrefixes: string[];
  /** A tensor every checkpoint of the family has, used to find the prefix. */
  probeTensor: string;
  /** The prefix `save_pretrained` of the family's causal-LM class writes (how layercut saves). */
  savePrefix: string;
  /** The key prefix of layer `index`'s parameters ("h.3." for GPT-2). */
  layerPrefix(index: number): string;
  /** config.json's key for the number of layers. */
  numLayersKey: string;
  parseConfig(json: Record<string, unknown>): C;
  /** Every parameter the model with these kept layers needs, with its shape (from config alone). */
  expectedTensors(config: C, keptLayers: number[]): Map<string, number[]>;
  /**
   * config.json keys to change when a model keeping `keptLayers` (original indices) is saved,
   * besides the layer count: e.g. Qwen2's per-layer `layer_types`. None when absent.
   */
  savedConfig?(sourceConfig: Record<string, unknown>, config: C, keptLayers: number[]): Record<string, unknown>;
  /** Builds the forward pass over loaded parameters. */
  build(config: C, keptLayers: number[], params: Map<string, tf.Variable>): LanguageModel;
}

export interface ModelInfo {
  family: string;
  config: FamilyConfig;
  /** Original indices of the layers kept, ascending. */
  keptLayers: number[];
  layersBefore: number;
  layersAfter: number;
  paramsBefore: number;
  paramsAfter: number;
}

export interface ForwardOptions {
  /** Also return the residual stream after the embeddings and after each kept layer. */
  hiddenStates?: boolean;
}

export interface ForwardOutput {
  /** Input to the LM head: after the final norm (and OPT's project_out). [B, T, Dhead] */
  lastHidden: tf.Tensor3D;
  /** [embeddings, after kept layer 1, …, after kept layer k], each [B, T, D]; when asked. */
  hiddenStates?: tf.Tensor3D[];
}

export interface LanguageModel {
  readonly info: ModelInfo;
  /** Trainable parameters by canonical name (see the file comment). */
  readonly params: Map<string, tf.Variable>;
  /**
   * Maps applied to the residual stream right after a kept layer (by original index), [B, T, D] →
   * [B, T, D]: where a fitted replacement stands in for the block a cut removed.
   */
  readonly afterLayer: Map<number, (hidden: tf.Tensor3D) => tf.Tensor3D>;
  /** Width of `forward`'s lastHidden (Dhead): D, or OPT's word_embed_proj_dim after project_out. */
  readonly headWidth: number;
  /** inputIds, attentionMask: [B, T] int32 (mask 1 for real tokens). */
  forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options?: ForwardOptions): ForwardOutput;
  /** The final norm and projections that turn any residual-stream state [.., D] into LM-head input (logit lens). */
  headInput(hidden: tf.Tensor): tf.Tensor;
  /** LM head: [..., Dhead] → [..., V], or only the vocabulary rows `tokenIds` → [..., C]. */
  lmHead(hidden: tf.Tensor, tokenIds?: tf.Tensor1D): tf.Tensor;
  /** forward + lmHead over the whole vocabulary: [B, T, V]. */
  logits(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): tf.Tensor3D;
  dispose(): void;
}
