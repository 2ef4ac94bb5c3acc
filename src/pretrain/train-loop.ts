/**
 * The pretraining loop: seeded shuffled passes over fixed-length token blocks, AdamW with
 * warm-up and decay, gradient clipping, validation perplexity every `evalEvery` steps, and an
 * optional wall-clock budget. Losses stay on the device and are read back in groups (one host
 * sync per `readEvery` steps), so a GPU is never made to wait for the CPU inside a step.
 */
import * as tf from '@tensorflow/tfjs';
import { randomStream, shuffled } from '../data/random.js';
import { LayercutError } from '../errors.js';
import type { LanguageModel } from '../models/types.js';
import { deviceScalar } from '../runtime/constants.js';
import { interruptionPoint } from '../runtime/event-loop.js';
import { variableGrads } from '../runtime/gradients.js';
import { clipByGlobalNorm } from '../train/clip.js';
import { AdamW, Sgd, type Optimizer } from '../train/optimizers.js';
import { lossScaleFor } from '../train/precision.js';
import { lrFactor, type LrSchedule } from '../train/schedule.js';
import { causalLmLoss, gatherBlocks } from './causal-lm.js';
import type { PretrainCurvePoint, PretrainEvalPoint, PretrainTrainSpec } from './plan.js';

export type PretrainEvent =
  ({ kind: 'step'; totalSteps: number } & PretrainCurvePoint) | ({ kind: 'eval' } & PretrainEvalPoint);

export interface PretrainLoopOptions {
  spec: PretrainTrainSpec;
  seed: number;
  onEvent?: (event: PretrainEvent) => void;
  /** Called after each evaluation with the training so far (e.g. to save a checkpoint); awaited. */
  onCheckpoint?: (sofar: PretrainSoFar) => Promise<void>;
  /** Aborting stops pretraining at the next step or validation batch (InterruptedError). */
  signal?: AbortSignal;
  /** Steps whose losses are read back together (default 20). */
  readEvery?: number;
  /** Clock in milliseconds (tests); default performance.now. */
  now?: () => number;
}

export interface PretrainLoopOutcome {
  /** The training loss of every step, in order: the one record of the curve. */
  curve: PretrainCurvePoint[];
  evals: PretrainEvalPoint[];
  steps: number;
  stoppedBy: 'steps' | 'time';
  trainSeconds: number;
}

/** The training so far, at a checkpoint: the curve and evaluations up to it (the last one included). */
export type PretrainSoFar = Readonly<Pick<PretrainLoopOutcome, 'curve' | 'evals' | 'steps'>>;

/** Mean validation loss over the first `spec.evalSequences` blocks, in batches; aborting `signal` stops it at the next batch. */
export async function validationLoss(
  model: LanguageModel,
  blocks: Int32Array,
  length: number,
  sequences: number,
  batchSize: number,
  signal?: AbortSignal,
): Promise<number> {
  const available = Math.floor(blocks.length / (length + 1));
  const count = Math.min(sequences, available);
  if (count === 0) throw new LayercutError('the validation text is shorter than one sequence');
  let total = 0;
  for (let first = 0; first < count; first += batchSize) {
    await interruptionPoint(signal, 'validation');
    const indices = Array.from({ length: Math.min(batchSize, count - first) }, (_, i) => first + i);
    const loss = causalLmLoss(model, gatherBlocks(blocks, length, indices));
    total += (await loss.data())[0]! * indices.length;
    loss.dispose();
  }
  return total / count;
}

