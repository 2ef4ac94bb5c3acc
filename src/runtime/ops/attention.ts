/**
 * Multi-head attention. Shapes: B batch, T tokens, H query heads, Hkv key/value heads, Dh head
 * width.
 *
 * Self-attention over projections (`packedSelfAttention`, `selfAttention`) is, on webgpu, one
 * flash-attention program each way (src/runtime/attention/flash.ts) where the shapes fit and
 * LAYERCUT_NO_FLASH_ATTENTION is off; elsewhere heads split, `attention`, heads merged, with the
 * softmax one program each way on webgpu (src/runtime/fused/attention-softmax.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { flashAttention, flashAttentionFits, type HeadLayout } from '../attention/flash.js';
import { deviceScalar } from '../constants.js';
import { envValue } from '../../env.js';
import { fusedMaskedSoftmax } from '../fused/attention-softmax.js';
import { defineOp } from './registry.js';

export type { HeadLayout };

/** [B, T, H·Dh] → [B, H, T, Dh] */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [batch, seq, width] = x.shape as [number, number, number];
  return x.reshape([batch, seq, heads, width / heads]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, Dh] → [B, T, H·Dh] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [batch, heads, seq, headDim] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([batch, seq, heads * headDim]) as tf.Tensor3D;
}

/** Whether flash attention is wanted (its programs run only in the webgpu kernel set). */
function flashWanted(): boolean {
  return !envValue('noFlashAttention');
}

/**
 * Self-attention over packed projections: qkv [B, T, (H + 2·Hkv)·Dh] holds the query heads, then
 * the key heads, then the value heads, each Dh wide (GPT-2's c_attn output) → [B, T, H·Dh], heads
 * merged. `causal`: the bias masks every key after its query.
 */
type PackedArgs = [qkv: tf.Tensor3D, bias: tf.Tensor4D, layout: HeadLayout, scale: number, causal: boolean];
export const packedSelfAttention: (...args: PackedArgs) => tf.Tensor3D = defineOp<PackedArgs, tf.Tensor3D>(
  'packedSelfAttention',
  {
    webgpu: (qkv, bias, layout, scale, causal) =>
      flashWanted() && qkv.dtype === 'float32' && flashAttentionFits(qkv.shape, bias, layout)
        ? flashAttention(qkv, bias, layout, scale, causal)
        : undefined,
    tfjs: (qkv, bias, layout, scale) => {
      const { heads, kvHeads, headDim } = layout;
      const [q, k, v] = tf.split(qkv, [heads * headDim, kvHeads * headDim, kvHeads * headDim], 2);
      return splitHeadsAttention(q!, k!, v!, bias, layout, scale);
    },
  },
);

/**
 * `packedSelfAttention` for separate projections: q [B, T, H·Dh], k and v [B, T, Hkv·Dh] →
 * [B, T, H·Dh]. On webgpu they are concatenated into the packed input of the one program.
 */
type SeparateArgs = [
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor4D,
  layout: HeadLayout,
  scale: number,
  causal: boolean,
];
export const selfAttention: (...args: SeparateArgs) => tf.Tensor3D = defineOp<SeparateArgs, tf.Tensor3D>(
  'selfAttention',
  {
    webgpu: (q, k, v, bias, layout, scale, causal) => {
      const { heads, kvHeads, headDim } = layout;
      const [batch, seq] = q.shape;
      const packs =
        [q, k, v].every((t) => t.dtype === 'float32' && t.shape[0] === batch && t.shape[1] === seq) &&
        q.shape[2] === heads * headDim &&
        k.shape[2] === kvHeads * headDim &&
        v.shape[2] === kvHeads * headDim;
      if (
        !flashWanted() ||
        !packs ||
        !flashAttentionFits([batch, seq, (heads + 2 * kvHeads) * headDim], bias, layout)
      )
        return undefined;
      const qkv = tf.concat([q, k, v], 2) as tf.Tensor3D; // [B, T, (H + 2·Hkv)·Dh]
      return flashAttention(qkv, bias, layout, scale, causal);
    },
    tfjs: (q, k, v, bias, layout, scale) => splitHeadsAttention(q, k, v, bias, layout, scale),
  },
);

/** q [B, T, H·Dh], k and v [B, T, Hkv·Dh] → heads split, `attention`, merged: [B, T, H·Dh]. */
function splitHeadsAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor4D,
  { heads, kvHeads }: HeadLayout,
  scale: number,
): tf.Tensor3D {
  return mergeHeads(
    attention(splitHeads(q, heads), splitHeads(k, kvHeads), splitHeads(v, kvHeads), bias, scale),
  );
}

/**
 * Scaled dot-product attention. q: [B, H, Tq, Dh], k and v: [B, Hkv, Tk, Dh] (Hkv divides H:
 * grouped-query attention repeats each key/value head H/Hkv times), bias broadcastable to
 * [B, H, Tq, Tk]. Returns [B, H, Tq, Dh].
 */
export function attention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor4D,
  scale: number,
): tf.Tensor4D {
  const heads = q.shape[1];
  const kvHeads = k.shape[1];
  if (kvHeads !== heads) {
    k = repeatHeads(k, heads / kvHeads);
    v = repeatHeads(v, heads / kvHeads);
  }
  const scores = tf.matMul(q, k, false, true) as tf.Tensor4D; // [B, H, Tq, Tk]
  const probs = attentionProbabilities(scores, bias, scale); // [B, H, Tq, Tk]
  return tf.matMul(probs, v) as tf.Tensor4D; // [B, H, Tq, Dh]
}

/**
 * softmax(scores · scale + bias) over the last axis: scores [B, H, Tq, Tk], bias [B, 1, Tq, Tk]
 * or [B, 1, 1, Tk].
 */
export const attentionProbabilities: (scores: tf.Tensor4D, bias: tf.Tensor4D, scale: number) => tf.Tensor4D =
  defineOp('attentionProbabilities', {
    webgpu: (scores, bias, scale) => fusedMaskedSoftmax(scores, bias, scale),
    tfjs: (scores, bias, scale) => {
      const scaled = scale === 1 ? scores : tf.mul(scores, deviceScalar(scale));
      return tf.softmax(tf.add(scaled, bias)) as tf.Tensor4D;
    },
  });

/**
 * [B, Hkv, T, Dh] → [B, Hkv·n, T, Dh], each head repeated n times in place (as `repeat_kv`).
 * Tiles a 4-D view: tfjs has no gradient for tiling 5-D tensors.
 */
function repeatHeads(x: tf.Tensor4D, n: number): tf.Tensor4D {
  const [batch, kvHeads, seq, headDim] = x.shape;
  return tf
    .tile(x.reshape([batch, kvHeads, 1, seq * headDim]), [1, 1, n, 1])
    .reshape([batch, kvHeads * n, seq, headDim]) as tf.Tensor4D;
}
