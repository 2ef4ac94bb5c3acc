/**
 * Optimizers over named parameters: AdamW with decoupled weight decay (as torch.optim.AdamW)
 * and SGD with momentum. The learning rate is passed to each step (schedules live outside).
 *
 * On a GPU each JS number used as an operand is a host→device upload (tfjs's own Adam makes
 * about six per parameter per step). Here constants (β1, β2, momentum, decay) are tensors
 * kept for the optimizer's lifetime, and the per-step scalars (rate, bias corrections) are
 * packed into one tensor: one upload per step. The plain kernel set (runtime/ops/registry.ts)
 * selects the plain formulation, numbers as operands, for comparisons.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { deviceScalar } from '../runtime/constants.js';
import { fusedAdamWUpdate } from '../runtime/fused-adamw.js';
import { kernelSet } from '../runtime/ops/registry.js';

export interface Optimizer {
  /**
   * Applies one update with learning rate `lr` to every parameter that has a gradient.
   * `gradScale`: the gradients are this multiple of the true ones (mixed-precision loss scaling).
   */
  step(grads: tf.NamedTensorMap, lr: number, gradScale?: number): void;
  /**
   * Starts a step whose gradients come one at a time, e.g. as `variableGrads`'s `onReady` hands
   * them out during the backward pass (so each gradient can be freed at once): `update` each
   * parameter, then `finish`. `step` is `begin`, `update` for each gradient, `finish`.
   */
  begin(lr: number, gradScale?: number): StepUpdates;
  /** How many steps were taken. */
  readonly steps: number;
  dispose(): void;
}

/** A step under way (`Optimizer.begin`). */
export interface StepUpdates {
  /** Updates parameter `name` with its gradient (the caller still owns `grad`). */
  update(name: string, grad: tf.Tensor): void;
  /** Ends the step (frees its per-step scalars). */
  finish(): void;
}

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Which parameters decay. Default: all but 1-D ones (biases and norm gains), as is usual. */
  decays?: (name: string, variable: tf.Variable) => boolean;
}

export const noDecayOnBiasesAndNorms = (_name: string, variable: tf.Variable): boolean => variable.rank > 1;

/**
 * Per-step scalars, computed on the host in float64 and uploaded together: one host→device
 * upload per step, whatever the number of parameters.
 */
class PerStepScalars {
  /** Zeros made on the device (tf.fill runs as a GPU program on webgpu). */
  private readonly deviceZeros: tf.Tensor1D;

  constructor(private readonly count: number) {
    this.deviceZeros = tf.keep(tf.tidy(() => tf.fill([count], 0) as tf.Tensor1D));
  }

  /** Call inside tf.tidy. */
  upload(values: number[]): tf.Scalar[] {
    if (values.length !== this.count)
      throw new Error(`internal: ${values.length} per-step values, not ${this.count}`);
    // On webgpu, ops on tiny host-resident tensors run on the CPU and each result is uploaded
    // on its own; adding the device-resident zeros moves the packed values up once, and the
    // slices below then run on the device.
    const packed = tf.add(tf.tensor1d(Float32Array.from(values)), this.deviceZeros);
    return tf.split(packed, this.count).map((t) => t.reshape([]) as tf.Scalar);
  }

  dispose(): void {
    this.deviceZeros.dispose();
  }
}

/** What every optimizer shares: `step` is `begin`, `update` for each gradient, `finish`. */
abstract class StepwiseOptimizer implements Optimizer {
  steps = 0;
  /**
   * The plain kernel set (runtime/ops/registry.ts): numbers as operands. Read once, not at each
   * call as `defineOp` does: the kernel set decides what the optimizer's state holds (AdamW's
   * plain kernel keeps torch's m and v, the others m̂ and v̂), so a run keeps one for its life.
   */
  protected readonly plain = kernelSet() === 'plain';

  constructor(protected readonly params: Map<string, tf.Variable>) {}

  step(grads: tf.NamedTensorMap, lr: number, gradScale = 1): void {
    const updates = this.begin(lr, gradScale);
    for (const [name, grad] of Object.entries(grads)) updates.update(name, grad);
    updates.finish();
  }

