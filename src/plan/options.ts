/**
 * The one declaration of the model, method, optimizer, schedule, training and data options
 * (combinators in schema.ts). From it come the DSL's types (dsl/training.ts, dsl/pretraining.ts), the plan's
 * types and the paper's defaults (types.ts, src/pretrain/plan.ts), the option names in messages
 * and the checks of both compilers (src/compile/build.ts, src/pretrain/compile.ts).
 *
 * To add an option: declare it here (its check and default), then implement it where plans are
 * run. A default that is not the old behaviour must be `absentWhen` the old value, so plans made
 * before the option existed keep their ids.
 */
import {
  absentWhen,
  boolean,
  custom,
  defaultsOf,
  described,
  integer,
  nonNegative,
  object,
  oneOf,
  numberText,
  optional,
  otherDefault,
  positive,
  required,
  show,
  tag,
  text,
  variants,
  withDefault,
  type Input,
  type Output,
} from './schema.js';
import { backendNames } from '../runtime/backend-names.js';
import { adapterLabel, replacementLabel } from './healing-labels.js';

const notAModel = (value: unknown): string =>
  `${show(value)} is not a model: use hf('org/name'), local('./dir') or builtin('name')`;

/** Where the model comes from: a hub repository (at a revision), a local folder, or a built-in model by name. */
export const modelOptions = variants(
  { key: 'kind', notOne: notAModel },
  {
    hub: object(
      { what: 'hub model', notOne: notAModel, essential: ['repo'] },
      { kind: tag('hub'), repo: text(), revision: optional(text()) },
    ),
    local: object(
      { what: 'local model', notOne: notAModel, essential: ['path'] },
      { kind: tag('local'), path: text() },
    ),
    /** A built-in model (models/, a folder in $LAYERCUT_MODELS, or generated): resolved by name. */
    builtin: object(
      { what: 'builtin model', notOne: notAModel, essential: ['name'] },
      { kind: tag('builtin'), name: text() },
    ),
  },
);

const notAMethod = (value: unknown): string =>
  `${show(value)} is not a method: use lm(), promptCls(), cls(), icl() or linearProbe()`;

/** A method that trains the model: which parts stay fixed (default: none). */
const trainedMethod = <const K extends string>(kind: K) =>
  object(
    { what: `${kind} method`, notOne: notAMethod },
    {
      kind: tag(kind),
      /** Keep the token and position embeddings fixed (default false). */
      freezeEmbeddings: withDefault(boolean('freezeEmbeddings'), false),
      /** Original indices of layers kept fixed (default none), sorted, without repeats. */
      freezeLayers: withDefault(
        custom<readonly number[], number[]>(
          (v) =>
            Array.isArray(v) && v.every((i) => Number.isInteger(i) && (i as number) >= 0)
              ? [...new Set(v as number[])].sort((a, b) => a - b)
              : undefined,
          (v) => `freezeLayers must list layer indices (0, 1, …), got ${show(v)}`,
        ),
        [],
      ),
    },
  );

/** A method that trains nothing of the model (no freeze options). */
const frozenMethod = <const K extends string>(kind: K) =>
  object({ what: `${kind} method`, notOne: notAMethod }, { kind: tag(kind) });

/**
 * How a run uses the model: lm (its LM head scores the label words, the paper's), prompt-cls
 * (a classification head on the answer slot), cls (on the last token), icl (in-context, no
 * training), linear-probe (a linear classifier on frozen features).
 */
export const methodOptions = variants(
  { key: 'kind', notOne: notAMethod },
  {
    lm: trainedMethod('lm'),
    'prompt-cls': trainedMethod('prompt-cls'),
    cls: trainedMethod('cls'),
    icl: frozenMethod('icl'),
    'linear-probe': frozenMethod('linear-probe'),
  },
);

/** The methods, in the order of the declaration. */
export const methodNames = Object.keys(methodOptions.cases) as (keyof typeof methodOptions.cases)[];

