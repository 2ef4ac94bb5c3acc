/**
 * The fine-tuning loop: optimizer steps (step.ts: gradient accumulation, clipping, the schedule,
 * the optimizer — the same step as pretraining's) over shuffled batches, evaluation on the
 * validation set every epoch (or N steps), early stopping on validation accuracy, and the
 * best-validation weights restored at the end.
 *
 * A step never waits for the device: its loss (and gradient norm) stay there and are read back
 * in groups (step.ts, runtime/readback.ts) after the first step, before each evaluation, at the
 * end, and every few steps or seconds in between; the 'step' events of a group are sent then, in
 * order, with exact values. Under LAYERCUT_PLAIN_OPS every step's loss is read at once, as before.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import type { EvalMetrics, TrainSpec } from '../plan/types.js';
import { deviceScalar } from '../runtime/constants.js';
import { interruptionPoint } from '../runtime/event-loop.js';
import { readbackGroupSize, type ReadbackPolicy } from '../runtime/readback.js';
import { batchOrder, disposeBatch, makeBatch, type EncodedExample } from './batching.js';
import { classificationMetrics } from './metrics.js';
import { crossEntropy } from './objectives.js';
import type { ClassScorer } from './scorers.js';
import { TrainingSteps, type MicroBatch } from './step.js';

export type TrainEvent =
  | {
      kind: 'step';
      step: number;
      totalSteps: number;
      epoch: number;
      loss: number;
      lr: number;
      /** Global gradient norm before clipping (only when clipping is on). */
      gradNorm?: number;
    }
  | { kind: 'eval'; step: number; epoch: number; accuracy: number; loss: number; best: boolean };

export interface TrainOptions {
  spec: TrainSpec;
  seed: number;
  padId: number;
  labels: string[];
  onEvent?: (event: TrainEvent) => void;
  /** Aborting stops training at the next step or evaluation batch (InterruptedError). */
  signal?: AbortSignal;
  /** When step losses are read back from the device (default: 16 steps or 2 s, whichever first). */
  readback?: ReadbackPolicy;
}

export interface TrainOutcome {
  curves: {
    train: { step: number; epoch: number; loss: number; lr: number }[];
    eval: { step: number; epoch: number; accuracy: number; loss: number }[];
  };
  best: { accuracy: number; step: number; epoch: number };
  trainSeconds: number;
  evalSeconds: number;
  trainTokens: number;
  peakTensorBytes: number;
}

/** Batches whose predictions and losses `evaluate` reads back together (one host sync). */
const EVAL_BATCHES_PER_READ = 32;

/**
 * Class predictions and mean loss of `scorer` over `examples`, batch by batch. Each batch's
 * results stay on the device until a group of batches is read back at once (every batch
 * under LAYERCUT_PLAIN_OPS); the values are the same either way. Aborting `signal` stops it
 * at the next batch (InterruptedError).
 */
export async function evaluate(
  scorer: ClassScorer,
  examples: readonly EncodedExample[],
  options: { batchSize: number; padId: number; labels: string[]; signal?: AbortSignal },
): Promise<{ metrics: EvalMetrics; loss: number; predictions: number[] }> {
  const predictions: number[] = [];
  let lossSum = 0;
  // per batch: its example indices, and [B + 1] floats on the device: the B predicted
  // classes, then the batch's summed loss
  let pending: { indices: number[]; results: tf.Tensor1D }[] = [];
  const readPending = async () => {
    if (pending.length === 0) return;
    const group = pending;
    pending = [];
    const all = tf.tidy(() => tf.concat(group.map((p) => p.results)));
    const values = await all.data();
    tf.dispose([all, ...group.map((p) => p.results)]);
    let at = 0;
    for (const { indices } of group) {
      indices.forEach((exampleIndex, row) => (predictions[exampleIndex] = values[at + row]!));
      lossSum += values[at + indices.length]!;
      at += indices.length + 1;
    }
  };
  const perRead = readbackGroupSize(EVAL_BATCHES_PER_READ);
  try {
    for (const indices of batchOrder(examples, options.batchSize, { bucket: true })) {
      await interruptionPoint(options.signal, 'evaluation');
      const batch = makeBatch(
        indices.map((i) => examples[i]!),
        options.padId,
      );
      const results = tf.tidy(() => {
        const scores = scorer.scores(batch);
        const predicted = tf.cast(tf.argMax(scores, 1), 'float32'); // [B]
        const loss = tf.mul(crossEntropy(scores, batch.labels), deviceScalar(batch.size)); // []
        return tf.concat([predicted, tf.reshape(loss, [1])]) as tf.Tensor1D;
      });
      disposeBatch(batch);
      pending.push({ indices, results });
      if (pending.length >= perRead) await readPending();
    }
    await readPending();
  } finally {
    tf.dispose(pending.map((p) => p.results));
  }
  const truth = examples.map((e) => e.label);
  return {
    metrics: classificationMetrics(predictions, truth, options.labels),
    loss: examples.length ? lossSum / examples.length : 0,
    predictions,
  };
}