export async function pretrainLoop(
  model: LanguageModel,
  data: { train: Int32Array; validation: Int32Array },
  options: PretrainLoopOptions,
): Promise<PretrainLoopOutcome> {
  const { spec } = options;
  const now = options.now ?? (() => performance.now());
  const length = spec.contextLength;
  const trainBlocks = Math.floor(data.train.length / (length + 1));
  if (trainBlocks < spec.batchSize) {
    throw new LayercutError(
      `the training text holds ${trainBlocks} sequences of ${length} tokens, fewer than one batch of ${spec.batchSize}`,
      'use more text, a shorter contextLength or a smaller batchSize',
    );
  }
  const o = spec.optimizer;
  const params = model.params;
  const optimizer: Optimizer =
    o.kind === 'adamw'
      ? new AdamW(params, { betas: o.betas, eps: o.eps, weightDecay: o.weightDecay })
      : new Sgd(params, { momentum: o.momentum, weightDecay: o.weightDecay });
  const variables = [...params.values()];
  const nameOf = new Map([...params].map(([name, v]) => [v.name, name]));
  const schedule: LrSchedule =
    spec.schedule.kind === 'constant' ? spec.schedule : { ...spec.schedule, totalSteps: spec.steps };
  const budgetMs = spec.maxMinutes === null ? Infinity : spec.maxMinutes * 60_000;
  const readEvery = options.readEvery ?? 20;

  const outcome: PretrainLoopOutcome = {
    curve: [],
    evals: [],
    steps: 0,
    stoppedBy: 'steps',
    trainSeconds: 0,
  };
  // mixed precision: gradients of loss × scale, divided back by the optimizer and for the curve
  const lossScale = lossScaleFor(spec);
  const pending: { point: Omit<PretrainCurvePoint, 'loss'>; loss: tf.Scalar }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const stacked = tf.stack(pending.map((p) => p.loss));
    const values = await stacked.data();
    stacked.dispose();
    pending.forEach((p, i) => {
      const point = { ...p.point, loss: values[i]! / lossScale };
      outcome.curve.push(point);
      options.onEvent?.({ kind: 'step', totalSteps: spec.steps, ...point });
      p.loss.dispose();
    });
    pending.length = 0;
  };
  const start = now();
  const evaluate = async () => {
    await flush();
    const loss = await validationLoss(
      model,
      data.validation,
      length,
      spec.evalSequences,
      spec.batchSize,
      options.signal,
    );
    const point = { step: outcome.steps, loss, perplexity: Math.exp(loss), seconds: (now() - start) / 1000 };
    outcome.evals.push(point);
    options.onEvent?.({ kind: 'eval', ...point });
    await options.onCheckpoint?.({ curve: outcome.curve, evals: outcome.evals, steps: outcome.steps });
  };

  let order: number[] = [];
  let cursor = 0;
  let epoch = 0;
  let evalMs = 0;
  try {
    while (outcome.steps < spec.steps) {
      // a turn of the event loop each step: an abort (Ctrl-C in a notebook) is seen here (runtime/event-loop.ts)
      await interruptionPoint(options.signal, 'pretraining');
      const elapsed = now() - start - evalMs;
      if (elapsed >= budgetMs) {
        outcome.stoppedBy = 'time';
        break;
      }
      // progress: how far along the run is, by steps or by the time budget, whichever is further
      const progressStep = Math.max(outcome.steps, Math.floor((elapsed / budgetMs) * spec.steps));
      const lr = o.lr * lrFactor(schedule, Math.min(progressStep, spec.steps - 1));
      if (cursor + spec.batchSize > order.length) {
        order = shuffled(
          Array.from({ length: trainBlocks }, (_, i) => i),
          randomStream(options.seed, `pretraining pass ${epoch++}`),
        );
        cursor = 0;
      }
      const blocks = gatherBlocks(data.train, length, order.slice(cursor, cursor + spec.batchSize));
      cursor += spec.batchSize;
      const { value, grads } = variableGrads(
        () =>
          (lossScale === 1
            ? causalLmLoss(model, blocks)
            : tf.mul(causalLmLoss(model, blocks), deviceScalar(lossScale))) as tf.Scalar,
        variables,
      );
      let named: tf.NamedTensorMap = {};
      for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
      if (spec.maxGradNorm > 0) {
        const clipped = clipByGlobalNorm(named, spec.maxGradNorm, lossScale);
        tf.dispose([named, clipped.norm]);
        named = clipped.grads;
      }
      optimizer.step(named, lr, lossScale);
      tf.dispose(named);
      outcome.steps += 1;
      pending.push({
        point: {
          step: outcome.steps,
          lr,
          tokens: outcome.steps * spec.batchSize * length,
          seconds: (now() - start) / 1000,
        },
        loss: value as tf.Scalar,
      });
      if (pending.length >= readEvery) await flush();
      if (outcome.steps % spec.evalEvery === 0 && outcome.steps < spec.steps) {
        const evalStart = now();
        await evaluate();
        evalMs += now() - evalStart;
      }
    }
    await evaluate();
    outcome.trainSeconds = (now() - start - evalMs) / 1000;
    return outcome;
  } finally {
    for (const p of pending) p.loss.dispose();
    optimizer.dispose();
  }
}
