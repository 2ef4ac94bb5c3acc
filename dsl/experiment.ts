/**
 * `experiment({...})`: one run, written as the paper's method section reads. Only `model`
 * and `task` are required; everything else takes the paper's defaults in the compiler.
 * `override(base, {...})` is the same experiment with some options changed.
 *
 * The options object is an exact interface (no index signature): a misspelt option is a type
 * error, and editors complete option names. Its generic parameters tie the prompt and the
 * verbalizer to the task, and refuse a template without `{label}` for methods that need one.
 */
import type { Layers } from './layers.js';
import type { LmMethod, Method, SlotMethod } from './methods.js';
import type { Model } from './models.js';
import type { Template, Verbalizer } from './prompts.js';
import type { AnyTask, TaskName } from './tasks.js';
import type { RunSet } from './sweep.js';
import type { Backend, DataOptions, TrainOptions } from './training.js';

/** What the type checker says when a method that scores `{label}` gets a template without it. */
export interface NeedsAnswerSlot {
  'lm, promptCls and icl need a template with the answer slot {label}': true;
}

/** `unknown` (no constraint) unless `M` needs the answer slot and `P` is known to lack it. */
export type AnswerSlotCheck<M extends Method, P> = [M] extends [SlotMethod]
  ? [P] extends [Template<string, false>]
    ? NeedsAnswerSlot
    : unknown
  : unknown;

export interface ExperimentOptions<
  T extends AnyTask = AnyTask,
  M extends Method = Method,
  P extends Template<TaskName<T>> = Template<TaskName<T>>,
> {
  /** The pretrained model: `hf('openai-community/gpt2-xl')`, `local('./dir')`, `builtin('gpt2-tiny')`. */
  model: Model;
  /** Layers kept (default: all, the full model). */
  layers?: Layers;
  /** The task: `tasks.sst2`, … */
  task: T;
  /** How the model is trained (default `lm()`, prompt-based fine-tuning). */
  method?: M;
  /** The prompt template (default: the task's, from the paper). */
  prompt?: P & AnswerSlotCheck<M, P>;
  /** Label words (default: the task's, from the paper). */
  words?: Verbalizer<TaskName<T>>;
  /** The few-shot data protocol (defaults: the paper's). */
  data?: DataOptions;
  /** Optimizer, schedule, batch size, epochs… (defaults: the paper's). */
  train?: TrainOptions;
  /** Seed of data sampling, new heads and shuffling (default 0). */
  seed?: number;
  /** Compute backend (default: decided when the run starts). Not part of the run's id. */
  backend?: Backend;
  /** What to call the run in tables and filters (`--filter name=…`). Not part of the run's id. */
  name?: string;
  /** Tags to find the run by (`--filter tags=…`); they add up with a sweep's. Not part of the run's id. */
  tags?: readonly string[];
}

/** The options of an experiment with the type parameters erased: what sweeps and overrides hold. */
export interface ExperimentSettings {
  model?: Model;
  layers?: Layers;
  task?: AnyTask;
  method?: Method;
  prompt?: Template;
  words?: Verbalizer;
  data?: DataOptions;
  train?: TrainOptions;
  seed?: number;
  backend?: Backend;
  name?: string;
  tags?: readonly string[];
}

/** One run (before defaults are filled in), or a base for sweeps and overrides. */
export interface Experiment {
  readonly kind: 'experiment';
  readonly options: ExperimentSettings;
}

/** An experiment with some options changed: `{ base, changes }`, resolved by the compiler. */
export interface Override {
  readonly kind: 'override';
  readonly base: RunSet;
  readonly changes: ExperimentSettings;
}

/** One run. */
export function experiment<
  T extends AnyTask,
  M extends Method = LmMethod,
  P extends Template<TaskName<T>> = Template<TaskName<T>>,
>(options: ExperimentOptions<T, M, P>): Experiment {
  return { kind: 'experiment', options: options as ExperimentSettings };
}

/**
 * `base` (one experiment, or every run of a sweep) with some options changed. `train` and `data` merge option by option
 * (`override(base, { train: { epochs: 10 } })` keeps base's optimizer); the rest replace.
 */
export function override(base: RunSet, changes: ExperimentSettings): Override {
  return { kind: 'override', base, changes };
}
