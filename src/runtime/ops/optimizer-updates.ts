/**
 * The optimizers' per-parameter updates, AdamW's and SGD's, one kernel per kernel set
 * (./registry.ts). The optimizers (src/train/optimizers.ts) hold the state and the per-step
 * scalars; the state is the same for every kernel set, so the set may change between two steps.
 *
 * AdamW, as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with the moments
 * kept scaled, m̂ = m / (1 − β1) and v̂ = v / (1 − β2), which saves one op per parameter on each:
 *
 *   m̂ ← β1·m̂ + g      v̂ ← β2·v̂ + g²      p ← p·(1 − lr·wd) − A · m̂ / (√v̂ + E)
 *   A = lr/(1 − β1ᵗ) · (1 − β1) · √(1 − β2ᵗ) / √(1 − β2)      E = ε · √(1 − β2ᵗ) / √(1 − β2)
 *
 * which equals torch's  p ← p·(1 − lr·wd) − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε).
 * A parameter's m̂ and v̂ are one tensor, its moments [2, ...p's shape], for every kernel set.
 *
 *   webgpu   one fused in-place pass per two parameters (../fused-adamw.ts); tensors it does not
 *            take: the tfjs kernel
 *   tfjs     the update above in ten device ops (eleven with decay), β1 and β2 kept on the
 *            device, A, E and the decay factor uploaded once per step
 *   plain    torch's formula on m = m̂·(1 − β1) and v = v̂·(1 − β2), JS numbers as operands
 *
 * SGD with momentum, as torch.optim.SGD: d = g + wd·p; buf ← μ·buf + d; p ← p − lr·buf. tfjs: μ
 * and wd kept on the device, the rate uploaded once per step; plain: JS numbers as operands.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAdamWUpdates, type AdamWParameter, type FusedAdamWScalars } from '../fused-adamw.js';
import { defineOp } from './registry.js';

/** One AdamW step's scalars, as numbers and (made on first call, once per step) as device tensors. */
export interface AdamWStep extends FusedAdamWScalars {
  lr: number;
  /** The step's number, from 1. */
  t: number;
  /** ε, times the gradients' scale (AdamW's update is the same for scaled gradients then). */
  eps: number;
  weightDecay: number;
  /** The tfjs kernel's operands: β1, β2, A, E and the decay factor 1 − lr·wd. */
  deviceScalars: () => { beta1: tf.Scalar; beta2: tf.Scalar; a: tf.Scalar; e: tf.Scalar; decay: tf.Scalar };
}

/** [A, E, 1 − lr·wd] of the step (see the file comment), computed in float64. */
export function adamWFactors(step: Pick<AdamWStep, 'lr' | 't' | 'beta1' | 'beta2' | 'eps' | 'weightDecay'>) {
  const { lr, t, beta1, beta2, eps, weightDecay } = step;
  const sqrtBias2 = Math.sqrt(1 - beta2 ** t) / Math.sqrt(1 - beta2);
  return [(lr / (1 - beta1 ** t)) * (1 - beta1) * sqrtBias2, eps * sqrtBias2, 1 - lr * weightDecay];
}

/**
 * Updates parameters and their scaled moments in place (each `AdamWParameter`: p and g of p's
 * shape, the moments [2, ...p's shape], and whether p decays); returns the parameters.
 */
export const adamWUpdate: (parameters: readonly AdamWParameter[], step: AdamWStep) => tf.Variable[] =
  defineOp('adamWUpdate', {
    webgpu: (parameters, step) => {
      for (const u of fusedAdamWUpdates(parameters, step)) adamWWithTfjs(u, step);
      return parameters.map((u) => u.param);
    },
    tfjs: (parameters, step) => parameters.map((u) => adamWWithTfjs(u, step)),
    plain: (parameters, step) => parameters.map((u) => adamWPlain(u, step)),
  });

/** m̂ ← β1·m̂ + g and v̂ ← β2·v̂ + g², written back into `moments` [2, ...]; returns [m̂, v̂]. Call inside tf.tidy. */
function nextMoments(
  moments: tf.Variable,
  grad: tf.Tensor,
  beta1: tf.Scalar | number,
  beta2: tf.Scalar | number,
): [tf.Tensor, tf.Tensor] {
  const [m0, v0] = tf.unstack(moments) as [tf.Tensor, tf.Tensor];
  const m = tf.add(tf.mul(m0, beta1), grad);
  const v = tf.add(tf.mul(v0, beta2), tf.square(grad));
  moments.assign(tf.stack([m, v]));
  return [m, v];
}

function adamWWithTfjs({ param, grad, moments, decays }: AdamWParameter, step: AdamWStep): tf.Variable {
  const s = step.deviceScalars();
  tf.tidy(() => {
    const [m, v] = nextMoments(moments, grad, s.beta1, s.beta2);
    const decayed = decays ? tf.mul(param, s.decay) : param;
    param.assign(tf.sub(decayed, tf.mul(tf.div(m, tf.add(tf.sqrt(v), s.e)), s.a)));
  });
  return param;
}

function adamWPlain({ param, grad, moments, decays }: AdamWParameter, step: AdamWStep): tf.Variable {
  const { lr, t, beta1, beta2, eps, weightDecay } = step;
  tf.tidy(() => {
    const [m, v] = nextMoments(moments, grad, beta1, beta2);
    const [torchM, torchV] = [tf.mul(m, 1 - beta1), tf.mul(v, 1 - beta2)];
    const decayed = decays ? tf.mul(param, 1 - lr * weightDecay) : param;
    const denom = tf.add(tf.div(tf.sqrt(torchV), Math.sqrt(1 - beta2 ** t)), eps);
    param.assign(tf.sub(decayed, tf.mul(tf.div(torchM, denom), lr / (1 - beta1 ** t))));
  });
  return param;
}

/** One parameter's SGD update: p, g and the momentum buffer (zeros at first; none without momentum), all p's shape. */
export interface SgdParameter {
  param: tf.Variable;
  grad: tf.Tensor;
  buffer: tf.Variable | undefined;
  decays: boolean;
}

/** One SGD step's scalars, as numbers and (made on first call, once per step) as device tensors. */
export interface SgdStep {
  rate: number;
  /** wd, times the gradients' scale (the decay term is added to the scaled gradients). */
  decayTerm: number;
  momentum: number;
  deviceScalars: () => { rate: tf.Scalar; decayTerm: tf.Scalar; momentum: tf.Scalar };
}

/** Updates one parameter and its momentum buffer in place; returns p. */
export const sgdUpdate: (u: SgdParameter, step: SgdStep) => tf.Variable = defineOp('sgdUpdate', {
  tfjs: (u, step) => sgdWith(u, step.deviceScalars()),
  plain: (u, step) => sgdWith(u, step),
});

function sgdWith(
  { param, grad, buffer, decays }: SgdParameter,
  s: { rate: tf.Scalar | number; decayTerm: tf.Scalar | number; momentum: tf.Scalar | number },
): tf.Variable {
  tf.tidy(() => {
    const direction = decays ? tf.add(grad, tf.mul(param, s.decayTerm)) : grad;
    if (buffer) buffer.assign(tf.add(tf.mul(buffer, s.momentum), direction));
    param.assign(tf.sub(param, tf.mul(buffer ?? direction, s.rate)));
  });
  return param;
}
