/**
 * A `pretraining({...})` declaration (dsl/pretraining.ts) → a checked PretrainPlan with every
 * default filled in. Every problem is reported at once, by option path, in one LayercutError.
 *
 * A quick trial (`layercut pretrain --steps/--max-minutes`) compiles the declaration again with
 * overrides, so the warm-up rule below is the only one; `declarationOf(plan)` turns a compiled
 * (or saved) plan back into a declaration for that.
 */
import { LayercutError } from '../errors.js';
import type { OptimizerSpec, ScheduleSpec } from '../plan/types.js';
import type { BackendName } from '../runtime/backend.js';
import type { CorpusSourceName, PretrainPlan } from './plan.js';

export const corpusSourceNames: readonly CorpusSourceName[] = [
  'sotu',
  'moby-dick',
  'spam-assassin',
  'debian-licenses',
];
const backendNames: readonly BackendName[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Defaults for what a pretraining declaration leaves out (nanoGPT-like small-model settings). */
export const PRETRAIN_DEFAULTS = {
  optimizer: { kind: 'adamw', lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 } as OptimizerSpec,
  batchSize: 32,
  maxGradNorm: 1,
  evalEvery: 500,
  evalSequences: 256,
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
  const need = (ok: boolean, path: string, message: string) => {
    if (!ok) problems.push(`${path}: ${message}`);
  };
  const int = (v: unknown, path: string, min: number): number => {
    need(
      typeof v === 'number' && Number.isInteger(v) && v >= min,
      path,
      `must be an integer ≥ ${min}, got ${String(v)}`,
    );
    return typeof v === 'number' ? v : min;
  };
  const positive = (v: unknown, path: string): number => {
    need(
      typeof v === 'number' && Number.isFinite(v) && v > 0,
      path,
      `must be a positive number, got ${String(v)}`,
    );
    return typeof v === 'number' ? v : 1;
  };

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

  const train = isRecord(value['train']) ? value['train'] : {};
  const known = [
    'optimizer',
    'schedule',
    'batchSize',
    'contextLength',
    'steps',
    'maxMinutes',
    'maxGradNorm',
    'evalEvery',
    'evalSequences',
    'precision',
  ];
  for (const key of Object.keys(train))
    need(known.includes(key), `train.${key}`, `unknown option (known: ${known.join(', ')})`);
  need(
    train['precision'] === undefined || train['precision'] === 'fp32' || train['precision'] === 'mixed',
    'train.precision',
    `is 'fp32' or 'mixed', not ${JSON.stringify(train['precision'])}`,
  );
  const contextLength = int(train['contextLength'] ?? positions, 'train.contextLength', 2);
  need(
    contextLength <= positions,
    'train.contextLength',
    `${contextLength} is longer than the model's ${positions} positions`,
  );
  const optimizer = (train['optimizer'] ?? PRETRAIN_DEFAULTS.optimizer) as OptimizerSpec;
  need(
    isRecord(optimizer) && (optimizer.kind === 'adamw' || optimizer.kind === 'sgd'),
    'train.optimizer',
    'use adamw({...}) or sgd({...})',
  );
  const filledOptimizer: OptimizerSpec =
    optimizer.kind === 'sgd'
      ? {
          kind: 'sgd',
          lr: positive(optimizer.lr, 'train.optimizer.lr'),
          momentum: optimizer.momentum ?? 0,
          weightDecay: optimizer.weightDecay ?? 0,
        }
      : ({
          ...(PRETRAIN_DEFAULTS.optimizer as Extract<OptimizerSpec, { kind: 'adamw' }>),
          ...stripUndefined(optimizer),
        } as OptimizerSpec);
  const steps = int(overrides.steps ?? train['steps'], 'train.steps', 1);
  // The warm-up rule. Default: cosine decay after a warm-up of a tenth of the run, at most 200
  // steps. A trial (steps or budget overridden) keeps at most a tenth of its steps for warm-up,
  // even a declared warm-up, so that it has steps left after it.
  const tenth = Math.floor(steps / 10);
  const schedule = {
    kind: 'cosine',
    warmupSteps: Math.min(200, tenth),
    ...stripUndefined((train['schedule'] ?? {}) as Json),
  } as ScheduleSpec;
  const trial = overrides.steps !== undefined || overrides.maxMinutes !== undefined;
  if (trial) schedule.warmupSteps = Math.min(schedule.warmupSteps, tenth);
  need(
    schedule.warmupSteps < steps,
    'train.schedule.warmupSteps',
    `warm-up (${schedule.warmupSteps}) must be shorter than the run (${steps} steps)`,
  );
  const declaredMinutes = overrides.maxMinutes ?? train['maxMinutes'];
  const maxMinutes = declaredMinutes === undefined ? null : positive(declaredMinutes, 'train.maxMinutes');

  const saveDtype = value['saveDtype'] ?? PRETRAIN_DEFAULTS.saveDtype;
  need(
    saveDtype === 'F16' || saveDtype === 'F32',
    'saveDtype',
    `must be 'F16' or 'F32', got ${String(saveDtype)}`,
  );
  const backend = value['backend'];
  need(
    backend === undefined || backendNames.includes(backend as BackendName),
    'backend',
    `unknown backend '${String(backend)}'`,
  );

  const plan: PretrainPlan = {
    name: name as string,
    corpus: { sources: [...new Set(sources as CorpusSourceName[])] },
    tokenizer: { kind: 'byte-level-bpe', vocabSize, minFrequency },
    architecture: { family: 'gpt2', layers, width, heads, positions },
    train: {
      optimizer: filledOptimizer,
      schedule,
      batchSize: int(train['batchSize'] ?? PRETRAIN_DEFAULTS.batchSize, 'train.batchSize', 1),
      contextLength,
      steps,
      maxMinutes,
      maxGradNorm: Number(train['maxGradNorm'] ?? PRETRAIN_DEFAULTS.maxGradNorm),
      evalEvery: int(train['evalEvery'] ?? PRETRAIN_DEFAULTS.evalEvery, 'train.evalEvery', 1),
      evalSequences: int(train['evalSequences'] ?? PRETRAIN_DEFAULTS.evalSequences, 'train.evalSequences', 1),
      ...(train['precision'] === 'mixed' ? { precision: 'mixed' as const } : {}),
    },
    saveDtype: saveDtype as 'F16' | 'F32',
    seed: int(value['seed'] ?? PRETRAIN_DEFAULTS.seed, 'seed', 0),
    ...(backend === undefined ? {} : { backend: backend as BackendName }),
  };
  if (problems.length) {
    throw new PretrainPlanError(
      `the pretraining declaration has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`,
    );
  }
  return plan;
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

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
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
