/**
 * How layercut's shipped model `tiny-english` (models/tiny-english/) was made:
 *
 *   layercut pretrain examples/pretrain-tiny.ts --backend webgpu     # on a GPU, ~8 minutes in all
 *
 * A GPT-2-style decoder with 8 layers of width 128 (4 heads of 32), 256 positions, and a
 * 4096-token byte-level BPE tokenizer that layercut trains on the same text. The text is what
 * npm ships offline: State of the Union addresses, Moby-Dick and SpamAssassin emails, with the
 * test inputs of the `spam` and `sotu-party` tasks held out. Saved in f16: 4.3 MB. Small
 * enough that fine-tuning every cut of it takes minutes on a laptop CPU (`npm start`).
 *
 * The run has a wall-clock budget: it stops after 7 minutes of training even if steps
 * remain, and its cosine schedule follows whichever of steps and time is further along.
 * Large batches (128 sequences): a model this small leaves a GPU idle at small ones.
 * The shipped weights are this job's checkpoint at step 1000 (docs/pretraining.md).
 */
import { adamw, byteLevelBpe, corpus, cosine, gpt2Architecture, pretraining } from '../dsl/index.js';

export const tinyEnglish = pretraining({
  name: 'tiny-english',
  corpus: corpus(['sotu', 'moby-dick', 'spam-assassin']),
  tokenizer: byteLevelBpe({ vocabSize: 4096 }),
  architecture: gpt2Architecture({ layers: 8, width: 128, heads: 4, positions: 256 }),
  train: {
    optimizer: adamw({ lr: 3e-3, betas: [0.9, 0.95], weightDecay: 0.1 }),
    schedule: cosine({ warmupSteps: 100 }),
    batchSize: 128,
    contextLength: 128,
    steps: 4000,
    maxMinutes: 7,
    maxGradNorm: 1,
    evalEvery: 250,
    evalSequences: 256,
  },
  saveDtype: 'F16',
  seed: 0,
});
