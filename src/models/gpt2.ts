/**
 * GPT-2 (every size, GPT2-XL included), as Hugging Face's `GPT2LMHeadModel`.
 *
 * Checkpoint keys (hub checkpoints have no prefix; `save_pretrained` adds "transformer."):
 *   wte.weight [V, D]  wpe.weight [P, D]  ln_f.{weight,bias} [D]  lm_head.weight [V, D] (only if untied)
 *   h.{i}.ln_1.{weight,bias} [D]          h.{i}.ln_2.{weight,bias} [D]
 *   h.{i}.attn.c_attn.{weight [D, 3D], bias [3D]}    h.{i}.attn.c_proj.{weight [D, D], bias [D]}
 *   h.{i}.mlp.c_fc.{weight [D, F], bias [F]}         h.{i}.mlp.c_proj.{weight [F, D], bias [D]}
 * GPT-2's Conv1D stores weights as [in, out]. Blocks are pre-LayerNorm:
 *   h = h + attn(ln_1(h));  h = h + mlp(ln_2(h));  then ln_f, then logits = h · wteᵀ.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigReader } from './config.js';
import { ACTIVATIONS, linearInOut, type Activation } from './layers.js';
import { packedSelfAttention } from '../runtime/ops/attention.js';
import { positionsFromMask } from '../runtime/ops/masks.js';
import { addLayerNorm, layerNorm } from '../runtime/ops/norms.js';
import {
  DecoderModel,
  normOfStream,
  streamAndNorm,
  withUntiedHead,
  type HeadWeights,
  type Stream,
} from './decoder.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

export interface Gpt2Config extends FamilyConfig {
  heads: number;
  innerSize: number;
  layerNormEps: number;
  activation: Activation;
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  tieWordEmbeddings: boolean;
}

const head: HeadWeights = { embeddings: 'wte.weight', untied: 'lm_head.weight' };

export const gpt2: ModelFamily<Gpt2Config> = {
  modelTypes: ['gpt2'],
  keyPrefixes: ['', 'transformer.'],
  probeTensor: 'wte.weight',
  savePrefix: 'transformer.',
  layerPrefix: (index) => `h.${index}.`,
  numLayersKey: 'n_layer',

  parseConfig(json) {
    const read = new ConfigReader(json, 'gpt2');
    const hiddenSize = read.positiveInteger('n_embd');
    return {
      modelType: 'gpt2',
      numLayers: read.positiveInteger('n_layer'),
      hiddenSize,
      vocabSize: read.positiveInteger('vocab_size'),
      maxPositions: read.positiveInteger('n_positions'),
      heads: read.divisorOf('n_head', 'n_embd', hiddenSize),
      innerSize: read.positiveInteger('n_inner', 4 * hiddenSize),
      layerNormEps: read.positiveNumber('layer_norm_epsilon', 1e-5),
      activation: read.oneOf('activation_function', ACTIVATIONS, 'gelu_new'),
      scaleAttnWeights: read.boolean('scale_attn_weights', true),
      scaleAttnByInverseLayerIdx: read.boolean('scale_attn_by_inverse_layer_idx', false),
      tieWordEmbeddings: read.boolean('tie_word_embeddings', true),
    };
  },

  expectedTensors(c, keptLayers) {
    const d = c.hiddenSize;
    const shapes = new Map<string, number[]>([
      ['wte.weight', [c.vocabSize, d]],
      ['wpe.weight', [c.maxPositions, d]],
    ]);
    for (const i of keptLayers) {
      const p = `h.${i}.`;
      shapes.set(`${p}ln_1.weight`, [d]).set(`${p}ln_1.bias`, [d]);
      shapes.set(`${p}attn.c_attn.weight`, [d, 3 * d]).set(`${p}attn.c_attn.bias`, [3 * d]);
      shapes.set(`${p}attn.c_proj.weight`, [d, d]).set(`${p}attn.c_proj.bias`, [d]);
      shapes.set(`${p}ln_2.weight`, [d]).set(`${p}ln_2.bias`, [d]);
      shapes.set(`${p}mlp.c_fc.weight`, [d, c.innerSize]).set(`${p}mlp.c_fc.bias`, [c.innerSize]);
      shapes.set(`${p}mlp.c_proj.weight`, [c.innerSize, d]).set(`${p}mlp.c_proj.bias`, [d]);
    }
    shapes.set('ln_f.weight', [d]).set('ln_f.bias', [d]);
    return withUntiedHead(shapes, c, head.untied, d);
  },

  build: (config, keptLayers, params): LanguageModel => new Gpt2Model(gpt2, config, keptLayers, params),
};

class Gpt2Model extends DecoderModel<Gpt2Config> {
  protected readonly headWeights = head;

  /** Token + position embeddings, [B, T] → [B, T, D], their sum left to the first norm. */
  protected embed(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): Stream {
    const positions = positionsFromMask(attentionMask);
    return {
      residual: tf.gather(this.p('wte.weight'), inputIds) as tf.Tensor3D,
      update: tf.gather(this.p('wpe.weight'), positions) as tf.Tensor3D,
    };
  }

  /** One pre-LN block: [B, T, D] → [B, T, D], its last residual add left to the next norm. */
  protected block(layer: number, stream: Stream, bias: tf.Tensor4D): Stream {
    const c = this.config;
    const p = (name: string) => this.p(`h.${layer}.${name}`);
    const eps = c.layerNormEps;

    const [h, x] = streamAndNorm(stream, p('ln_1.weight'), p('ln_1.bias'), eps); // the stream, ln_1 of it
    const qkv = linearInOut(x, p('attn.c_attn.weight'), p('attn.c_attn.bias')) as tf.Tensor3D; // [B, T, 3D]
    const headDim = c.hiddenSize / c.heads;
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(headDim) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= layer + 1; // the original index, also after a cut
    const layout = { heads: c.heads, kvHeads: c.heads, headDim };
    const attended = packedSelfAttention(qkv, bias, layout, scale, true); // [B, T, D]
    const projected = linearInOut(attended, p('attn.c_proj.weight'), p('attn.c_proj.bias'));
    const [residual, y] = addLayerNorm(h, projected, p('ln_2.weight'), p('ln_2.bias'), eps); // h + attn, ln_2 of it
    const inner = this.act(linearInOut(y, p('mlp.c_fc.weight'), p('mlp.c_fc.bias'))); // [B, T, F]
    const update = linearInOut(inner, p('mlp.c_proj.weight'), p('mlp.c_proj.bias')) as tf.Tensor3D;
    return { residual: residual as tf.Tensor3D, update };
  }

  headInput(hidden: tf.Tensor): tf.Tensor {
    return layerNorm(hidden, this.p('ln_f.weight'), this.p('ln_f.bias'), this.config.layerNormEps);
  }

  /** ln_f of the last block's stream, its pending residual add in the norm's program. */
  protected override headInputOf(stream: Stream): tf.Tensor {
    return normOfStream(stream, this.p('ln_f.weight'), this.p('ln_f.bias'), this.config.layerNormEps);
  }
}
