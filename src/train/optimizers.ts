/**
 * Optimizers over named parameters: AdamW with decoupled weight decay (as torch.optim.AdamW)
 * and SGD with momentum. The learning rate is passed to each step (schedules live outside).
 *
 * On a GPU each JS number used as an operand is a host→device upload (tfjs's own Adam makes
 * about six per parameter per step). Here constants (β1, β2, momentum, decay) are tensors
 * kept for the optimizer's lifetime, and the per-step scalars (rate, bias corrections) are
 * packed into one tensor: one upload per step. The update of each parameter is an op of
 * src/runtime/ops/optimizer-updates.ts (the maths, and a kernel per kernel set); the optimizers
 * hold its state and the per-step scalars.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { deviceScalar } from '../runtime/constants.js';
import {
  adamWFactors,
  adamWUpdate,
  sgdUpdate,
  type AdamWStep,
  type SgdStep,
} from '../runtime/ops/optimizer-updates.js';
import type { AdamWParameter } from '../runtime/fused-adamw.js';
import { markStepInput } from '../runtime/step-graph.js';

/** The name of AdamW's per-step factors among a replayed step's host inputs (`AdamW.replayedStep`). */
export const ADAMW_STEP_INPUT = 'adamw step';

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

  constructor(protected readonly params: Map<string, tf.Variable>) {}

  step(grads: tf.NamedTensorMap, lr: number, gradScale = 1): void {
    const updates = this.begin(lr, gradScale);
    for (const [name, grad] of Object.entries(grads)) updates.update(name, grad);
    updates.finish();
  }

  abstract begin(lr: number, gradScale?: number): StepUpdates;
  abstract dispose(): void;

  protected paramOf(name: string): tf.Variable {
    const param = this.params.get(name);
    if (!param) throw new LayercutError(`internal: gradient for unknown parameter '${name}'`);
    return param;
  }
}

/** A scalar kept for the optimizer's lifetime. */
const keptScalar = (value: number): tf.Scalar => tf.keep(tf.scalar(value));

/** A variable of zeros shaped like `param`, not trainable (optimizer state). */
const zerosLike = (param: tf.Variable): tf.Variable => tf.tidy(() => tf.variable(tf.zerosLike(param), false));

/**
 * AdamW as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with the moments
 * kept scaled (m̂ = m / (1 − β1), v̂ = v / (1 − β2)) and the update rewritten with two per-step
 * scalars A and E: src/runtime/ops/optimizer-updates.ts. No uploads but one per step; on webgpu
 * one fused in-place pass per two parameters.
 */
