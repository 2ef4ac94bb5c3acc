/**
 * Building blocks shared by the model families: linear maps in both checkpoint layouts,
 * LayerNorm, activations, and masked multi-head attention. Each takes plain tensors and
 * returns a new tensor; callers wrap a whole forward pass in `tf.tidy`.
 *
 * Shapes: B batch, T tokens, D model width, H heads, Dh head width, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { deviceConstant, deviceScalar } from '../runtime/constants.js';
import { plainOps } from '../runtime/flags.js';
import {
  flashAttention,
  flashAttentionActive,
  flashAttentionFits,
  type HeadLayout,
} from '../runtime/attention/flash.js';
import { fusedMaskedSoftmax } from '../runtime/fused/attention-softmax.js';
import { fusedGeluTanh } from '../runtime/fused/gelu.js';
import { fusedLayerNorm } from '../runtime/fused/layer-norm.js';
import { fusedCausalBias, fusedPositions } from '../runtime/fused/masks.js';
import { fusedKernelsActive } from '../runtime/fused/program.js';
import { matMulBias } from '../runtime/linear.js';
import { projectionHooks } from './projection-hooks.js';

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
  // x W + b as one op where it can be (src/runtime/linear.ts: it keeps only x and W for backward)
  const fuseBias = bias !== undefined && !plainOps();
  const product = fuseBias
    ? matMulBias(rows, weight as tf.Tensor2D, bias as tf.Tensor1D, transposeWeight)
    : (tf.matMul(rows, weight as tf.Tensor2D, false, transposeWeight) as tf.Tensor2D); // [N, out]
  // the bias if not fused, and a LoRA adapter's update or an observer where one is attached (projection-hooks.ts)
  const y = projectionHooks(weight, rows, product, fuseBias ? undefined : bias);
  return y.reshape([...x.shape.slice(0, -1), outFeatures]);
}

/**
 * LayerNorm over the last axis: (x − mean) / √(var + eps) · gain + bias, var biased (as
 * PyTorch). x: [..., D], gain and bias: [D].
 *
 * The normalisation has an analytic gradient that uses only reductions and saved tensors:
 * tfjs's own `Mean` gradient fills an array of ones on the host and uploads it at every step
 * (half a GPT-2 training step on WebGPU), and `eps` is a device constant. LAYERCUT_PLAIN_OPS
 * switches to the plain `tf.moments` formulation.
 */
export function layerNorm(
  x: tf.Tensor,
  gain: tf.Tensor | undefined,
  bias: tf.Tensor | undefined,
  eps: number,
): tf.Tensor {
  // on webgpu: two programs forward, a few backward (src/runtime/fused/layer-norm.ts)
  if (gain && bias && fusedKernelsActive()) return fusedLayerNorm(x, gain, bias, eps);
  let y = plainOps() ? plainNormalize(x, eps) : normalize(x, eps);
  if (gain) y = tf.mul(y, gain);
  if (bias) y = tf.add(y, bias);
  return y;
}

/** (x − mean) / √(var + eps) over the last axis, with an analytic gradient. x: [..., D]. */
function normalize(x: tf.Tensor, eps: number): tf.Tensor {
  const epsilon = deviceScalar(eps);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const axis = input.rank - 1;
    const mean = tf.mean(input, axis, true); // [..., 1]
    const centered = tf.sub(input, mean);
    const variance = tf.mean(tf.square(centered), axis, true); // biased, as PyTorch
    const invStd = tf.rsqrt(tf.add(variance, epsilon)); // [..., 1]
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

/** The plain formulation (LAYERCUT_PLAIN_OPS): tf.moments, differentiated by tfjs. */
function plainNormalize(x: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, x.rank - 1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
}

/**
 * RMSNorm over the last axis, as Llama's: x / √(mean(x²) + eps) · gain, with an analytic
 * gradient that stays on the device (as `layerNorm`). x: [..., D], gain: [D].
 */
export function rmsNorm(x: tf.Tensor, gain: tf.Tensor, eps: number): tf.Tensor {
  if (plainOps()) {
    const meanSquare = tf.mean(tf.square(x), x.rank - 1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain);
  }
  const epsilon = deviceScalar(eps);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const axis = input.rank - 1;
    const invRms = tf.rsqrt(tf.add(tf.mean(tf.square(input), axis, true), epsilon)); // [..., 1]
    const xhat = tf.mul(input, invRms);
    save([xhat, invRms]);
    return {
      value: xhat,
      // dx = invRms · (dy − x̂ · mean(dy · x̂))
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        dy = dy as tf.Tensor;
        const [savedXhat, savedInvRms] = saved as [tf.Tensor, tf.Tensor];
        const meanDyXhat = tf.mean(tf.mul(dy, savedXhat), axis, true);
        return tf.mul(savedInvRms, tf.sub(dy, tf.mul(savedXhat, meanDyXhat)));
      },
    };
  });
  return tf.mul(op(x), gain);
}