/** Trains `scorer` on `train`, selecting weights by accuracy on `validation`. */
export async function train(
  scorer: ClassScorer,
  trainSet: readonly EncodedExample[],
  validation: readonly EncodedExample[],
  options: TrainOptions,
): Promise<TrainOutcome> {
  const { spec, seed, padId, labels } = options;
  if (trainSet.length === 0)
    throw new LayercutError('the training set is empty', 'check the data settings (trainPerClass)');
  if (scorer.trainable.size === 0) throw new LayercutError('nothing to train: every parameter is frozen');
  const microBatches = Math.ceil(trainSet.length / spec.batchSize);
  const stepsPerEpoch = Math.ceil(microBatches / spec.gradientAccumulation);
  const totalSteps = spec.steps ?? spec.epochs * stepsPerEpoch;
  const evalOptions = { batchSize: Math.max(spec.batchSize, 8), padId, labels, signal: options.signal };
  const steps = new TrainingSteps<{ step: number; epoch: number; lr: number }>(scorer.trainable, spec, {
    totalSteps: Math.max(totalSteps, spec.schedule.warmupSteps + 1),
    readback: options.readback,
  });

  const outcome: TrainOutcome = {
    curves: { train: [], eval: [] },
    best: { accuracy: -1, step: 0, epoch: 0 },
    trainSeconds: 0,
    evalSeconds: 0,
    trainTokens: 0,
    peakTensorBytes: tf.memory().numBytes,
  };
  let bestWeights: Map<string, tf.Tensor> | undefined;
  let evaluationsWithoutGain = 0;
  let step = 0;

  /** Reads the waiting losses back (one host sync), records them and sends their events. */
  const readLosses = async () => {
    if (steps.waiting === 0) return;
    const start = performance.now();
    const readings = await steps.read();
    outcome.trainSeconds += (performance.now() - start) / 1000; // the device finishing the steps
    for (const { meta, loss, gradNorm } of readings) {
      const { step, epoch, lr } = meta;
      if (!Number.isFinite(loss)) {
        throw new LayercutError(
          `training diverged: the loss is ${loss} at step ${step}`,
          spec.precision === 'mixed'
            ? "with precision 'mixed' a gradient may have overflowed f16: try train: { precision: 'fp32' }, or a lower learning rate"
            : 'lower the learning rate, or clip gradients with train: { maxGradNorm: 1 }',
        );
      }
      outcome.curves.train.push({ step, epoch, loss, lr });
      options.onEvent?.({
        kind: 'step',
        step,
        totalSteps,
        epoch,
        loss,
        lr,
        ...(gradNorm === undefined ? {} : { gradNorm }),
      });
    }
  };

  const runEvaluation = async (epoch: number): Promise<boolean> => {
    if (validation.length === 0) return false;
    await readLosses(); // the steps before it, in order, before its event
    const start = performance.now();
    const { metrics, loss } = await evaluate(scorer, validation, evalOptions);
    outcome.evalSeconds += (performance.now() - start) / 1000;
    const better = metrics.accuracy > outcome.best.accuracy;
    outcome.curves.eval.push({ step, epoch, accuracy: metrics.accuracy, loss });
    options.onEvent?.({ kind: 'eval', step, epoch, accuracy: metrics.accuracy, loss, best: better });
    if (better) {
      outcome.best = { accuracy: metrics.accuracy, step, epoch };
      evaluationsWithoutGain = 0;
      if (bestWeights) for (const t of bestWeights.values()) t.dispose();
      bestWeights = new Map([...scorer.trainable].map(([name, v]) => [name, tf.clone(v)]));
    } else {
      evaluationsWithoutGain += 1;
    }
    return spec.earlyStopPatience > 0 && evaluationsWithoutGain >= spec.earlyStopPatience;
  };

  try {
    let stop = false;
    for (let epoch = 0; !stop && step < totalSteps; epoch++) {
      const batches = batchOrder(trainSet, spec.batchSize, {
        shuffleSeed: seed,
        epoch,
        bucket: spec.batchSize > 1,
      });
      for (
        let first = 0;
        !stop && first < batches.length && step < totalSteps;
        first += spec.gradientAccumulation
      ) {
        // a turn of the event loop each step: Ctrl-C and a worker's `stop` are seen here (runtime/event-loop.ts)
        await interruptionPoint(options.signal, 'training');
        const start = performance.now();
        const group = batches.slice(first, first + spec.gradientAccumulation);
        const groupSize = group.reduce((n, b) => n + b.length, 0);
        const microBatches = group.map((indices) => (): MicroBatch => {
          const batch = makeBatch(
            indices.map((i) => trainSet[i]!),
            padId,
          );
          outcome.trainTokens += batch.tokens;
          return {
            loss: () => crossEntropy(scorer.scores(batch), batch.labels),
            // each micro-batch's mean loss weighted by its share of the group: the group's mean
            weight: batch.size / groupSize,
            dispose: () => disposeBatch(batch),
          };
        });
        steps.step(microBatches, step, (lr) => ({ step: step + 1, epoch, lr }));
        outcome.peakTensorBytes = Math.max(outcome.peakTensorBytes, tf.memory().numBytes);
        step += 1;
        outcome.trainSeconds += (performance.now() - start) / 1000;
        if (typeof spec.evalEvery === 'number' && step % spec.evalEvery === 0)
          stop = await runEvaluation(epoch);
        // the first step is read at once: progress shows a loss (and a run can be stopped) early
        if (step === 1 || steps.due()) await readLosses();
      }
      if (!stop && spec.evalEvery === 'epoch') stop = await runEvaluation(epoch);
    }
    await readLosses();
    if (bestWeights) {
      for (const [name, value] of bestWeights) scorer.trainable.get(name)!.assign(value);
    }
    return outcome;
  } finally {
    steps.dispose();
    if (bestWeights) for (const t of bestWeights.values()) t.dispose();
  }
}
