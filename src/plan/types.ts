/**
 * A run plan: one fully specified run, as the experiment compiler produces it and the training
 * engine consumes it. Plain JSON: every default is filled in, so the plan alone says what ran.
 * Its content hash is the run's id (see id.ts): the same plan in two files is the same run.
 */
import type { BackendName } from '../runtime/backend-names.js';
import type { LayerSelection } from '../models/selection.js';
import { defaultsOf } from './schema.js';
import {
  dataOptions,
  methodOptions,
  trainOptions,
  type DataSpec,
  type MethodName,
  type MethodSpec,
  type ModelSource,
  type TrainSpec,
} from './options.js';

/** How an example becomes a prompt and how its answer is scored. */
export interface PromptSpec {
  /** Template text in layercut's template language, e.g. "Review: {text}\nSentiment:{label}". */
  template: string;
  /** Label → label words (leading space included), in the task's class order. */
  labelWords: Record<string, string[]>;
  /** How multi-token label words are scored: first token only, or summed / mean log-probability. */
  scoring: 'first' | 'sum' | 'mean';
}

/** The methods whose input is the prompt template (with an answer slot and demonstrations). */
export const promptMethods: ReadonlySet<MethodName> = new Set(['lm', 'prompt-cls', 'icl']);

/**
 * The model, method and training options' plan types, derived from their one declaration
 * (options.ts): where the model comes from, how the run uses it, the optimizer, the
 * learning-rate schedule, LoRA adapters, the block replacement, and all of them with the batch
 * size, epochs, clipping, … as a run's `train`; the few-shot data protocol.
 */
export type {
  DataSpec,
  LoraSpec,
  MethodName,
  MethodSpec,
  ModelSource,
  OptimizerSpec,
  ReplacementSpec,
  ScheduleSpec,
  TrainSpec,
} from './options.js';

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
  data: defaultsOf(dataOptions),
  train: defaultsOf(trainOptions),
  method: defaultsOf(methodOptions.cases.lm),
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
