/**
 * Building blocks shared by the model families: linear maps in both checkpoint layouts,
 * LayerNorm, activations, and masked multi-head attention. Each takes plain tensors and
 * returns a new tensor; callers wrap a whole forward pass in `tf.tidy`.
 *
 * Shapes: B batch, T tokens, D model width, H heads, Dh head width, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';

/**
 * `x @ W + b` for a weight stored as [in, out] (GPT-2's Conv1D layout).
 * x: [..., in] → [..., out].
 */
export function linearInOut(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return project(x, weight, false, bias);
}

/**
 * `x @ Wᵀ + b` for a weight stored as [out, in] (PyTorch `nn.Linear`, used by OPT, Llama, BERT).
 * x: [..., in] → [..., out].
 */
export function linearOutIn(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return project(x, weight, true, bias);
}

function project(x: tf.Tensor, weight: tf.Tensor, transposeWeight: boolean, bias?: tf.Tensor): tf.Tensor {
  const inFeatures = x.shape[x.shape.length - 1]!;
  const outFeatures = weight.shape[transposeWeight ? 0 : 1]!;
  const rows = x.reshape([-1, inFeatures]) as tf.Tensor2D; // [N, in]
  let y: tf.Tensor = tf.matMul(rows, weight as tf.Tensor2D, false, transposeWeight); // [N, out]
  if (bias) y = tf.add(y, bias);
  return y.reshape([...x.shape.slice(0, -1), outFeatures]);
}

/**
 * LayerNorm over the last axis with an analytic gradient. tfjs's own `mean` gradient builds an
 * array of ones on the CPU at every step; this one keeps the whole backward pass on the device.
 * x: [..., D], gain and bias: [D].
 */
export function layerNorm(
  x: tf.Tensor,
  gain: tf.Tensor | undefined,
  bias: tf.Tensor | undefined,
  eps: number,
): tf.Tensor {
  const normed = normalize(x, eps);
  let y = normed;
  if (gain) y = tf.mul(y, gain);
  if (bias) y = tf.add(y, bias);
  return y;
}

/** (x − mean) / sqrt(var + eps) over the last axis, with a custom gradient. */
function normalize(x: tf.Tensor, eps: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const axis = input.rank - 1;
    const mean = tf.mean(input, axis, true); // [..., 1]
    const centered = tf.sub(input, mean);
    const variance = tf.mean(tf.square(centered), axis, true); // biased, as PyTorch
    const invStd = tf.rsqrt(tf.add(variance, eps)); // [..., 1]
    const xhat = tf.mul(centered, invStd);
    save([xhat, invStd]);
    return {
      value: xhat,
      // dx = invStd · (dy − mean(dy) − x̂ · mean(dy · x̂))
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        dy = dy as tf.Tensor;
        const [savedXhat, savedInvStd] = saved as [tf.Tensor, tf.Tensor];
        const meanDy = tf.mean(dy, axis, true);
        const meanDyXhat = tf.mean(tf.mul(dy, savedXhat), axis, true);
        return tf.mul(savedInvStd, tf.sub(tf.sub(dy, meanDy), tf.mul(savedXhat, meanDyXhat)));
      },
    };
  });
  return op(x);
}

export type Activation = 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu' | 'relu' | 'silu' | 'swish';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
      return (x) =>
        tf.mul(
          tf.mul(x, 0.5),
          tf.add(1, tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
        );
    case 'gelu':
      // exact: 0.5 · x · (1 + erf(x / √2))
      return (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'relu':
      return (x) => tf.relu(x);
    case 'silu':
    case 'swish':
      return (x) => tf.mul(x, tf.sigmoid(x));
    default:
      throw new LayercutError(
        `unsupported activation function '${name}' in config.json`,
        'layercut knows gelu_new, gelu_pytorch_tanh, gelu, relu and silu',
      );
  }
}

/** A large negative bias that masks a logit out without producing NaN or -inf arithmetic. */
const MASKED = -1e9;

/**
 * Additive attention bias for causal self-attention over a padded batch.
 * attentionMask: [B, T] with 1 for real tokens → bias [B, 1, T, T] (0 where allowed, −1e9 elsewhere).
 */
export function causalMaskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, seq] = attentionMask.shape;
    const causal = tf.linalg.bandPart(tf.ones([seq, seq]), -1, 0); // [T, T], lower triangle
    const keys = tf.cast(attentionMask, 'float32').reshape([batch, 1, 1, seq]); // [B,1,1,T]
    const allowed = tf.mul(causal.reshape([1, 1, seq, seq]), keys); // [B,1,T,T]
    return tf.mul(tf.sub(1, allowed), MASKED) as tf.Tensor4D;
  });
}

/**
 * Additive attention bias for bidirectional (encoder) attention: only padding keys are masked.
 * attentionMask: [B, T] → bias [B, 1, 1, T].
 */
export function paddingMaskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, seq] = attentionMask.shape;
    const keys = tf.cast(attentionMask, 'float32').reshape([batch, 1, 1, seq]);
    return tf.mul(tf.sub(1, keys), MASKED) as tf.Tensor4D;
  });
}

/**
 * Position of each token among the real tokens of its row: cumsum(mask) − 1, 0 at padding.
 * For right-padded batches this equals 0..T−1 on real tokens (what GPT-2 uses); for OPT it is
 * exactly Hugging Face's rule (its learned positions add `offset` = 2).
 * attentionMask: [B, T] int32 → [B, T] int32.
 */
export function positionsFromMask(attentionMask: tf.Tensor2D, offset = 0): tf.Tensor2D {
  return tf.tidy(() => {
    const mask = tf.cast(attentionMask, 'int32');
    const positions = tf.mul(tf.sub(tf.cumsum(mask, 1), tf.scalar(1, 'int32')), mask);
    return (offset ? tf.add(positions, tf.scalar(offset, 'int32')) : positions) as tf.Tensor2D;
  });
}

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
  let scores = tf.matMul(q, k, false, true); // [B, H, Tq, Tk]
  if (scale !== 1) scores = tf.mul(scores, scale);
  const probs = tf.softmax(tf.add(scores, bias)); // [B, H, Tq, Tk]
  return tf.matMul(probs, v) as tf.Tensor4D; // [B, H, Tq, Dh]
}

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
