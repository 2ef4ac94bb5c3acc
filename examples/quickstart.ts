/**
 * Quick start: a tiny GPT-2 shipped with layercut (random weights, 4 layers, 32 positions)
 * on the offline spam task, cut to 1, 2 and 4 layers. Runs in seconds on a CPU; the numbers
 * mean nothing (random weights), the pipeline is the point.
 *
 *   layercut check examples/quickstart.ts
 *   layercut plan examples/quickstart.ts
 */
import {
  adamw,
  builtin,
  experiment,
  keepFirst,
  lm,
  sweep,
  tasks,
  template,
  verbalizer,
} from '../dsl/index.js';

const tiny = experiment({
  model: builtin('gpt2-tiny'),
  task: tasks.spam,
  prompt: template(tasks.spam)`Email: ${'text'}\nCategory:${'label'}`,
  words: verbalizer(tasks.spam, { ham: ' ham', spam: ' spam' }),
  method: lm(),
  // few and short examples: the tiny model has 32 positions
  data: { trainPerClass: 8, demosPerClass: 0, validation: 16, test: 32, maxLength: 32 },
  train: { optimizer: adamw({ lr: 1e-3 }), epochs: 2, batchSize: 4 },
  seed: 0,
});

/** Keep 1, 2 and all 4 layers: 3 runs. */
export const quickstart = sweep(tiny, { layers: [1, 2, 4].map(keepFirst) });
