/**
 * Methods × depth: prompt-based fine-tuning through the LM head (`lm`, the paper's), a new
 * classification head at the answer slot (`promptCls`) and one on the raw text (`cls`), each
 * with a learning rate of its own, on the shipped `tiny-english` cut to 1, 2, 4 and all 8
 * layers, on the offline `spam` task, three seeds each: 3 × 4 × 3 = 36 runs. Measured 2026-12-06
 * on a shared 2-core machine (load 4–7): 29 min wall, 20 min of CPU (wasm). The lm runs are
 * those of examples/selections.ts (same plans, same ids): one store runs them once.
 *
 *   layercut run examples/methods-depth.ts --db methods.db
 *   layercut results --db methods.db --view paper --by method
 *   layercut results --db methods.db --view compare --compare method --a lm --b cls
 *   layercut plot --db methods.db --kind layers --color-by method --out docs/img/methods-layers.png
 *
 * The learning rate follows the method, so it splits no rows or lines and paired comparisons
 * pair across it (docs/results.md, settings that follow another).
 */
import {
  adamw,
  builtin,
  cls,
  experiment,
  keepAll,
  keepFirst,
  lm,
  promptCls,
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
  data: { trainPerClass: 24, demosPerClass: 0, validation: 32, test: 200, maxLength: 48, truncate: 'right' },
  train: { optimizer: adamw({ lr: 1e-3 }), batchSize: 8, epochs: 4 },
  backend: 'wasm',
});

export const methodsByDepth = sweep(base, {
  layers: [keepFirst(1), keepFirst(2), keepFirst(4), keepAll()],
  method: [lm(), promptCls(), cls()],
  // each method's best on 2 layers, seed 0: lm 1e-3 (of 3e-4, 1e-3), promptCls 1e-3 (of 1e-3,
  // 3e-3), the head on the raw text 3e-3 (of 1e-3, 3e-3)
  lr: ({ method }) => (method.kind === 'cls' ? [3e-3] : [1e-3]),
  seed: [0, 1, 2],
});
