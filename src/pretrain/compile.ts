/**
 * A `pretraining({...})` declaration (dsl/pretraining.ts) → a checked PretrainPlan with every
 * default filled in. Every problem is reported at once, by option path, in one LayercutError.
 *
 * A quick trial (`layercut pretrain --steps/--max-minutes`) compiles the declaration again with
 * overrides, so the warm-up rule below is the only one; `declarationOf(plan)` turns a compiled
 * (or saved) plan back into a declaration for that.
 */
import { LayercutError } from '../errors.js';
import { backendOption, pretrainTrainOptions, scheduleOptions } from '../plan/options.js';
import { defaultsOf, integer, keysOf, optional, withDefault } from '../plan/schema.js';
import type { ScheduleSpec } from '../plan/types.js';
import type { CorpusSourceName, PretrainPlan, PretrainTrainSpec } from './plan.js';

export const corpusSourceNames: readonly CorpusSourceName[] = [
  'sotu',
  'moby-dick',
  'spam-assassin',
  'debian-licenses',
];

/**
 * Defaults for what a pretraining declaration leaves out (nanoGPT-like small-model settings):
 * the train options' are declared in src/plan/options.ts.
 */
export const PRETRAIN_DEFAULTS = {
  ...defaultsOf(pretrainTrainOptions),
  minFrequency: 2,
  saveDtype: 'F16' as const,
  seed: 0,
};

export class PretrainPlanError extends LayercutError {
  override name = 'PretrainPlanError';
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Is `value` a pretraining declaration (as opposed to an experiment or sweep)? */
export function isPretraining(value: unknown): value is Json {
  return isRecord(value) && value['kind'] === 'pretraining';
}

/** Values that replace the declared ones: a quick trial of a declaration. */
export interface PretrainOverrides {
  /** Replaces train.steps. */
  steps?: number | undefined;
  /** Replaces train.maxMinutes. */
  maxMinutes?: number | undefined;
}

export function compilePretraining(value: unknown, overrides: PretrainOverrides = {}): PretrainPlan {
  if (!isPretraining(value))
    throw new PretrainPlanError('not a pretraining declaration: use pretraining({...})');
  const problems: string[] = [];
  const issues = { error: (path: string, message: string) => problems.push(`${path}: ${message}`) };
  const need = (ok: boolean, path: string, message: string) => {
    if (!ok) issues.error(path, message);
  };
  const int = (v: unknown, path: string, min: number): number => integer(min).read(v, path, issues) ?? min;

  const name = value['name'];
  need(
    typeof name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name),
    'name',
    'must be a folder-safe name like "tiny-english"',
  );

  const corpus = isRecord(value['corpus']) ? value['corpus'] : {};
  const sources = Array.isArray(corpus['sources']) ? (corpus['sources'] as unknown[]) : [];
  need(
    sources.length > 0,
    'corpus',
    `name at least one source: corpus([${corpusSourceNames.map((s) => `'${s}'`).join(', ')}])`,
  );
  for (const source of sources)
    need(
      corpusSourceNames.includes(source as CorpusSourceName),
      'corpus',
      `unknown source '${String(source)}' (known: ${corpusSourceNames.join(', ')})`,
    );

  const tokenizer = isRecord(value['tokenizer']) ? value['tokenizer'] : {};
  need(tokenizer['kind'] === 'byte-level-bpe', 'tokenizer', 'use byteLevelBpe({ vocabSize })');
  const vocabSize = int(tokenizer['vocabSize'], 'tokenizer.vocabSize', 257);
  const minFrequency = int(
    tokenizer['minFrequency'] ?? PRETRAIN_DEFAULTS.minFrequency,
    'tokenizer.minFrequency',
    1,
  );

  const arch = isRecord(value['architecture']) ? value['architecture'] : {};
  need(
    arch['kind'] === 'gpt2-architecture',
    'architecture',
    'use gpt2Architecture({ layers, width, heads, positions })',
  );
  const layers = int(arch['layers'], 'architecture.layers', 1);
  const width = int(arch['width'], 'architecture.width', 1);
  const heads = int(arch['heads'], 'architecture.heads', 1);
  const positions = int(arch['positions'], 'architecture.positions', 2);
  need(width % heads === 0, 'architecture.heads', `width ${width} is not divisible by ${heads} heads`);

