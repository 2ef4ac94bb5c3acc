/**
 * A run plan: one fully specified run, as the experiment compiler produces it and the training
 * engine consumes it. Plain JSON: every default is filled in, so the plan alone says what ran.
 * Its content hash is the run's id (see id.ts): the same plan in two files is the same run.
 */
import type { BackendName } from '../runtime/backend.js';
import type { LayerSelection } from '../models/selection.js';

/** Where the model comes from. */
export type ModelSource =
  | { kind: 'hub'; repo: string; revision?: string }
  | { kind: 'local'; path: string }
  /** A built-in model (models/, a folder in $LAYERCUT_MODELS, or generated): resolved by name. */
  | { kind: 'builtin'; name: string };

/** How an example becomes a prompt and how its answer is scored. */
export interface PromptSpec {
  /** Template text in layercut's template language, e.g. "Review: {text}\nSentiment:{label}". */
  template: string;
  /** Label → label words (leading space included), in the task's class order. */
  labelWords: Record<string, string[]>;
  /** How multi-token label words are scored: first token only, or summed / mean log-probability. */
  scoring: 'first' | 'sum' | 'mean';
}

export type MethodName = 'lm' | 'prompt-cls' | 'cls' | 'icl' | 'linear-probe';

/** The methods whose input is the prompt template (with an answer slot and demonstrations). */
export const promptMethods: ReadonlySet<MethodName> = new Set(['lm', 'prompt-cls', 'icl']);

export interface MethodSpec {
  kind: MethodName;
  /** Keep the token and position embeddings fixed. */
  freezeEmbeddings: boolean;
  /** Original indices of layers kept fixed. */
  freezeLayers: number[];
}

/** The few-shot data protocol (defaults: the paper's). */
export interface DataSpec {
  /** Examples carved from the shuffled training split for validation. */
  validation: number;
  /** Demonstrations per class, prepended to every input in class order. */
  demosPerClass: number;
  /** Training examples per class (fewer when a class has fewer), or 'all'. */
  trainPerClass: number | 'all';
  /** Test examples: a seeded sample of min(test, size of the test split). */
  test: number;
  /** Longest input in tokens; longer inputs are shortened in their field text. */
  maxLength: number;
  /** Which end of the field text is cut when an input is too long. */
  truncate: 'left' | 'right';
  /**
   * Longest demonstration in tokens (counted on its own); longer ones are shortened in their
   * field text. Absent: demonstrations stay whole when they fit with the input's field text
   * emptied, else each gets an equal share of half of `maxLength` (src/prompts/render.ts,
   * `fitDemonstrations`). Absent from plans that leave it unset, so they keep their ids.
   */
  demoMaxTokens?: number;
}

export type OptimizerSpec =
  | { kind: 'adamw'; lr: number; betas: [number, number]; eps: number; weightDecay: number }
  | { kind: 'sgd'; lr: number; momentum: number; weightDecay: number };

export type ScheduleSpec =
  | { kind: 'constant'; warmupSteps: number }
  | { kind: 'linear'; warmupSteps: number }
  | { kind: 'cosine'; warmupSteps: number };

/**
 * LoRA adapters (src/models/lora.ts): the base weights stay frozen and each targeted projection
 * of the kept layers learns a low-rank update, scaled by alpha / rank (PEFT's LoraConfig).
 */
export interface LoraSpec {
  kind: 'lora';
  rank: number;
  alpha: number;
  /** Module names matched at the end of each projection's path ('c_attn', 'attn.c_proj'), or every projection. */
  targets: string[] | 'all';
  /** Dropout on each adapter's input during training steps. */
  dropout: number;
}

/**
 * Replacement of the one contiguous block of layers a cut removes (src/models/replacement.ts),
 * fitted on calibration hidden states before any training:
 *   linear  ReplaceMe's least-squares map T from the MLP output of the layer below the block to
 *           what the block adds, folded into that MLP's output projection (no new weights)
 *   mlp     LLM-Streamline's lightweight network: h + W₂ gelu(W₁ h + b₁) + b₂ in place of the
 *           block, trained on the MSE between the block's input and output
 */
export type ReplacementSpec =
  | { kind: 'replace'; fit: 'linear'; calibration: number }
  | { kind: 'replace'; fit: 'mlp'; calibration: number; hidden: number; steps: number; lr: number };