/** The activation functions layercut computes, by their config.json names (families check configs against it). */
export const ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu', 'silu', 'swish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/**
 * The activation function `name` (config.json's `activation_function` / `hidden_act`).
 * The GELUs and SiLU have analytic gradients whose constants stay on the device; the
 * LAYERCUT_PLAIN_OPS switch is read at each call.
 */
export function activation(name: Activation): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return (x) => (plainOps() ? plainGeluTanh(x) : fusedKernelsActive() ? fusedGeluTanh(x) : geluTanh(x));
    case 'gelu':
      return (x) => (plainOps() ? plainGeluErf(x) : geluErf(x));
    case 'relu':
      return (x) => tf.relu(x);
    case 'silu':
    case 'swish':
      return (x) => (plainOps() ? tf.mul(x, tf.sigmoid(x)) : silu(x));
    default:
      throw new LayercutError(
        `unsupported activation function '${name}' in config.json`,
        `layercut knows ${ACTIVATIONS.join(', ')}`,
      );
  }
}

/** 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), by tfjs ops and JS numbers. */
function plainGeluTanh(x: tf.Tensor): tf.Tensor {
  return tf.mul(
    tf.mul(x, 0.5),
    tf.add(1, tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(GELU_CUBIC, tf.pow(x, 3)))))),
  );
}

/** 0.5 · x · (1 + erf(x / √2)), by tfjs ops and JS numbers. */
function plainGeluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/**
 * The tanh GELU y = ½ · x · (1 + t), t = tanh(u), u = √(2/π) · (x + 0.044715 · x³), with its
 * derivative written out (in the form PyTorch's autograd evaluates, which keeps float32
 * rounding close to it):  dy/dx = ½ · ((1 + t) + x · (1 − t²) · √(2/π) · (1 + 3 · 0.044715 · x²)).
 */
function geluTanh(x: tf.Tensor): tf.Tensor {
  // Constants are fetched inside each pass: tfjs disposes the forward pass's tensors before
  // the backward one runs, fresh scalars (CPU backends) included.
  const c = () => deviceScalar(SQRT_2_OVER_PI);
  const one = () => deviceScalar(1);
  const half = () => deviceScalar(0.5);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const cube = tf.mul(tf.square(input), input);
    const t = tf.tanh(tf.mul(tf.add(input, tf.mul(cube, deviceScalar(GELU_CUBIC))), c()));
    save([input, t]);
    return {
      value: tf.mul(tf.mul(input, half()), tf.add(t, one())),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedT] = saved as [tf.Tensor, tf.Tensor];
        const dudx = tf.add(tf.mul(tf.square(savedX), deviceScalar(3 * GELU_CUBIC * SQRT_2_OVER_PI)), c());
        const dtdu = tf.sub(one(), tf.square(savedT));
        const slope = tf.add(tf.add(savedT, one()), tf.mul(savedX, tf.mul(dtdu, dudx)));
        return tf.mul(dy as tf.Tensor, tf.mul(slope, half()));
      },
    };
  });
  return op(x);
}

