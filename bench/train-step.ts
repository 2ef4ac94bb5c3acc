/**
 * The fine-tuning step the benchmarks time (bench/train.ts on a GPU, bench/host-profile.ts on
 * Dawn's null device): the `lm` prompt loss, layercut's gradients, AdamW over the trained
 * parameters (every weight, or LoRA adapters: `trained`), each updated as soon as its gradient is
 * complete (no clipping, so nothing needs all gradients at once). Returns the step's loss, not yet
 * read back.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../src/models/types.js';
import { variableGrads } from '../src/runtime/gradients.js';
import { captureStep, type StepGraph } from '../src/runtime/step-graph.js';
import {
  promptBatchOf,
  promptBatchTensors,
  promptLmLoss,
  type PromptBatch,
} from '../src/train/objectives.js';
import { ADAMW_STEP_INPUT, type AdamW, type Optimizer } from '../src/train/optimizers.js';

export const benchLearningRate = 5e-5;

/** Where a step is: the benchmarks' memory figures are read at these points. */
export type StepPhase = 'forward done' | 'backward done' | 'optimizer done';

export function fineTuneStep(
  model: LanguageModel,
  batch: PromptBatch,
  labelTokenIds: tf.Tensor1D,
  optimizer: Optimizer,
  onPhase?: (phase: StepPhase) => void,
  trained: ReadonlyMap<string, tf.Variable> = model.params,
): () => tf.Scalar {
  const variables = [...trained.values()];
  const nameOf = new Map([...trained].map(([name, v]) => [v.name, name]));
  return () => {
    // each parameter is updated as soon as its gradient is complete, during the backward pass
    const updates = optimizer.begin(benchLearningRate);
    const { value, grads } = variableGrads(
      () => {
        const loss = promptLmLoss(model, batch, labelTokenIds);
        onPhase?.('forward done');
        return loss;
      },
      variables,
      {
        onReady: (variable, grad) => {
          updates.update(nameOf.get(variable.name)!, grad);
          grad.dispose();
        },
      },
    );
    onPhase?.('backward done');
    updates.finish();
    tf.dispose(grads); // none: every gradient went to onReady
    onPhase?.('optimizer done');
    return value;
  };
}

/**
 * `fineTuneStep` recorded (three more steps, their losses `outputs`, the caller's to free) and
 * replayed from then on (src/runtime/step-graph.ts): `step` runs none of the step's JS.
 */
export function replayedFineTuneStep(
  model: LanguageModel,
  batch: PromptBatch,
  labelTokenIds: tf.Tensor1D,
  optimizer: AdamW,
  trained: ReadonlyMap<string, tf.Variable> = model.params,
): { step: () => tf.Scalar; graph: StepGraph; outputs: tf.Scalar[] } {
  const tensors = promptBatchTensors(batch);
  const stepOn = (inputs: readonly tf.Tensor[]) =>
    fineTuneStep(model, promptBatchOf(inputs), labelTokenIds, optimizer, undefined, trained)();
  const { graph, outputs } = captureStep([tensors, tensors, tensors], stepOn);
  const step = () => graph.replay(tensors, { [ADAMW_STEP_INPUT]: optimizer.replayedStep(benchLearningRate) });
  return { step, graph, outputs };
}
