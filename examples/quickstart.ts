/**
 * Quick start (`npm start`): the paper's method end to end, offline, in a few minutes on a CPU.
 *
 * The model is `tiny-english`, shipped with layercut (models/tiny-english/): a GPT-2-style
 * decoder with 8 layers of width 128 that layercut pretrained itself on offline English text
 * (State of the Union addresses, Moby-Dick, SpamAssassin emails; the test emails held out) —
 * see examples/pretrain-tiny.ts and docs/pretraining.md. The task is `spam` (SpamAssassin
 * emails, shipped on npm). Each run keeps the bottom k layers (k = 1, 2, 4 and all 8),
 * fine-tunes the cut model with prompts — the LM head scores the label words " ham" / " spam"
 * after "Category:" — and reports test accuracy on 200 held-out emails. " ham" is two tokens in
 * tiny-english's vocabulary ("Ġha" "m"): each word is scored by the mean log-probability of all
 * its tokens, not by its first token alone (`layercut check` shows the tokens).
 *
 *   npm start                                 # = layercut run examples/quickstart.ts
 *   layercut plan examples/quickstart.ts      # the runs, their sizes and costs
 *   layercut results --view paper             # the table again, from layercut.db
 *   layercut plot --kind layers --out layers.png
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

const model = builtin('tiny-english');

const base = experiment({
  model,
  task: tasks.spam,
  prompt: template(tasks.spam)`Email: ${'text'}\nCategory:${'label'}`,
  words: verbalizer(tasks.spam, { ham: ' ham', spam: ' spam' }, { scoring: 'mean' }),
  method: lm(),
  // Few-shot data: 32 emails per class to train on, 32 for validation (picks the best epoch),
  // 200 to test. An email is "subject. body", cut after its first 64 tokens; no demonstrations.
  data: { trainPerClass: 32, demosPerClass: 0, validation: 32, test: 200, maxLength: 64, truncate: 'right' },
  train: { optimizer: adamw({ lr: 3e-4 }), batchSize: 8, epochs: 5 },
  backend: 'wasm',
});

/** Keep 1, 2, 4 and all 8 layers: 4 runs. */
export const quickstart = sweep(base, {
  layers: depth(model)
    .filter((k, all) => k === 1 || k === 2 || k === 4 || k === all)
    .map(keepFirst),
  seed: [0],
});
