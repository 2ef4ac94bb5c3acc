/**
 * A pretraining plan: everything one pretraining job does, as plain JSON with every default
 * filled in — the corpus, the tokenizer to train, the architecture, the schedule — so the plan
 * saved beside a model says exactly how it was made. `dsl/pretraining.ts` builds the
 * declaration; `compilePretraining` (compile.ts) checks it and fills in the defaults.
 */
import type { pretrainTrainOptions, ScheduleSpec } from '../plan/options.js';
import type { Output } from '../plan/schema.js';
import type { BackendName } from '../runtime/backend-names.js';

/** Text sources of the offline corpus (see src/data/corpus.ts). */
export type CorpusSourceName = 'sotu' | 'moby-dick' | 'spam-assassin' | 'debian-licenses';

/** A GPT-2-style decoder trained from scratch. */
export interface Gpt2Architecture {
  family: 'gpt2';
  layers: number;
  /** Residual width d (n_embd). */
  width: number;
  heads: number;
  /** Longest sequence the model reads (n_positions). */
  positions: number;
}

/**
 * The train options with every default filled in (declared in src/plan/options.ts, checked by
 * compile.ts), the schedule and context length included.
 */
export type PretrainTrainSpec = Omit<
  Output<typeof pretrainTrainOptions>,
  'schedule' | 'contextLength' | 'maxMinutes'
> & {
  schedule: ScheduleSpec;
  /** Tokens per training sequence (≤ positions). */
  contextLength: number;
  /**
   * A wall-clock budget in minutes, or null. When set, the run ends at whichever comes first,
   * and the schedule follows whichever is further along (steps done / steps, or time / budget),
   * so a run stopped by its budget still ends with a decayed learning rate.
   */
  maxMinutes: number | null;
};

export interface PretrainPlan {
  /** The model's name: the folder it is saved under (`models/<name>` by default). */
  name: string;
  corpus: { sources: CorpusSourceName[] };
  tokenizer: { kind: 'byte-level-bpe'; vocabSize: number; minFrequency: number };
  architecture: Gpt2Architecture;
  train: PretrainTrainSpec;
  /** Stored precision of the saved weights (training is fp32). */
  saveDtype: 'F32' | 'F16';
  seed: number;
  backend?: BackendName;
}

/** One point of the training curve. */
export interface PretrainCurvePoint {
  step: number;
  loss: number;
  lr: number;
  /** Tokens seen so far. */
  tokens: number;
  seconds: number;
}

/** One evaluation on the validation text. */
export interface PretrainEvalPoint {
  step: number;
  loss: number;
  perplexity: number;
  seconds: number;
}

/** What a pretraining job reports, and saves as `training.json` beside the model. */
export interface PretrainReport {
  plan: PretrainPlan;
  corpus: {
    trainTokens: number;
    validationTokens: number;
    trainDocuments: number;
    validationDocuments: number;
  };
  tokenizerSeconds: number;
  params: number;
  curve: PretrainCurvePoint[];
  evals: PretrainEvalPoint[];
  /** Why training ended: all steps done, or the time budget; null in a checkpoint written while training. */
  stoppedBy: 'steps' | 'time' | null;
  steps: number;
  trainSeconds: number;
  backend: string;
  /** Size of model.safetensors in bytes. */
  modelBytes: number;
}