export class AdamW extends StepwiseOptimizer {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decaying: Set<string>;
  /** m̂ and v̂ per parameter, as one tensor [2, ...its shape]. */
  private readonly moments = new Map<string, tf.Variable>();
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
    const numbers = this.nextStep(lr, gradScale);
    const factors = adamWFactors(numbers); // A, E and the decay factor
    // as one device tensor for the fused pass, and as device scalars for tfjs ops: each made
    // (one upload) when a parameter first takes it, freed by `finish`
    let packed: tf.Tensor1D | undefined;
    let uploaded: tf.Scalar[] | undefined;
    const step: AdamWStep = {
      ...numbers,
      perStep: () =>
        (packed ??= tf.keep(tf.tensor1d(markStepInput(Float32Array.from(factors), ADAMW_STEP_INPUT)))),
      deviceScalars: () => {
        uploaded ??= tf.tidy(() => this.perStep.upload(factors).map((x) => tf.keep(x)));
        const [a, e, decay] = uploaded as [tf.Scalar, tf.Scalar, tf.Scalar];
        return { beta1: this.beta1Tensor, beta2: this.beta2Tensor, a, e, decay };
      },
    };
    // parameters are updated two at a time (on webgpu one pass for both: a weight and its bias,
    // whose gradients come out together): one waits, holding its gradient, for the next or `finish`
    let waiting: AdamWParameter | undefined;
    const flush = (next?: AdamWParameter) => {
      const pair = [waiting, next].filter((u): u is AdamWParameter => u !== undefined);
      if (pair.length > 0) adamWUpdate(pair, step);
      for (const u of pair) u.grad.dispose();
      waiting = undefined;
    };
    return {
      update: (name, grad) => {
        const param = this.paramOf(name);
        const decays = this.weightDecay > 0 && this.decaying.has(name);
        const u = { param, grad: tf.keep(tf.clone(grad)), moments: this.momentsOf(name, param), decays };
        if (waiting) flush(u);
        else waiting = u;
      },
      finish: () => {
        flush();
        tf.dispose([...(uploaded ?? []), ...(packed ? [packed] : [])]);
      },
    };
  }

  /**
   * Counts a step that a replayed step graph (src/runtime/step-graph.ts) takes in place of
   * `begin`…`finish`, and returns its per-step factors: the replay's `ADAMW_STEP_INPUT`.
   */
  replayedStep(lr: number, gradScale = 1): Float32Array {
    return Float32Array.from(adamWFactors(this.nextStep(lr, gradScale)));
  }

  private nextStep(lr: number, gradScale: number) {
    this.steps += 1;
    return {
      lr,
      t: this.steps,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps * gradScale,
      weightDecay: this.weightDecay,
    };
  }

  private momentsOf(name: string, param: tf.Variable): tf.Variable {
    let moments = this.moments.get(name);
    if (!moments) {
      moments = tf.tidy(() => tf.variable(tf.fill([2, ...param.shape], 0), false)); // made on the device
      this.moments.set(name, moments);
    }
    return moments;
  }

  dispose(): void {
    tf.dispose([...this.moments.values()]);
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
 * SGD with momentum (torch.optim.SGD semantics: d = g + wd·p; buf = μ·buf + d; p −= lr·buf; the
 * buffer starts at zeros, so buf = d at the first step, as torch's). μ and wd are kept on the
 * device; the rate is one upload per step (src/runtime/ops/optimizer-updates.ts).
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
    // the rate and the scaled decay term as device scalars, made when a parameter first takes
    // them (one upload), freed by `finish`
    let made: { rate: tf.Scalar; decayTerm: tf.Scalar } | undefined;
    const step: SgdStep = {
      rate: lr / gradScale,
      decayTerm: this.weightDecay * gradScale,
      momentum: this.momentum,
      deviceScalars: () => {
        made ??= tf.tidy(() => ({
          rate: tf.keep(this.perStep.upload([lr / gradScale])[0]!),
          decayTerm: tf.keep(
            gradScale === 1
              ? this.weightDecayTensor
              : tf.mul(this.weightDecayTensor, deviceScalar(gradScale)),
          ),
        }));
        return { ...made, momentum: this.momentumTensor };
      },
    };
    return {
      update: (name, grad) => {
        const param = this.paramOf(name);
        const decays = this.weightDecay !== 0;
        sgdUpdate({ param, grad, buffer: this.bufferOf(name, param), decays }, step);
      },
      finish: () => {
        if (!made) return;
        made.rate.dispose();
        if (made.decayTerm !== this.weightDecayTensor) made.decayTerm.dispose();
      },
    };
  }

  /** The momentum buffer of `name`, zeros before its first step; none without momentum. */
  private bufferOf(name: string, param: tf.Variable): tf.Variable | undefined {
    if (!this.momentum) return undefined;
    let buffer = this.buffers.get(name);
    if (!buffer) {
      buffer = zerosLike(param);
      this.buffers.set(name, buffer);
    }
    return buffer;
  }

  dispose(): void {
    tf.dispose([...this.buffers.values(), this.momentumTensor, this.weightDecayTensor]);
    this.buffers.clear();
    this.perStep.dispose();
  }
}
