/**
 * The paper's OPT-1.3B grid: keep the bottom 1, 2, 6, 12 or all 24 layers, fine-tune on
 * SST-2, AGNews, TREC and EmoC with prompt-based fine-tuning through the LM head (lm), a
 * classification head at the answer slot (prompt-cls) or on the raw text (cls), five seeds
 * each: 300 runs. Plus the no-training baseline: in-context learning with the full model
 * (one demonstration per class), 20 runs.
 *
 *   layercut plan examples/paper-opt13b.ts     # the runs, model sizes and costs; no download
 */
import {
  adamw,
  cls,
  constant,
  experiment,
  hf,
  icl,
  keepAll,
  keepFirst,
  lm,
  paperSeeds,
  paperTasks,
  promptCls,
  sweep,
  tasks,
} from '../dsl/index.js';

const model = hf('facebook/opt-1.3b');

/** One run as the paper's method section describes it; the sweeps below vary it. */
const base = experiment({
  model,
  layers: keepFirst(2), // the bottom 2 of 24 blocks; embeddings, final norm and LM head are kept
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

/** Kept layers × task × method × seed: 5 × 4 × 3 × 5 = 300 runs. */
export const opt13bGrid = sweep(base, {
  layers: [1, 2, 6, 12, 24].map(keepFirst),
  task: paperTasks,
  method: [lm(), promptCls(), cls()],
  seed: paperSeeds,
});

/** In-context learning with the full model, no training: task × seed = 20 runs. */
export const opt13bIcl = sweep(experiment({ model, layers: keepAll(), task: tasks.sst2, method: icl() }), {
  task: paperTasks,
  seed: paperSeeds,
});