/** The methods that train nothing of the model: no freeze options, no adapters. */
export const frozenMethods: readonly MethodName[] = methodNames.filter(
  (kind) => !('freezeEmbeddings' in methodOptions.cases[kind].shape),
);

const notAnOptimizer = (value: unknown): string =>
  `${show(value)} is not an optimizer: use adamw({ lr }) or sgd({ lr })`;

const betas = custom<readonly [number, number], [number, number]>(
  (v) =>
    Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === 'number' && b >= 0 && b < 1)
      ? [v[0] as number, v[1] as number]
      : undefined,
  (v) => `adamw betas must be two numbers in [0, 1), got ${show(v)}`,
);

/** AdamW (the paper's: lr 5e-5, betas [0.9, 0.999], eps 1e-8, no weight decay). */
export const adamwOptions = object(
  { what: 'adamw', notOne: notAnOptimizer },
  {
    kind: tag('adamw'),
    /** Learning rate (default 5e-5, the paper's); the sweep axis `lr` (whichever optimizer the run has). */
    lr: described(withDefault(positive('the learning rate'), 5e-5), { axis: 'lr' }),
    /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
    betas: described(withDefault(betas, [0.9, 0.999]), { column: false }),
    /** Added to the denominator (default 1e-8). */
    eps: described(withDefault(positive('adamw eps'), 1e-8), { column: false }),
    /** Decoupled weight decay (default 0). */
    weightDecay: withDefault(nonNegative('weight decay'), 0),
  },
);

/** SGD with optional momentum (default 0) and weight decay (default 0). */
export const sgdOptions = object(
  { what: 'sgd', notOne: notAnOptimizer },
  {
    kind: tag('sgd'),
    /** Learning rate (no default). */
    lr: described(required(positive('the learning rate'), 'sgd needs a learning rate: sgd({ lr: 1e-3 })'), {
      axis: 'lr',
    }),
    /** Momentum (default 0: plain SGD). */
    momentum: described(withDefault(nonNegative('sgd momentum'), 0), { column: false }),
    /** Weight decay (default 0). */
    weightDecay: withDefault(nonNegative('weight decay'), 0),
  },
);

export const optimizerOptions = variants(
  { key: 'kind', notOne: notAnOptimizer },
  { adamw: adamwOptions, sgd: sgdOptions },
);

const notASchedule = (value: unknown): string =>
  `${show(value)} is not a schedule: use constant(), linear({ warmupSteps }) or cosine({ warmupSteps })`;

const scheduleOf = <const K extends string>(kind: K) =>
  object(
    { what: 'schedule', notOne: notASchedule },
    {
      kind: tag(kind),
      /** Optimizer steps of linear warm-up from 0 (default 0). */
      warmupSteps: withDefault(integer(0, 'warmupSteps'), 0),
    },
  );

/** constant: the learning rate after warm-up (the paper's); linear, cosine: decay to 0 over the run. */
export const scheduleOptions = variants(
  { key: 'kind', notOne: notASchedule },
  { constant: scheduleOf('constant'), linear: scheduleOf('linear'), cosine: scheduleOf('cosine') },
);

/**
 * LoRA adapters (Hu et al. 2021): the model's weights stay frozen and each targeted projection of
 * the kept layers learns a low-rank update B·A scaled by alpha / rank, as PEFT's LoraConfig
 * (src/models/lora.ts). The defaults are PEFT's.
 */
