/**
 * Optimizers, learning-rate schedules, and the training and data options of an experiment.
 * Anything left out takes the paper's value (PAPER_DEFAULTS in src/plan/types.ts), filled in
 * by the compiler so every value is visible in the run plan.
 */
export interface AdamW {
  readonly kind: 'adamw';
  readonly lr?: number;
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
}

export interface Sgd {
  readonly kind: 'sgd';
  readonly lr: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
}

export type Optimizer = AdamW | Sgd;

/** AdamW (the paper's: lr 5e-5, betas [0.9, 0.999], eps 1e-8, no weight decay). */
export function adamw(options: Omit<AdamW, 'kind'> = {}): AdamW {
  return { kind: 'adamw', ...options };
}

/** SGD with optional momentum (default 0) and weight decay (default 0). */
export function sgd(options: Omit<Sgd, 'kind'>): Sgd {
  return { kind: 'sgd', ...options };
}

export interface ScheduleOptions {
  /** Optimizer steps of linear warm-up from 0 (default 0). */
  warmupSteps?: number;
}

export interface Schedule extends ScheduleOptions {
  readonly kind: 'constant' | 'linear' | 'cosine';
}

/** A constant learning rate after warm-up (the paper's). */
export function constant(options: ScheduleOptions = {}): Schedule {
  return { kind: 'constant', ...options };
}

/** Linear decay to 0 over the run after warm-up. */
export function linear(options: ScheduleOptions = {}): Schedule {
  return { kind: 'linear', ...options };
}

/** Cosine decay to 0 over the run after warm-up. */
export function cosine(options: ScheduleOptions = {}): Schedule {
  return { kind: 'cosine', ...options };
}

/**
 * LoRA adapters (Hu et al. 2021): the model's weights stay frozen and each targeted projection of
 * the kept layers learns a low-rank update B·A scaled by alpha / rank, as PEFT's LoraConfig.
 */
export interface Lora {
  readonly kind: 'lora';
  /** Rank r of each update (default 8, PEFT's). */
  readonly rank?: number;
  /** Scale numerator: the update is multiplied by alpha / rank (default 8, PEFT's). */
  readonly alpha?: number;
  /**
   * Module names, matched at the end of each projection's path as PEFT's target_modules
   * ('c_attn', 'attn.c_proj', 'q_proj'), or 'all' (default): every projection of the kept layers.
   */
  readonly targets?: readonly string[] | 'all';
  /** Dropout on each adapter's input during training steps (default 0). */
  readonly dropout?: number;
}

/** LoRA adapters instead of full fine-tuning: `train: { adapters: lora({ rank: 8 }) }`. */
export function lora(options: Omit<Lora, 'kind'> = {}): Lora {
  return { kind: 'lora', ...options };
}

/**
 * A fitted stand-in for the one contiguous block of layers the cut removes, made before any
 * training on calibration examples from the training split:
 *   fit 'linear' (default): ReplaceMe's least-squares linear map, folded into the MLP of the layer
 *     below the block, training-free; the export is a plain checkpoint transformers loads
 *   fit 'mlp': LLM-Streamline's small MLP trained on the MSE between the block's input and output
 */
export interface ReplaceBlock {
  readonly kind: 'replace';
  readonly fit?: 'linear' | 'mlp';
  /** Calibration examples (default 64). */
  readonly calibration?: number;
  /** MLP only: hidden width (default: the model's width), AdamW steps (default 500) and learning rate (default 1e-3). */
  readonly hidden?: number;
  readonly steps?: number;
  readonly lr?: number;
}

/** Replace the removed block: `train: { replace: replaceBlock(), epochs: 0 }` is ReplaceMe, training-free. */
export function replaceBlock(options: Omit<ReplaceBlock, 'kind'> = {}): ReplaceBlock {
  return { kind: 'replace', ...options };
}

/** Training options; each one left out takes the paper's value. */
export interface TrainOptions {
  optimizer?: Optimizer;
  schedule?: Schedule;
  batchSize?: number;
  /** Micro-batches whose gradients are summed before one optimizer step. */
  gradientAccumulation?: number;
  /** Passes over the training set at most (default 50). */
  epochs?: number;
  /** Optimizer steps; when set it wins over `epochs`. */
  steps?: number;
  /** Global gradient-norm clipping; 0 turns it off (default). */
  maxGradNorm?: number;
  /** Evaluate on the validation set every epoch (default) or every N optimizer steps. */
  evalEvery?: 'epoch' | number;
  /** Stop after this many evaluations without a better validation accuracy; 0 never stops (default 15). */
  earlyStopPatience?: number;
  /**
   * 'fp32' (default) or 'mixed': matmuls on the GPU's tensor cores (f16 inputs, f32 accumulation,
   * fp32 weights, loss scaling). Takes effect on the webgpu backend of a GPU that has them.
   */
  precision?: 'fp32' | 'mixed';
  /** Train LoRA adapters on the frozen model instead of its weights (default: full fine-tuning). */
  adapters?: Lora;
  /** Heal the block the cut removes with a fitted replacement before training (default none). */
  replace?: ReplaceBlock;
}

/** The few-shot data protocol; each option left out takes the paper's value. */
export interface DataOptions {
  /** Examples carved from the shuffled training split for validation (default 1000). */
  validation?: number;
  /** Demonstrations per class, prepended to every input in class order (default 1). */
  demosPerClass?: number;
  /** Training examples per class, or 'all' (default 200). */
  trainPerClass?: number | 'all';
  /** Test examples: a seeded sample of this many (default 1000). */
  test?: number;
  /**
   * Longest input in tokens; longer inputs are shortened in their field text (default 1024, or
   * the model's positions when it has fewer).
   */
  maxLength?: number;
  /** Which end of the field text is cut when an input (or a demonstration) is too long (default 'left'). */
  truncate?: 'left' | 'right';
  /**
   * Longest demonstration in tokens; longer ones are shortened in their field text. Default:
   * demonstrations stay whole when they fit, else each gets an equal share of half of maxLength.
   */
  demoMaxTokens?: number;
}

/** Where runs compute (default: decided when the run starts); not part of a run's id. */
export type Backend = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