/** The exact GELU x · Φ(x), Φ(x) = (1 + erf(x/√2)) / 2; dy/dx = Φ(x) + x · exp(−x²/2) / √(2π). */
function geluErf(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const cdf = tf.mul(
      tf.add(tf.erf(tf.mul(input, deviceScalar(Math.SQRT1_2))), deviceScalar(1)),
      deviceScalar(0.5),
    );
    save([input, cdf]);
    return {
      value: tf.mul(input, cdf),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedCdf] = saved as [tf.Tensor, tf.Tensor];
        const pdf = tf.mul(
          tf.exp(tf.mul(tf.square(savedX), deviceScalar(-0.5))),
          deviceScalar(1 / Math.sqrt(2 * Math.PI)),
        );
        return tf.mul(dy as tf.Tensor, tf.add(savedCdf, tf.mul(savedX, pdf)));
      },
    };
  });
  return op(x);
}

/** SiLU x · σ(x); dy/dx = σ + x · (σ − σ²), no constants at all. */
function silu(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const s = tf.sigmoid(input);
    save([input, s]);
    return {
      value: tf.mul(input, s),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedS] = saved as [tf.Tensor, tf.Tensor];
        return tf.mul(dy as tf.Tensor, tf.add(savedS, tf.mul(savedX, tf.sub(savedS, tf.square(savedS)))));
      },
    };
  });
  return op(x);
}

/** A large negative bias that masks a logit out without producing NaN or -inf arithmetic. */
const MASKED = -1e9;

/**
 * Additive attention bias for causal self-attention over a padded batch. With `window` (sliding-
 * window attention, as Mistral's), a query also sees only the `window` latest keys, itself
 * included: key k is allowed for query q when q − window < k ≤ q (Hugging Face's rule).
 * attentionMask: [B, T] with 1 for real tokens → bias [B, 1, T, T] (0 where allowed, −1e9 elsewhere).
 */
export function causalMaskBias(attentionMask: tf.Tensor2D, window?: number): tf.Tensor4D {
  const [, seqLength] = attentionMask.shape;
  // on webgpu one program (src/runtime/fused/masks.ts); it knows no sliding window
  const windowBites = window !== undefined && window < seqLength;
  if (!windowBites && attentionMask.dtype === 'int32' && fusedKernelsActive()) {
    return fusedCausalBias(attentionMask, MASKED);
  }
  return tf.tidy(() => {
    const [batch, seq] = attentionMask.shape;
    const band = window === undefined || window >= seq ? -1 : window - 1; // keys below the diagonal
    const causal = plainOps()
      ? tf.linalg.bandPart(tf.ones([seq, seq]), band, 0)
      : deviceConstant(`causal:${seq}:${band}`, () => lowerBand(seq, band)); // [T, T]
    const keys = tf.cast(attentionMask, 'float32').reshape([batch, 1, 1, seq]); // [B,1,1,T]
    const allowed = tf.mul(causal.reshape([1, 1, seq, seq]), keys); // [B,1,T,T]
    return maskedWhereZero(allowed);
  });
}

/**
 * [T, T] float32 with 1 where key ≤ query and query − key ≤ `below` (any distance when `below` is
 * −1), 0 elsewhere.
 */
function lowerBand(seq: number, below: number): tf.Tensor2D {
  return tf.tidy(() => {
    // index tensors only, no JS-number operands: each of those would be an upload (a host tensor)
    const query = tf.range(0, seq, 1, 'int32').reshape([seq, 1]); // [T, 1]
    const key = tf.range(0, seq, 1, 'int32').reshape([1, seq]); // [1, T]
    const causal = tf.greaterEqual(query, key); // key ≤ query
    // query − key ≤ below  ⇔  query ≤ key + below
    const allowed = below < 0 ? causal : tf.logicalAnd(causal, tf.lessEqual(query, tf.range(below, seq + below, 1, 'int32').reshape([1, seq])));
    return tf.cast(allowed, 'float32') as tf.Tensor2D;
  });
}

/** (1 − allowed) · (−1e9): 0 where `allowed` is 1, −1e9 where it is 0. */
function maskedWhereZero(allowed: tf.Tensor): tf.Tensor4D {
  return tf.mul(tf.sub(deviceScalar(1), allowed), deviceScalar(MASKED)) as tf.Tensor4D;
}

/**
 * Additive attention bias for bidirectional (encoder) attention: only padding keys are masked.
 * attentionMask: [B, T] → bias [B, 1, 1, T].
 */
