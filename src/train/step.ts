/**
 * The optimizer step of every kind of training — fine-tuning (trainer.ts) and pretraining
 * (src/pretrain/train-loop.ts) both step through `TrainingSteps`:
 *
 *   micro-batch losses → gradients (summed over an accumulation group) → clipping by global norm
 *   → the schedule's learning rate → the optimizer's update
 *
 * and read their losses back one way: each step's loss (and gradient norm, when clipping) stays on
 * the device in a `DeferredScalars` queue (runtime/readback.ts) until `read` brings a group back
 * with one host sync, divided back by the loss scale.
 *
 * With one micro-batch and no clipping, each parameter is updated as soon as its gradient is
 * complete, during the backward pass, and that gradient freed (variableGrads' onReady).
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerSpec, ScheduleSpec } from '../plan/types.js';
import { deviceScalar } from '../runtime/constants.js';
import { variableGrads } from '../runtime/gradients.js';
import { DeferredScalars, readbackPolicy, type ReadbackPolicy } from '../runtime/readback.js';
import { clipByGlobalNorm } from './clip.js';
import { AdamW, Sgd, type Optimizer } from './optimizers.js';
import { lossScaleFor } from './precision.js';
import { lrFactor, type LrSchedule } from './schedule.js';

/** The settings a step reads (fine-tuning's `TrainSpec` and pretraining's `PretrainTrainSpec` have them). */
export interface StepSpec {
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  /** Clip gradients to this global norm (0: no clipping). */
  maxGradNorm: number;
  /** 'mixed': loss scaling for f16 matmul inputs (precision.ts); absent: fp32. */
  precision?: 'mixed';
}

/** One micro-batch of a step, made when the step reaches it. */
export interface MicroBatch {
  /** Its mean loss (a scalar), computed inside the gradient tape. */
  loss: () => tf.Scalar;
  /** Its share of the step's loss (default 1): the shares of a step's micro-batches sum to 1. */
  weight?: number;
  /** Frees its inputs once its gradients are taken. */
  dispose?: () => void;
}

/** A step's loss as read back, with what the caller said about the step. */
export interface StepReading<M> {
  meta: M;
  /** The step's mean training loss. */
  loss: number;
  /** The global gradient norm before clipping (only when clipping is on). */
  gradNorm?: number;
}

function makeOptimizer(spec: OptimizerSpec, params: Map<string, tf.Variable>): Optimizer {
  return spec.kind === 'adamw'
    ? new AdamW(params, { betas: spec.betas, eps: spec.eps, weightDecay: spec.weightDecay })
    : new Sgd(params, { momentum: spec.momentum, weightDecay: spec.weightDecay });
}

/** The optimizer, schedule and loss queue of one training run over `params`; `M` says what each step was. */
export class TrainingSteps<M> {
  /** Gradients are taken of loss × this (mixed precision: small gradients then survive f16). */
  readonly lossScale: number;
  private readonly optimizer: Optimizer;
  private readonly schedule: LrSchedule;
  private readonly variables: tf.Variable[];
  /** tfjs variable name → parameter name. */
  private readonly nameOf: Map<string, string>;
  private readonly pending: DeferredScalars<M>;

  /**
   * `totalSteps`: the steps the schedule decays over; `readback`: when losses come back (default
   * 16 steps or 2 s; every step in the plain kernel set).
   */
  constructor(
    params: Map<string, tf.Variable>,
    private readonly spec: StepSpec,
    options: { totalSteps: number; readback?: ReadbackPolicy },
  ) {
    this.lossScale = lossScaleFor(spec);
    this.optimizer = makeOptimizer(spec.optimizer, params);
    this.schedule =
      spec.schedule.kind === 'constant'
        ? spec.schedule
        : { ...spec.schedule, totalSteps: options.totalSteps };
    this.variables = [...params.values()];
    this.nameOf = new Map([...params].map(([name, v]) => [v.name, name]));
    this.pending = new DeferredScalars<M>(readbackPolicy(options.readback));
  }

  /** The learning rate of the step with 0-based index `scheduleStep`. */
  lr(scheduleStep: number): number {
    return this.spec.optimizer.lr * lrFactor(this.schedule, scheduleStep);
  }

  /**
   * One optimizer step over `microBatches` (each made, used and freed in turn) at the learning rate
   * of `scheduleStep`; `meta(lr)` (called after the update) describes it for `read`. Returns the
   * learning rate used.
   */
  step(microBatches: readonly (() => MicroBatch)[], scheduleStep: number, meta: (lr: number) => M): number {
    const lr = this.lr(scheduleStep);
    const updates =
      this.spec.maxGradNorm === 0 && microBatches.length === 1
        ? this.optimizer.begin(lr, this.lossScale)
        : undefined;
    const onReady = updates
      ? (variable: tf.Variable, grad: tf.Tensor) => {
          updates.update(this.nameOf.get(variable.name)!, grad);
          grad.dispose();
        }
      : undefined;
    let summed: tf.NamedTensorMap | undefined;
    let lossSum: tf.Scalar | undefined;
    for (const make of microBatches) {
      const microBatch = make();
      try {
        const { value, grads } = variableGrads(
          () => {
            const loss = microBatch.loss();
            const weight = (microBatch.weight ?? 1) * this.lossScale;
            return (weight === 1 ? loss : tf.mul(loss, deviceScalar(weight))) as tf.Scalar;
          },
          this.variables,
          { onReady },
        );
        const named: tf.NamedTensorMap = {};
        for (const [varName, g] of Object.entries(grads)) named[this.nameOf.get(varName)!] = g;
        summed = summed ? addAndDispose(summed, named) : named;
        if (lossSum) {
          const total = tf.add(lossSum, value) as tf.Scalar;
          tf.dispose([lossSum, value]);
          lossSum = total;
        } else {
          lossSum = value;
        }
      } finally {
        microBatch.dispose?.();
      }
    }
    let grads = summed!;
    let norm: tf.Scalar | undefined;
    if (this.spec.maxGradNorm > 0) {
      const clipped = clipByGlobalNorm(grads, this.spec.maxGradNorm, this.lossScale);
      tf.dispose(grads);
      grads = clipped.grads;
      norm = clipped.norm;
    }
    if (updates) updates.finish();
    else this.optimizer.step(grads, lr, this.lossScale);
    tf.dispose(grads);
    this.pending.push(meta(lr), norm ? [lossSum!, norm] : [lossSum!]);
    return lr;
  }

  /** Steps whose losses wait on the device. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Whether the waiting losses should be read now (the readback policy). */
  due(): boolean {
    return this.pending.due();
  }

  /** The waiting steps' losses (and norms), in order, with one host sync; the loss scale undone. */
  async read(): Promise<StepReading<M>[]> {
    return (await this.pending.read()).map(({ meta, values }) => {
      const [scaledLoss, scaledNorm] = values as [number, number | undefined];
      return {
        meta,
        loss: scaledLoss / this.lossScale,
        ...(scaledNorm === undefined ? {} : { gradNorm: scaledNorm / this.lossScale }),
      };
    });
  }

  dispose(): void {
    this.pending.dispose();
    this.optimizer.dispose();
  }
}

/** a + b by name (new tensors); a and b are disposed. */
function addAndDispose(a: tf.NamedTensorMap, b: tf.NamedTensorMap): tf.NamedTensorMap {
  const sum = tf.tidy(() => Object.fromEntries(Object.entries(b).map(([n, g]) => [n, tf.add(a[n]!, g)])));
  tf.dispose([a, b]);
  return sum;
}
