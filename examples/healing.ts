/**
 * Healing a cut (issue 21): after keeping the bottom k layers of the shipped `tiny-english`
 * model, three ways to recover what the cut lost, each a value of one sweep axis:
 *
 *   full FT      the paper's: fine-tune every weight of the cut model with prompts
 *   LoRA r=8     the cut model frozen, low-rank adapters on every projection train (PEFT's LoRA)
 *   replacement  no training at all: ReplaceMe's least-squares linear map stands in for the
 *                removed layers k..7, fitted on 64 calibration emails and folded into layer
 *                k−1's MLP (the cut model stays a plain GPT-2 checkpoint); scored zero-shot
 *   replacement + FT   the same map, then full fine-tuning from the healed cut
 *
 * on the offline `spam` task, cuts k = 2, 4, 6, two seeds: 24 runs, one table and one plot.
 * docs/healing.md explains each option and its source paper.
 *
 *   layercut run examples/healing.ts --db healing.db
 *   layercut results --db healing.db --view paper
 *   layercut plot --db healing.db --kind layers --out healing.svg
 */
import {
  adamw,
  builtin,
  experiment,
  keepFirst,
  lm,
  lora,
  replaceBlock,
  sweep,
  tasks,
  template,
  verbalizer,
} from '../dsl/index.js';

const base = experiment({
  model: builtin('tiny-english'),
  task: tasks.spam,
  prompt: template(tasks.spam)`Email: ${'text'}\nCategory:${'label'}`,
  words: verbalizer(tasks.spam, { ham: ' ham', spam: ' spam' }),
  method: lm(),
  data: { trainPerClass: 24, demosPerClass: 0, validation: 32, test: 100, maxLength: 48, truncate: 'right' },
  train: { optimizer: adamw({ lr: 3e-4 }), batchSize: 8, epochs: 4 },
  backend: 'wasm',
});

/** Cuts × {full FT, LoRA r=8, least-squares replacement, replacement + FT} × seeds. */
export const healing = sweep(base, {
  layers: [2, 4, 6].map(keepFirst),
  train: [
    {},
    { adapters: lora({ rank: 8, alpha: 16 }), optimizer: adamw({ lr: 3e-3 }) },
    { replace: replaceBlock({ fit: 'linear', calibration: 64 }), epochs: 0 },
    { replace: replaceBlock({ fit: 'linear', calibration: 64 }) },
  ],
  seed: [0, 1],
});