  // The train options are declared with fine-tuning's (src/plan/options.ts); two defaults depend on
  // the declaration. The warm-up rule: cosine decay after a warm-up of a tenth of the run, at most
  // 200 steps. A trial (steps or budget overridden) keeps at most a tenth of its steps for
  // warm-up, even a declared warm-up, so that it has steps left after it.
  const declared = isRecord(value['train']) ? value['train'] : {};
  const given = {
    ...declared,
    ...(overrides.steps === undefined ? {} : { steps: overrides.steps }),
    ...(overrides.maxMinutes === undefined ? {} : { maxMinutes: overrides.maxMinutes }),
  };
  const plannedSteps = typeof given['steps'] === 'number' ? given['steps'] : 0;
  const tenth = Math.floor(plannedSteps / 10);
  const warmupDefault = <K extends keyof typeof scheduleOptions.cases>(kind: K) => {
    const schedule = scheduleOptions.cases[kind];
    const warmupSteps = withDefault(schedule.shape.warmupSteps.schema, Math.min(200, tenth));
    return schedule.with({ warmupSteps }) as (typeof scheduleOptions.cases)[K];
  };
  const trainSchema = pretrainTrainOptions.with({
    schedule: optional(
      scheduleOptions.with({
        constant: warmupDefault('constant'),
        linear: warmupDefault('linear'),
        cosine: warmupDefault('cosine'),
      }),
    ),
  });
  const read = trainSchema.read(given, 'train', issues);

  const steps = read?.steps ?? 1;
  const contextLength = read?.contextLength ?? positions;
  need(
    contextLength <= positions,
    'train.contextLength',
    `${contextLength} is longer than the model's ${positions} positions`,
  );
  const schedule: ScheduleSpec = read?.schedule ?? { kind: 'cosine', warmupSteps: Math.min(200, tenth) };
  const trial = overrides.steps !== undefined || overrides.maxMinutes !== undefined;
  if (trial) schedule.warmupSteps = Math.min(schedule.warmupSteps, tenth);
  need(
    schedule.warmupSteps < steps,
    'train.schedule.warmupSteps',
    `warm-up (${schedule.warmupSteps}) must be shorter than the run (${steps} steps)`,
  );

  const saveDtype = value['saveDtype'] ?? PRETRAIN_DEFAULTS.saveDtype;
  need(
    saveDtype === 'F16' || saveDtype === 'F32',
    'saveDtype',
    `must be 'F16' or 'F32', got ${String(saveDtype)}`,
  );
  const backend =
    value['backend'] === undefined ? undefined : backendOption.read(value['backend'], 'backend', issues);

  const plan: PretrainPlan = {
    name: name as string,
    corpus: { sources: [...new Set(sources as CorpusSourceName[])] },
    tokenizer: { kind: 'byte-level-bpe', vocabSize, minFrequency },
    architecture: { family: 'gpt2', layers, width, heads, positions },
    train: inDeclaredOrder({
      ...(read ?? defaultsOf(pretrainTrainOptions)), // undefined only with problems: thrown below
      schedule,
      contextLength,
      steps,
      maxMinutes: read?.maxMinutes ?? null,
    }),
    saveDtype: saveDtype as 'F16' | 'F32',
    seed: int(value['seed'] ?? PRETRAIN_DEFAULTS.seed, 'seed', 0),
    ...(backend === undefined ? {} : { backend }),
  };
  if (problems.length) {
    throw new PretrainPlanError(
      `the pretraining declaration has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`,
    );
  }
  return plan;
}

/** The train options in the order of their declaration, as saved beside the model. */
function inDeclaredOrder(train: PretrainTrainSpec): PretrainTrainSpec {
  const entries = keysOf(pretrainTrainOptions)
    .filter((key) => key in train)
    .map((key) => [key, train[key as keyof PretrainTrainSpec]]);
  return Object.fromEntries(entries) as PretrainTrainSpec;
}

/** The declaration that compiles to `plan` (every default spelled out), e.g. to compile it again with overrides. */
export function declarationOf(plan: PretrainPlan): Json {
  const { family: _family, ...architecture } = plan.architecture;
  const { maxMinutes, ...train } = plan.train;
  return {
    kind: 'pretraining',
    name: plan.name,
    corpus: { kind: 'corpus', sources: [...plan.corpus.sources] },
    tokenizer: { ...plan.tokenizer },
    architecture: { kind: 'gpt2-architecture', ...architecture },
    train: maxMinutes === null ? train : { ...train, maxMinutes },
    saveDtype: plan.saveDtype,
    seed: plan.seed,
    ...(plan.backend === undefined ? {} : { backend: plan.backend }),
  };
}

/** config.json of the GPT-2 model a plan trains (the tokenizer decides the vocabulary size and specials). */
export function gpt2ConfigJson(
  plan: PretrainPlan,
  vocabSize: number,
  eosId: number,
): Record<string, unknown> {
  const a = plan.architecture;
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_layer: a.layers,
    n_embd: a.width,
    n_head: a.heads,
    n_positions: a.positions,
    n_ctx: a.positions,
    vocab_size: vocabSize,
    bos_token_id: eosId,
    eos_token_id: eosId,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    initializer_range: 0.02,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  };
}