  abstract begin(lr: number, gradScale?: number): StepUpdates;
  abstract dispose(): void;
}

/** A scalar kept for the optimizer's lifetime. */
const keptScalar = (value: number): tf.Scalar => tf.keep(tf.scalar(value));

/**
 * AdamW as torch.optim.AdamW (decoupled weight decay, bias-corrected moments).
 *
 * The moments are kept scaled, m̂ = m / (1 − β1) and v̂ = v / (1 − β2), which saves one op
 * per parameter on each, and the update is rewritten with two per-step scalars:
 *
 *   m̂ ← β1·m̂ + g      v̂ ← β2·v̂ + g²      p ← p·(1 − lr·wd) − A · m̂ / (√v̂ + E)
 *   A = lr/(1 − β1ᵗ) · (1 − β1) · √(1 − β2ᵗ) / √(1 − β2)      E = ε · √(1 − β2ᵗ) / √(1 − β2)
 *
 * which equals torch's  p ← p·(1 − lr·wd) − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε).
 * Ten device ops per parameter (eleven with decay), no uploads but one per step; on webgpu one
 * fused in-place pass per parameter instead (src/runtime/fused-adamw.ts).
 */
export class AdamW extends StepwiseOptimizer {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decaying: Set<string>;
  /** m̂ and v̂ (fast path) or m and v (plain path) per parameter. */
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private readonly perStep = new PerStepScalars(3);
  private readonly beta1Tensor: tf.Scalar;
  private readonly beta2Tensor: tf.Scalar;

  constructor(params: Map<string, tf.Variable>, options: AdamWOptions = {}) {
    super(params);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const beta of [this.beta1, this.beta2]) {
      if (!(beta >= 0 && beta < 1)) throw new LayercutError(`AdamW betas must be in [0, 1), got ${beta}`);
    }
    const decays = options.decays ?? noDecayOnBiasesAndNorms;
    this.decaying = new Set([...params].filter(([name, v]) => decays(name, v)).map(([name]) => name));
    this.beta1Tensor = keptScalar(this.beta1);
    this.beta2Tensor = keptScalar(this.beta2);
  }

  /** AdamW's update is the same for scaled gradients once ε is scaled with them. */
  begin(lr: number, gradScale = 1): StepUpdates {
    this.steps += 1;
    const t = this.steps;
    const eps = this.eps * gradScale;
    if (this.plain) {
      // torch's formula with JS numbers as operands (LAYERCUT_PLAIN_OPS)
      const stepSize = lr / (1 - this.beta1 ** t);
      const sqrtBias = Math.sqrt(1 - this.beta2 ** t);
      return {
        update: (name, grad) =>
          tf.tidy(() => {
            const param = this.paramOf(name);
            const { m, v } = this.momentsOf(name, param);
            m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(grad, 1 - this.beta1)));
            v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)));
            const decayed =
              this.weightDecay && this.decaying.has(name) ? tf.mul(param, 1 - lr * this.weightDecay) : param;
            const denom = tf.add(tf.div(tf.sqrt(v), sqrtBias), eps);
            param.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
          }),
        finish: () => {},
      };
    }
    const sqrtBias2 = Math.sqrt(1 - this.beta2 ** t) / Math.sqrt(1 - this.beta2);
    // A, E and the decay factor
    const perStep = [
      (lr / (1 - this.beta1 ** t)) * (1 - this.beta1) * sqrtBias2,
      eps * sqrtBias2,
      1 - lr * this.weightDecay,
    ];
    // as device scalars, uploaded once, when a parameter first needs tfjs ops
    let uploaded: tf.Scalar[] | undefined;
    // as one device tensor for the fused pass, uploaded once, when a parameter first takes it
    let fusedPerStep: tf.Tensor1D | undefined;
    const fusedScalars = {
      perStep: () => (fusedPerStep ??= tf.keep(tf.tensor1d(perStep))),
      beta1: this.beta1,
      beta2: this.beta2,
    };
    return {
      update: (name, grad) => {
        const param = this.paramOf(name);
        const { m, v } = this.momentsOf(name, param);
        const decays = this.weightDecay > 0 && this.decaying.has(name);
        // on webgpu: one in-place pass (src/runtime/fused-adamw.ts)
        if (fusedAdamWUpdate({ param, grad, m, v, decays }, fusedScalars)) return;
        uploaded ??= tf.tidy(() => this.perStep.upload(perStep).map((x) => tf.keep(x)));
        const [a, e, decay] = uploaded as [tf.Scalar, tf.Scalar, tf.Scalar];
        tf.tidy(() => {
          m.assign(tf.add(tf.mul(m, this.beta1Tensor), grad));
          v.assign(tf.add(tf.mul(v, this.beta2Tensor), tf.square(grad)));
          const decayed = decays ? tf.mul(param, decay) : param;
          param.assign(tf.sub(decayed, tf.mul(tf.div(m, tf.add(tf.sqrt(v), e)), a)));
        });
      },
      finish: () => tf.dispose([...(uploaded ?? []), ...(fusedPerStep ? [fusedPerStep] : [])]),
    };
  }

  private paramOf(name: string): tf.Variable {
    const param = this.params.get(name);
    if (!param) throw new LayercutError(`internal: gradient for unknown parameter '${name}'`);
    return param;
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
    this.perStep.dispose();
    tf.dispose([this.beta1Tensor, this.beta2Tensor]);
  }
}

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
}

