/**
 * Optimizers, learning-rate schedules, and the training and data options of an experiment.
 * Their types are derived from the one declaration of each option (src/plan/options.ts, which
 * also holds its default and its check). Anything left out takes the paper's value, filled in
 * by the compiler so every value is visible in the run plan.
 */
import type {
  AdamWInput,
  DataInput,
  LoraInput,
  ReplaceInput,
  ScheduleInput,
  SgdInput,
  trainOptions,
} from '../src/plan/options.js';
import type { Input } from '../src/plan/schema.js';
import type { BackendName } from '../src/runtime/backend-names.js';

/** A union's members without their `kind` (Omit on each member). */
type WithoutKind<T> = T extends unknown ? Omit<T, 'kind'> : never;

/** AdamW's options (declared in src/plan/options.ts, as every training option). */
export type AdamW = AdamWInput;
/** SGD's options. */
export type Sgd = SgdInput;
export type Optimizer = AdamW | Sgd;

/** AdamW (the paper's: lr 5e-5, betas [0.9, 0.999], eps 1e-8, no weight decay). */
export function adamw(options: Omit<AdamW, 'kind'> = {}): AdamW {
  return { kind: 'adamw', ...options };
}

/** SGD with optional momentum (default 0) and weight decay (default 0). */
export function sgd(options: Omit<Sgd, 'kind'>): Sgd {
  return { kind: 'sgd', ...options };
}

export type Schedule = ScheduleInput;
export type ScheduleOptions = WithoutKind<Schedule>;

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
export type Lora = LoraInput;

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
 *     (hidden width, default the model's; AdamW steps, default 500; learning rate, default 1e-3)
 */
export type ReplaceBlock = ReplaceInput;

/** Replace the removed block: `train: { replace: replaceBlock(), epochs: 0 }` is ReplaceMe, training-free. */
export function replaceBlock(options: WithoutKind<ReplaceBlock> = {}): ReplaceBlock {
  return { kind: 'replace', ...options } as ReplaceBlock;
}

/** Training options; each one left out takes the paper's value. */
export type TrainOptions = Input<typeof trainOptions>;

/** The few-shot data protocol; each option left out takes the paper's value. */
export type DataOptions = DataInput;

/** Where runs compute (default: decided when the run starts); not part of a run's id. */
export type Backend = BackendName;