export function paddingMaskBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, seq] = attentionMask.shape;
    return maskedWhereZero(tf.cast(attentionMask, 'float32').reshape([batch, 1, 1, seq]));
  });
}

/**
 * Position of each token among the real tokens of its row: cumsum(mask) − 1, 0 at padding.
 * For right-padded batches this equals 0..T−1 on real tokens (what GPT-2 uses); for OPT it is
 * exactly Hugging Face's rule (its learned positions add `offset` = 2).
 * attentionMask: [B, T] int32 → [B, T] int32.
 */
export function positionsFromMask(attentionMask: tf.Tensor2D, offset = 0): tf.Tensor2D {
  if (attentionMask.dtype === 'int32' && fusedKernelsActive()) return fusedPositions(attentionMask, offset);
  return tf.tidy(() => {
    const mask = tf.cast(attentionMask, 'int32');
    const positions = tf.mul(tf.sub(tf.cumsum(mask, 1), deviceScalar(1, 'int32')), mask);
    return (offset ? tf.add(positions, deviceScalar(offset, 'int32')) : positions) as tf.Tensor2D;
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

export type { HeadLayout };

/**
 * Self-attention over packed projections: qkv [B, T, (H + 2·Hkv)·Dh] holds the query heads, then
 * the key heads, then the value heads, each Dh wide (GPT-2's c_attn output) → [B, T, H·Dh], heads
 * merged. `causal`: the bias masks every key after its query. On webgpu one program each way
 * (src/runtime/attention/flash.ts) where the shapes fit; else heads split, `attention`, merged.
 */
export function packedSelfAttention(
  qkv: tf.Tensor3D,
  bias: tf.Tensor4D,
  layout: HeadLayout,
  scale: number,
  causal: boolean,
): tf.Tensor3D {
  if (flashAttentionActive() && qkv.dtype === 'float32' && flashAttentionFits(qkv.shape, bias, layout)) {
    return flashAttention(qkv, bias, layout, scale, causal);
  }
  const { heads, kvHeads, headDim } = layout;
  const [q, k, v] = tf.split(qkv, [heads * headDim, kvHeads * headDim, kvHeads * headDim], 2);
  return mergeHeads(attention(splitHeads(q!, heads), splitHeads(k!, kvHeads), splitHeads(v!, kvHeads), bias, scale));
}

/**
 * `packedSelfAttention` for separate projections: q [B, T, H·Dh], k and v [B, T, Hkv·Dh] →
 * [B, T, H·Dh]. On webgpu they are concatenated into the packed input of the one program.
 */
export function selfAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor4D,
  layout: HeadLayout,
  scale: number,
  causal: boolean,
): tf.Tensor3D {
  const { heads, kvHeads, headDim } = layout;
  const [batch, seq] = q.shape;
  const packs =
    [q, k, v].every((t) => t.dtype === 'float32' && t.shape[0] === batch && t.shape[1] === seq) &&
    q.shape[2] === heads * headDim &&
    k.shape[2] === kvHeads * headDim &&
    v.shape[2] === kvHeads * headDim;
  if (flashAttentionActive() && packs && flashAttentionFits([batch, seq, (heads + 2 * kvHeads) * headDim], bias, layout)) {
    const qkv = tf.concat([q, k, v], 2) as tf.Tensor3D; // [B, T, (H + 2·Hkv)·Dh]
    return flashAttention(qkv, bias, layout, scale, causal);
  }
  return mergeHeads(attention(splitHeads(q, heads), splitHeads(k, kvHeads), splitHeads(v, kvHeads), bias, scale));
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
 * or [B, 1, 1, Tk]. On webgpu one program each way (src/runtime/fused/attention-softmax.ts).
 */
export function attentionProbabilities(scores: tf.Tensor4D, bias: tf.Tensor4D, scale: number): tf.Tensor4D {
  if (fusedKernelsActive()) return fusedMaskedSoftmax(scores, bias, scale);
  const scaled = scale === 1 ? scores : tf.mul(scores, deviceScalar(scale));
  return tf.softmax(tf.add(scaled, bias)) as tf.Tensor4D;
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
