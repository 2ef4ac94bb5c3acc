/**
 * The paper's protocol, shared by its two grids (paper-gpt2xl.ts, paper-opt13b.ts): one run as
 * its method section describes it, the grid of kept layers × task × method × seed, and the
 * no-training baseline (in-context learning with the full model, one demonstration per class).
 */
import {
  adamw,
  cls,
  constant,
  experiment,
  icl,
  keepAll,
  keepFirst,
  lm,
  paperSeeds,
  paperTasks,
  promptCls,
  sweep,
  tasks,
  type Model,
} from '../dsl/index.js';

/** One run: the bottom 2 blocks kept (embeddings, final norm and LM head stay), SST-2, lm. */
export function paperBase(model: Model) {
  return experiment({
    model,
    layers: keepFirst(2),
    task: tasks.sst2, // the task's template and label words (from "Label Words are Anchors")
    method: lm(),
    data: { trainPerClass: 200, demosPerClass: 1, validation: 1000, test: 1000 },
    train: {
      optimizer: adamw({ lr: 5e-5 }),
      schedule: constant(),
      batchSize: 1,
      epochs: 50,
      earlyStopPatience: 15,
    },
    seed: 0,
  });
}

/** Kept layers × task × method × seed: 5 × 4 × 3 × 5 = 300 runs for five depths. */
export function paperGrid(model: Model, keptLayers: number[]) {
  return sweep(paperBase(model), {
    layers: keptLayers.map(keepFirst),
    task: paperTasks,
    method: [lm(), promptCls(), cls()],
    seed: paperSeeds,
  });
}

/** In-context learning with the full model, no training: task × seed = 20 runs. */
export function paperIcl(model: Model) {
  return sweep(experiment({ model, layers: keepAll(), task: tasks.sst2, method: icl() }), {
    task: paperTasks,
    seed: paperSeeds,
  });
}