export const loraOptions = object(
  {
    what: 'lora',
    checkOrder: ['kind', 'rank', 'alpha', 'dropout'], // then targets: the order of its messages
    notOne: (value) => `${show(value)} is not an adapter: use lora({ rank, alpha, targets })`,
  },
  {
    kind: tag('lora'),
    /** Rank r of each update (default 8, PEFT's). */
    rank: withDefault(integer(1, 'the LoRA rank'), 8),
    /** Scale numerator: the update is multiplied by alpha / rank (default 8, PEFT's). */
    alpha: withDefault(positive('LoRA alpha'), 8),
    /**
     * Module names, matched at the end of each projection's path as PEFT's target_modules
     * ('c_attn', 'attn.c_proj', 'q_proj'), or 'all' (default): every projection of the kept layers.
     */
    targets: withDefault(
      custom<readonly string[] | 'all', string[] | 'all'>(
        (v) =>
          v === 'all'
            ? 'all'
            : Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'string' && t.length > 0)
              ? [...new Set(v as string[])]
              : undefined,
        (v) =>
          `LoRA targets must be 'all' or module names such as ['c_attn'] or ['q_proj', 'v_proj'], got ${show(v)}`,
      ),
      'all' as string[] | 'all',
    ),
    /** Dropout on each adapter's input during training steps (default 0). */
    dropout: withDefault(
      custom<number>(
        (v) => (typeof v === 'number' && v >= 0 && v < 1 ? v : undefined),
        (v) => `LoRA dropout must be a number in [0, 1), got ${show(v)}`,
      ),
      0,
    ),
  },
);

const notAReplacement = (value: unknown): string =>
  `${show(value)} is not a replacement: use replaceBlock({ fit: 'linear' })`;
/** Calibration examples (default 64). */
const calibration = withDefault(integer(1, 'calibration examples'), 64);

/**
 * A fitted stand-in for the one contiguous block of layers the cut removes, made before any
 * training on calibration examples from the training split (src/models/replacement.ts):
 *   fit 'linear' (default): ReplaceMe's least-squares linear map, folded into the MLP of the layer
 *     below the block, training-free; the export is a plain checkpoint transformers loads
 *   fit 'mlp': LLM-Streamline's small MLP, h + W₂ gelu(W₁ h + b₁) + b₂ in place of the block,
 *     trained on the MSE between the block's input and output
 */
export const replaceOptions = variants(
  {
    key: 'fit',
    absent: 'linear',
    notOne: notAReplacement,
    badTag: (fit) => `replaceBlock fit is 'linear' or 'mlp', not ${show(fit)}`,
  },
  {
    linear: object(
      { what: "replaceBlock fit 'linear'", notOne: notAReplacement },
      { kind: tag('replace'), fit: withDefault(tag('linear'), 'linear'), calibration },
    ),
    mlp: object(
      { what: "replaceBlock fit 'mlp'", notOne: notAReplacement },
      {
        kind: tag('replace'),
        fit: tag('mlp'),
        calibration,
        /** Hidden width (default 0: the model's width). */
        hidden: withDefault(integer(0, "the replacement MLP's hidden width"), 0),
        /** AdamW steps (default 500). */
        steps: withDefault(integer(1, "the replacement MLP's steps"), 500),
        /** Learning rate (default 1e-3). */
        lr: withDefault(positive("the replacement MLP's learning rate"), 1e-3),
      },
    ),
  },
);

/** Options both kinds of training have. */
const shared = {
  batchSize: integer(1, 'train.batchSize'),
  steps: integer(1, 'train.steps'),
  /** Global gradient-norm clipping; 0 turns it off. */
  maxGradNorm: nonNegative('train.maxGradNorm'),
  /**
   * 'fp32' (default) or 'mixed': matmuls on the GPU's tensor cores (f16 inputs, f32 accumulation,
   * fp32 weights, loss scaling). Takes effect on the webgpu backend of a GPU that has them; absent
   * from plans for fp32, so they keep the ids they had before this option existed.
   */
  precision: absentWhen(
    oneOf(['fp32', 'mixed'], (v, path) => `${path} is 'fp32' or 'mixed', not ${show(v)}`),
    'fp32',
  ),
};

const notTrainOptions = (value: unknown): string => `train options must be an object, got ${show(value)}`;

