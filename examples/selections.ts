/**
 * Which layers to keep, at each depth: the paper's bottom-k cut against the top layers, a
 * block dropped from the middle, and the layers chosen from data by block influence (ShortGPT)
 * and by angular distance (Gromov et al.) — on the shipped `tiny-english` (8 layers) and the
 * offline `spam` task, three seeds each: 11 selections × 3 seeds = 33 runs. Measured 2026-12-06
 * on a shared 2-core machine (load 4–14): 57 min wall, 26 min of CPU (wasm).
 *
 *   layercut run examples/selections.ts --db selections.db
 *   layercut results --db selections.db --view paper --ci
 *   layercut plot --db selections.db --kind layers --out docs/img/selections-layers.png
 *
 * The plot draws each kind of selection as its own line over the number of kept layers, so
 * "last 4", "drop 2..5" and the computed selections of 4 layers are never averaged with
 * "first 4".
 */
import {
  adamw,
  builtin,
  byAngularDistance,
  byInfluence,
  experiment,
  keepAll,
  keepFirst,
  lm,
  sweep,
  tasks,
  verbalizer,
} from '../dsl/index.js';

const base = experiment({
  model: builtin('tiny-english'),
  task: tasks.spam,
  // " ham" is two tokens in tiny-english's tokenizer: score the mean of both
  words: verbalizer(tasks.spam, { ham: ' ham', spam: ' spam' }, { scoring: 'mean' }),
  method: lm(),
  // 24 emails per class to train on, 32 for validation (picks the best epoch), 200 to test;
  // an email is cut after its first 48 tokens; no demonstrations.
  data: { trainPerClass: 24, demosPerClass: 0, validation: 32, test: 200, maxLength: 48, truncate: 'right' },
  train: { optimizer: adamw({ lr: 1e-3 }), batchSize: 8, epochs: 4 },
  backend: 'wasm',
});

export const selections = sweep(base, {
  layers: [
    // the paper's cut: the bottom k (all = 8)
    keepFirst(1),
    keepFirst(2),
    keepFirst(4),
    keepAll(),
    // the top k
    'last 2',
    'last 4',
    // the bottom two and the top two
    'drop 2..5',
    // chosen from 64 calibration examples of the task
    byInfluence({ keep: 2 }),
    byInfluence({ keep: 4 }),
    byAngularDistance({ drop: 6 }),
    byAngularDistance({ drop: 4 }),
  ],
  seed: [0, 1, 2],
});
