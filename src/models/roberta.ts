/**
 * RoBERTa, as Hugging Face's `RobertaForMaskedLM`: BERT's encoder (see bert.ts) under the prefix
 * "roberta.", with its own masked-LM head and position ids.
 *
 * Checkpoint keys besides the encoder's (kept whole as parameter names):
 *   lm_head.dense.{weight [D, D], bias [D]}   lm_head.layer_norm.{weight,bias} [D]   lm_head.bias [V]
 *   lm_head.decoder.weight [V, D] (only if untied from roberta.embeddings.word_embeddings.weight)
 * The head always uses exact GELU: logits = LN(gelu(dense(h))) · word_embeddingsᵀ + bias.
 *
 * Position ids come from the input ids, not the attention mask (as `create_position_ids_from_input_ids`):
 * real tokens (id ≠ pad_token_id) count up from pad_token_id + 1, padding gets pad_token_id. So
 * only max_position_embeddings − pad_token_id − 1 tokens fit.
 */
import * as tf from '@tensorflow/tfjs';
import {
  EncoderModel,
  encoderTensors,
  parseEncoderConfig,
  type EncoderConfig,
  type EncoderNames,
} from './bert.js';
import type { LanguageModel, ModelFamily } from './types.js';

const robertaNames: EncoderNames = {
  base: 'roberta.',
  headDense: 'lm_head.dense',
  headNorm: 'lm_head.layer_norm',
  headBias: 'lm_head.bias',
  headDecoder: 'lm_head.decoder.weight',
};

export const roberta: ModelFamily<EncoderConfig> = {
  modelTypes: ['roberta'],
  keyPrefixes: [''],
  probeTensor: 'roberta.embeddings.word_embeddings.weight',
  savePrefix: '',
  layerPrefix: (index) => `roberta.encoder.layer.${index}.`,
  numLayersKey: 'num_hidden_layers',

  parseConfig(json) {
    return parseEncoderConfig(json, 'roberta', (tableSize, padTokenId) => tableSize - padTokenId - 1, 1);
  },

  expectedTensors(c, keptLayers) {
    return encoderTensors(c, keptLayers, robertaNames);
  },

  build(config, keptLayers, params): LanguageModel {
    return new RobertaModel(config, keptLayers, params);
  },
};

class RobertaModel extends EncoderModel {
  constructor(config: EncoderConfig, keptLayers: number[], params: Map<string, tf.Variable>) {
    super('roberta', roberta, config, keptLayers, params, robertaNames, 'gelu');
  }

  /** cumsum(id ≠ pad) · (id ≠ pad) + pad: [B, T] → [B, T] int32. */
  protected positionIds(inputIds: tf.Tensor2D): tf.Tensor2D {
    const pad = this.config.padTokenId;
    const real = tf.cast(tf.notEqual(inputIds, tf.scalar(pad, 'int32')), 'int32');
    return tf.add(tf.mul(tf.cumsum(real, 1), real), tf.scalar(pad, 'int32'));
  }
}