/** Fine-tuning's training options; each one left out takes the paper's value. */
export const trainOptions = object(
  { what: 'train', notOne: notTrainOptions },
  {
    optimizer: described(withDefault(optimizerOptions, defaultsOf(adamwOptions)), {
      axis: 'optimizer',
      axisAfter: 'lr',
    }),
    /** Learning-rate schedule over the run's total optimizer steps (default constant, the paper's). */
    schedule: described(withDefault(scheduleOptions, defaultsOf(scheduleOptions.cases.constant)), {
      axis: 'schedule',
    }),
    /** Examples per micro-batch (default 1). */
    batchSize: described(withDefault(shared.batchSize, 1), { axis: 'batchSize', axisAfter: 'epochs' }),
    /** Micro-batches whose gradients are summed before one optimizer step (default 1). */
    gradientAccumulation: withDefault(integer(1, 'train.gradientAccumulation'), 1),
    /** Passes over the training set at most (default 50). */
    epochs: described(withDefault(integer(0, 'train.epochs'), 50), { axis: 'epochs' }),
    /** Global gradient-norm clipping; 0 turns it off (default). */
    maxGradNorm: withDefault(shared.maxGradNorm, 0),
    /** Evaluate on the validation set every epoch (default) or every N optimizer steps. */
    evalEvery: described(
      withDefault(
        custom<'epoch' | number>(
          (v) =>
            v === 'epoch' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) ? v : undefined,
          (v) => `train.evalEvery ('epoch' or a step count) must be a whole number ≥ 1, got ${show(v)}`,
        ),
        'epoch' as 'epoch' | number,
      ),
      { column: { cell: String } },
    ),
    /** Stop after this many evaluations without a better validation accuracy; 0 never stops (default 15). */
    earlyStopPatience: withDefault(integer(0, 'train.earlyStopPatience'), 15),
    /** Optimizer steps; when set it wins over `epochs`. */
    steps: described(optional(shared.steps), { column: { after: 'epochs' } }),
    precision: shared.precision,
    /** Train LoRA adapters on the frozen model instead of its weights (default: full fine-tuning). */
    adapters: described(optional(loraOptions), {
      column: { cell: (v): string => adapterLabel(v as LoraSpec | undefined) },
    }),
    /** Heal the block the cut removes with a fitted replacement before training (default none). */
    replace: described(optional(replaceOptions), {
      column: { cell: (v): string => replacementLabel(v as ReplacementSpec | undefined) },
    }),
  },
);

/** AdamW's defaults for pretraining: nanoGPT-like small-model settings. */
const pretrainAdamw = adamwOptions.with({
  lr: otherDefault(adamwOptions.shape.lr, 1e-3),
  betas: otherDefault(adamwOptions.shape.betas, [0.9, 0.95]),
  weightDecay: otherDefault(adamwOptions.shape.weightDecay, 0.1),
});

/**
 * Pretraining's training options. Two defaults depend on the declaration and are set by its
 * compiler (`pretrainTrainOptions.with`): contextLength (the architecture's positions) and the
 * schedule (cosine; warm-up a tenth of the steps, at most 200).
 */
export const pretrainTrainOptions = object(
  { what: 'train', notOne: notTrainOptions },
  {
    /** Default AdamW lr 1e-3, betas [0.9, 0.95], weight decay 0.1. */
    optimizer: withDefault(optimizerOptions.with({ adamw: pretrainAdamw }), defaultsOf(pretrainAdamw)),
    /** Default: cosine decay after a warm-up of a tenth of the steps (at most 200). */
    schedule: optional(scheduleOptions),
    /** Sequences per step (default 32). */
    batchSize: withDefault(shared.batchSize, 32),
    /** Tokens per sequence (default: the architecture's positions). */
    contextLength: optional(integer(2, 'train.contextLength')),
    /** Optimizer steps (required: the schedule decays over them). */
    steps: required(shared.steps, 'train.steps is required: the schedule decays over the steps'),
    /** Stop after this many minutes even if steps remain (default: no limit). */
    maxMinutes: optional(positive('train.maxMinutes')),
    /** Global gradient-norm clipping (default 1). */
    maxGradNorm: withDefault(shared.maxGradNorm, 1),
    /** Validation perplexity (and a checkpoint) every N steps (default 500). */
    evalEvery: withDefault(integer(1, 'train.evalEvery'), 500),
    /** Validation sequences per evaluation (default 256). */
    evalSequences: withDefault(integer(1, 'train.evalSequences'), 256),
    precision: shared.precision,
  },
);

