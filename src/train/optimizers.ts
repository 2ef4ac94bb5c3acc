/**
 * Optimizers over named parameters: AdamW with decoupled weight decay (as torch.optim.AdamW)
 * and SGD with momentum. The learning rate is passed to each step (schedules live outside).
 *
 * Per-step scalars (rate, bias corrections) are written once per step into persistent scalar
 * variables, never created per parameter: on a GPU each fresh JS number is an upload.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';

export interface Optimizer {
  /** Applies one update with learning rate `lr` to every parameter that has a gradient. */
  step(grads: tf.NamedTensorMap, lr: number): void;
  /** How many steps were taken. */
  readonly steps: number;
  dispose(): void;
}

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Which parameters decay. Default: all but 1-D ones (biases and norm gains), as is usual. */
  decays?: (name: string, variable: tf.Variable) => boolean;
}

export const noDecayOnBiasesAndNorms = (_name: string, variable: tf.Variable): boolean => variable.rank > 1;

/** A scalar variable that holds a per-step number on the device. */
function scalarSlot(): tf.Variable<tf.Rank.R0> {
  return tf.tidy(() => tf.variable(tf.scalar(0), false));
}

export class AdamW implements Optimizer {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decaying: Set<string>;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  // per-step scalars: lr / (1 − β1^t), √(1 − β2^t), 1 − lr · wd
  private readonly stepSize = scalarSlot();
  private readonly sqrtBiasCorrection2 = scalarSlot();
  private readonly decayFactor = scalarSlot();
  private readonly constants: {
    beta1: tf.Scalar;
    oneMinusBeta1: tf.Scalar;
    beta2: tf.Scalar;
    oneMinusBeta2: tf.Scalar;
    eps: tf.Scalar;
  };
  steps = 0;

  constructor(
    private readonly params: Map<string, tf.Variable>,
    options: AdamWOptions = {},
  ) {
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const beta of [this.beta1, this.beta2]) {
      if (!(beta >= 0 && beta < 1)) throw new LayercutError(`AdamW betas must be in [0, 1), got ${beta}`);
    }
    const decays = options.decays ?? noDecayOnBiasesAndNorms;
    this.decaying = new Set([...params].filter(([name, v]) => decays(name, v)).map(([name]) => name));
    this.constants = {
      beta1: tf.keep(tf.scalar(this.beta1)),
      oneMinusBeta1: tf.keep(tf.scalar(1 - this.beta1)),
      beta2: tf.keep(tf.scalar(this.beta2)),
      oneMinusBeta2: tf.keep(tf.scalar(1 - this.beta2)),
      eps: tf.keep(tf.scalar(this.eps)),
    };
  }

  step(grads: tf.NamedTensorMap, lr: number): void {
    this.steps += 1;
    const t = this.steps;
    tf.tidy(() => {
      this.stepSize.assign(tf.scalar(lr / (1 - this.beta1 ** t)));
      this.sqrtBiasCorrection2.assign(tf.scalar(Math.sqrt(1 - this.beta2 ** t)));
      this.decayFactor.assign(tf.scalar(1 - lr * this.weightDecay));
      const c = this.constants;
      for (const [name, grad] of Object.entries(grads)) {
        const param = this.params.get(name);
        if (!param) throw new LayercutError(`internal: gradient for unknown parameter '${name}'`);
        const { m, v } = this.momentsOf(name, param);
        m.assign(tf.add(tf.mul(m, c.beta1), tf.mul(grad, c.oneMinusBeta1)));
        v.assign(tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(grad), c.oneMinusBeta2)));
        const decayed = this.weightDecay && this.decaying.has(name) ? tf.mul(param, this.decayFactor) : param;
        const denom = tf.add(tf.div(tf.sqrt(v), this.sqrtBiasCorrection2), c.eps);
        param.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), this.stepSize)));
      }
    });
  }

  private momentsOf(name: string, param: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    let state = this.moments.get(name);
    if (!state) {
      state = tf.tidy(() => ({
        m: tf.variable(tf.zerosLike(param), false),
        v: tf.variable(tf.zerosLike(param), false),
      }));
      this.moments.set(name, state);
    }
    return state;
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
    tf.dispose([this.stepSize, this.sqrtBiasCorrection2, this.decayFactor, ...Object.values(this.constants)]);
  }
}

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
}

/** SGD with momentum (torch.optim.SGD semantics: buf = μ·buf + g; p −= lr·buf; L2 decay added to g). */
export class Sgd implements Optimizer {
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly lrSlot = scalarSlot();
  private readonly momentum: number;
  private readonly weightDecay: number;
  steps = 0;

  constructor(
    private readonly params: Map<string, tf.Variable>,
    options: SgdOptions = {},
  ) {
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
  }

  step(grads: tf.NamedTensorMap, lr: number): void {
    this.steps += 1;
    tf.tidy(() => {
      this.lrSlot.assign(tf.scalar(lr));
      for (const [name, rawGrad] of Object.entries(grads)) {
        const param = this.params.get(name);
        if (!param) throw new LayercutError(`internal: gradient for unknown parameter '${name}'`);
        const grad = this.weightDecay ? tf.add(rawGrad, tf.mul(param, this.weightDecay)) : rawGrad;
        let direction = grad;
        if (this.momentum) {
          let buffer = this.buffers.get(name);
          if (!buffer) {
            buffer = tf.variable(grad, false); // first step: buf = g
            this.buffers.set(name, buffer);
          } else {
            buffer.assign(tf.add(tf.mul(buffer, this.momentum), grad));
          }
          direction = buffer;
        }
        param.assign(tf.sub(param, tf.mul(direction, this.lrSlot)));
      }
    });
  }

  dispose(): void {
    tf.dispose([...this.buffers.values(), this.lrSlot]);
    this.buffers.clear();
  }
}
