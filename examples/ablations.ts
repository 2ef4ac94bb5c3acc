/**
 * Ablations around the paper's setting, on GPT-2 (12 layers) so they are quick to run:
 *
 *   templates  three prompts and label words for SST-2, each a template checked against the
 *              task's fields and a verbalizer that names exactly its labels
 *   which      which two layers to keep: the bottom two (the paper's), the top two, the middle
 *   depth      every cut from 1 layer to all 12 (the depth is read from config.json)
 *   lrByMethod a learning-rate list per method: heads need a larger one
 *
 *   layercut plan examples/ablations.ts
 */
import {
  cls,
  depth,
  experiment,
  grid,
  hf,
  keepFirst,
  lm,
  paperSeeds,
  promptCls,
  sweep,
  tasks,
  template,
  verbalizer,
  zip,
} from '../dsl/index.js';

const model = hf('openai-community/gpt2');

const base = experiment({ model, layers: keepFirst(2), task: tasks.sst2, method: lm(), seed: 0 });

/** Three prompts for SST-2, each with its own label words (zipped: 3 pairs), × 5 seeds = 15 runs. */
export const templateAblation = sweep(
  base,
  grid(
    zip({
      prompt: [
        template(tasks.sst2)`Review: ${'text'}\nSentiment:${'label'}`,
        template(tasks.sst2)`${'text'} All in all, it was${'label'}`,
        template(tasks.sst2, 'Movie review: {text}\nDid the critic like it?{label}'),
      ],
      words: [
        verbalizer(tasks.sst2, { negative: ' Negative', positive: ' Positive' }),
        verbalizer(tasks.sst2, { negative: ' bad', positive: ' good' }),
        verbalizer(tasks.sst2, { negative: ' No', positive: ' Yes' }),
      ],
    }),
    { seed: paperSeeds },
  ),
);

/** Which two layers to keep, in text form (grammar/layers.peggy) × 5 seeds = 20 runs. */
export const whichLayers = sweep(base, {
  layers: ['first 2', '10..11', '5..6', '0, 11'],
  seed: paperSeeds,
});

/** Keep 1, 2, …, 12 layers: known once config.json (or the table of known models) gives the depth. */
export const depthScan = sweep(base, { layers: depth(model).map(keepFirst) });

/** Learning rates per method: the new heads of prompt-cls and cls get larger ones. 2 + 2 + 3 = 7 runs. */
export const lrByMethod = sweep(base, {
  method: [lm(), promptCls(), cls()],
  lr: ({ method }) =>
    method.kind === 'lm' ? [1e-5, 5e-5] : method.kind === 'prompt-cls' ? [5e-5, 1e-4] : [1e-4, 3e-4, 1e-3],
});