/** The run's seed: the data sample, the initialization of new heads, dropout (default 0). */
export const seedOption = integer(0, 'seed');

/** Where runs compute (default: decided when the run starts); not part of a run's id. */
export const backendOption = oneOf(
  backendNames,
  (v, path) => `${path} must be one of ${backendNames.join(', ')}, got ${show(v)}`,
);

/** The few-shot data protocol; each option left out takes the paper's value. */
export const dataOptions = object(
  { what: 'data', notOne: (value) => `data options must be an object, got ${show(value)}` },
  {
    /** Examples carved from the shuffled training split for validation (default 1000). */
    validation: withDefault(integer(0, 'data.validation'), 1000),
    /** Demonstrations per class, prepended to every input in class order (default 1). */
    demosPerClass: withDefault(integer(0, 'data.demosPerClass'), 1),
    /** Training examples per class (fewer when a class has fewer), or 'all' (default 200). */
    trainPerClass: described(
      withDefault(
        custom<number | 'all'>(
          (v) =>
            v === 'all' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) ? v : undefined,
          (v) => `data.trainPerClass (or 'all') must be a whole number ≥ 1, got ${show(v)}`,
          { read: (text) => (text === 'all' ? 'all' : numberText.read(text)) },
        ),
        200 as number | 'all',
      ),
      { axis: 'trainPerClass', column: { cell: String } },
    ),
    /** Test examples: a seeded sample of min(test, size of the test split) (default 1000). */
    test: withDefault(integer(1, 'data.test'), 1000),
    /**
     * Longest input in tokens; longer inputs are shortened in their field text (default 1024, or
     * the model's positions when it has fewer: the compiler sets it with `dataOptions.with`).
     */
    maxLength: withDefault(integer(1, 'data.maxLength'), 1024),
    /** Which end of the field text is cut when an input (or a demonstration) is too long (default 'left'). */
    truncate: withDefault(
      oneOf(['left', 'right'], (v) => `data.truncate must be 'left' or 'right', got ${show(v)}`),
      'left',
    ),
    /**
     * Longest demonstration in tokens (counted on its own); longer ones are shortened in their
     * field text. Absent: demonstrations stay whole when they fit with the input's field text
     * emptied, else each gets an equal share of half of `maxLength` (src/prompts/render.ts,
     * `fitDemonstrations`). Absent from plans that leave it unset, so they keep their ids.
     */
    demoMaxTokens: described(optional(integer(1, 'data.demoMaxTokens')), { column: false }),
  },
);

export type ModelSource = Output<typeof modelOptions>;
export type MethodName = keyof typeof methodOptions.cases;
/** A plan's method: frozen methods freeze nothing of what they never train. */
export type MethodSpec = Output<ReturnType<typeof trainedMethod<MethodName>>>;
export type DataSpec = Output<typeof dataOptions>;
export type OptimizerSpec = Output<typeof optimizerOptions>;
export type ScheduleSpec = Output<typeof scheduleOptions>;
export type LoraSpec = Output<typeof loraOptions>;
export type ReplacementSpec = Output<typeof replaceOptions>;
export type TrainSpec = Output<typeof trainOptions>;

export type DataInput = Input<typeof dataOptions>;
export type AdamWInput = Input<typeof adamwOptions>;
export type AdamWSpec = Output<typeof adamwOptions>;

/**
 * A filled AdamW spec, the declaration's defaults with `overrides`: for code that trains without
 * a compiled plan (the MLP replacement fit, benchmarks, tests), so that a new AdamW option needs
 * no edit there.
 */
export function adamwSpec(overrides: Partial<Omit<AdamWSpec, 'kind'>> = {}): AdamWSpec {
  return { ...defaultsOf(adamwOptions), ...overrides };
}
export type SgdInput = Input<typeof sgdOptions>;
export type ScheduleInput = Input<typeof scheduleOptions>;
export type LoraInput = Input<typeof loraOptions>;
export type ReplaceInput = Input<typeof replaceOptions>;