/**
 * SGD with momentum (torch.optim.SGD semantics: d = g + wd·p; buf = μ·buf + d; p −= lr·buf).
 * μ and wd are kept on the device; the rate is one upload per step.
 */
export class Sgd extends StepwiseOptimizer {
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly momentum: number;
  private readonly weightDecay: number;
  private readonly perStep = new PerStepScalars(1);
  private readonly momentumTensor: tf.Scalar;
  private readonly weightDecayTensor: tf.Scalar;

  constructor(params: Map<string, tf.Variable>, options: SgdOptions = {}) {
    super(params);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.momentumTensor = keptScalar(this.momentum);
    this.weightDecayTensor = keptScalar(this.weightDecay);
  }

  /** With scaled gradients the rate is divided by the scale, and the decay term multiplied. */
  begin(lr: number, gradScale = 1): StepUpdates {
    this.steps += 1;
    // the rate and the scaled decay term: numbers (plain), else device scalars made once per step
    const keep = <T>(value: T) => (value instanceof tf.Tensor ? tf.keep(value) : value);
    const scalars = tf.tidy(() => {
      const rate = this.plain ? lr / gradScale : this.perStep.upload([lr / gradScale])[0]!;
      // the decay term is added to scaled gradients: scale it with them
      const decayTerm = this.plain
        ? this.weightDecay * gradScale
        : gradScale === 1
          ? this.weightDecayTensor
          : tf.mul(this.weightDecayTensor, deviceScalar(gradScale));
      return { rate: keep(rate), decayTerm: keep(decayTerm) };
    });
    const momentum = this.plain ? this.momentum : this.momentumTensor;
    return {
      update: (name, rawGrad) =>
        tf.tidy(() => {
          const param = this.params.get(name);
          if (!param) throw new LayercutError(`internal: gradient for unknown parameter '${name}'`);
          const grad = this.weightDecay ? tf.add(rawGrad, tf.mul(param, scalars.decayTerm)) : rawGrad;
          let direction = grad;
          if (this.momentum) {
            let buffer = this.buffers.get(name);
            if (!buffer) {
              buffer = tf.variable(grad, false); // first step: buf = g
              this.buffers.set(name, buffer);
            } else {
              buffer.assign(tf.add(tf.mul(buffer, momentum), grad));
            }
            direction = buffer;
          }
          param.assign(tf.sub(param, tf.mul(direction, scalars.rate)));
        }),
      finish: () => {
        for (const value of [scalars.rate, scalars.decayTerm])
          if (value instanceof tf.Tensor && value !== this.weightDecayTensor) value.dispose();
      },
    };
  }

  dispose(): void {
    tf.dispose([...this.buffers.values(), this.momentumTensor, this.weightDecayTensor]);
    this.buffers.clear();
    this.perStep.dispose();
  }
}
