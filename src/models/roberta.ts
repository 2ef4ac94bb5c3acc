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
import { encoderFamily } from './bert.js';

export const roberta = encoderFamily({
  modelType: 'roberta',
  names: {
    base: 'roberta.',
    headDense: 'lm_head.dense',
    headNorm: 'lm_head.layer_norm',
    headBias: 'lm_head.bias',
    headDecoder: 'lm_head.decoder.weight',
  },
  positionsUsable: (tableSize, padTokenId) => tableSize - padTokenId - 1,
  defaultPadTokenId: 1,
  headActivation: () => 'gelu',
  /** cumsum(id ≠ pad) · (id ≠ pad) + pad: [B, T] → [B, T] int32. */
  positionIds(inputIds, config) {
    const pad = config.padTokenId;
    const real = tf.cast(tf.notEqual(inputIds, tf.scalar(pad, 'int32')), 'int32');
    return tf.add(tf.mul(tf.cumsum(real, 1), real), tf.scalar(pad, 'int32'));
  },
});