export interface TrainSpec {
  optimizer: OptimizerSpec;
  /** Learning-rate schedule over the run's total optimizer steps. */
  schedule: ScheduleSpec;
  batchSize: number;
  /** Micro-batches whose gradients are summed before one optimizer step. */
  gradientAccumulation: number;
  /** Passes over the training set at most (or `steps`, when set, wins). */
  epochs: number;
  steps?: number;
  /** Global gradient-norm clipping; 0 turns it off. */
  maxGradNorm: number;
  /** Evaluate on the validation set every epoch, or every N optimizer steps. */
  evalEvery: 'epoch' | number;
  /** Stop after this many evaluations without a better validation accuracy; 0 never stops early. */
  earlyStopPatience: number;
  /**
   * 'mixed': matmuls on the GPU's tensor cores in f16 with f32 accumulation and fp32 master
   * weights, with loss scaling (webgpu only; elsewhere the same as fp32). Absent means fp32, so
   * fp32 plans keep the ids they had before this option existed.
   */
  precision?: 'mixed';
  /** Train adapters instead of the model's weights; absent means full fine-tuning (ids unchanged). */
  adapters?: LoraSpec;
  /** Heal the removed block with a fitted replacement first; absent means none. */
  replace?: ReplacementSpec;
}

/**
 * Sublayers removed from the kept layers (original indices): a pre-norm layer without its
 * attention computes h + mlp(norm₂(h)), without its MLP h + attn(norm₁(h)); without both it is gone.
 */
export interface SublayerDrops {
  attention: number[];
  mlp: number[];
}

export interface RunPlan {
  model: ModelSource;
  layers: LayerSelection;
  /** Sublayer drops ('drop attn 10..20'); absent when none (ids unchanged). */
  sublayers?: SublayerDrops;
  /** Task registry name (src/data/tasks.ts). */
  task: string;
  prompt: PromptSpec;
  method: MethodSpec;
  data: DataSpec;
  train: TrainSpec;
  seed: number;
  /** Compute backend; not part of the run's id (the same run on another device is the same run). */
  backend?: BackendName;
  /** What people call the run and where it is defined; not part of its id (see RunLabels). */
  labels?: RunLabels;
}

/**
 * A run's labels: its name and tags (DSL `name` / `tags` on experiments and sweeps) and the
 * experiment files that define it. Not part of the run's id — renaming a sweep reruns nothing —
 * and kept in the results store with the run (the latest definition's), for filtering
 * (`layercut results --filter tags=…`) and for `layercut forget`.
 */
export interface RunLabels {
  name?: string;
  /** Sorted, without repeats. */
  tags?: string[];
  /** Absolute paths of the experiment files that define the run, sorted. */
  files?: string[];
}

/** The paper's settings, used wherever an experiment says nothing. */
export const PAPER_DEFAULTS: Readonly<{ data: DataSpec; train: TrainSpec; method: MethodSpec }> = {
  data: {
    validation: 1000,
    demosPerClass: 1,
    trainPerClass: 200,
    test: 1000,
    maxLength: 1024,
    truncate: 'left',
  },
  train: {
    optimizer: { kind: 'adamw', lr: 5e-5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
    schedule: { kind: 'constant', warmupSteps: 0 },
    batchSize: 1,
    gradientAccumulation: 1,
    epochs: 50,
    maxGradNorm: 0,
    evalEvery: 'epoch',
    earlyStopPatience: 15,
  },
  method: { kind: 'lm', freezeEmbeddings: false, freezeLayers: [] },
};

/** Metrics of one evaluation. */
export interface EvalMetrics {
  accuracy: number;
  macroF1: number;
  /** Per class, in class order. */
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export interface RunResult {
  id: string;
  plan: RunPlan;
  /** Test metrics of the best-validation weights. */
  test: EvalMetrics;
  /** Best validation accuracy and when it was reached. */
  validation: { accuracy: number; step: number; epoch: number };
  curves: {
    /** One point per optimizer step. */
    train: { step: number; epoch: number; loss: number; lr: number }[];
    /** One point per evaluation. */
    eval: { step: number; epoch: number; accuracy: number; loss: number }[];
  };
  timings: { wallSeconds: number; trainSeconds: number; evalSeconds: number; trainTokensPerSecond: number };
  size: { layersBefore: number; layersAfter: number; paramsBefore: number; paramsAfter: number };
  /**
   * For a computed selection (byInfluence, byAngularDistance): the original indices of the
   * layers the run chose from calibration data. Absent for fixed selections.
   */
  keptLayers?: number[];
  /**
   * Set when the training loss exploded or became NaN (src/train/divergence.ts): why. The
   * run's numbers are not to be trusted; tables mark it. Absent for a run that did not diverge.
   */
  divergence?: string;
  /** Largest number of bytes held by tensors during the run. */
  peakTensorBytes: number;
  backend: string;
  versions: Record<string, string>;
}
