/**
 * The pretraining loop: seeded shuffled passes over fixed-length token blocks, each an optimizer
 * step of src/train/step.ts (the one fine-tuning takes: gradients, clipping, the schedule's warm-up
 * and decay, AdamW), validation perplexity every `evalEvery` steps, and an optional wall-clock
 * budget. Losses stay on the device and are read back in groups (step.ts), so a GPU is never made
 * to wait for the CPU inside a step.
 */
import { randomStream, shuffled } from '../data/random.js';
import { LayercutError } from '../errors.js';
import type { LanguageModel } from '../models/types.js';
import { interruptionPoint } from '../runtime/event-loop.js';
import type { ReadbackPolicy } from '../runtime/readback.js';
import { TrainingSteps } from '../train/step.js';
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
  /** When step losses are read back from the device (default: 16 steps or 2 s, whichever first). */
  readback?: ReadbackPolicy;
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
  const steps = new TrainingSteps<Omit<PretrainCurvePoint, 'loss'>>(model.params, spec, {
    totalSteps: spec.steps,
    readback: options.readback,
  });
  const budgetMs = spec.maxMinutes === null ? Infinity : spec.maxMinutes * 60_000;

  const outcome: PretrainLoopOutcome = {
    curve: [],
    evals: [],
    steps: 0,
    stoppedBy: 'steps',
    trainSeconds: 0,
  };
  /** Reads the waiting losses back (one host sync), records them and sends their events. */
  const flush = async () => {
    for (const { meta, loss } of await steps.read()) {
      const point = { ...meta, loss };
      outcome.curve.push(point);
      options.onEvent?.({ kind: 'step', totalSteps: spec.steps, ...point });
    }
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
      if (cursor + spec.batchSize > order.length) {
        order = shuffled(
          Array.from({ length: trainBlocks }, (_, i) => i),
          randomStream(options.seed, `pretraining pass ${epoch++}`),
        );
        cursor = 0;
      }
      const blocks = gatherBlocks(data.train, length, order.slice(cursor, cursor + spec.batchSize));
      cursor += spec.batchSize;
      steps.step(
        [() => ({ loss: () => causalLmLoss(model, blocks) })],
        Math.min(progressStep, spec.steps - 1),
        (lr) => ({
          step: outcome.steps + 1,
          lr,
          tokens: (outcome.steps + 1) * spec.batchSize * length,
          seconds: (now() - start) / 1000,
        }),
      );
      outcome.steps += 1;
      if (steps.due()) await flush();
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
    steps.dispose();
  }
}
