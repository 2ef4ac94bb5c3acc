/**
 * Pretraining (causal language modelling from scratch) as a declaration: which offline texts,
 * which tokenizer layercut trains on them, which GPT-2-style architecture, which schedule.
 * `layercut pretrain <file.ts>` runs the exported declaration and saves a model folder that
 * experiments then use as `local('models/<name>')` or, when shipped, `builtin('<name>')`.
 *
 *   export const tiny = pretraining({
 *     name: 'tiny-english',
 *     corpus: corpus(['sotu', 'moby-dick', 'spam-assassin']),
 *     tokenizer: byteLevelBpe({ vocabSize: 4096 }),
 *     architecture: gpt2Architecture({ layers: 8, width: 160, heads: 5, positions: 256 }),
 *     train: { steps: 6000, batchSize: 32, contextLength: 128 },
 *   });
 */
import type { pretrainTrainOptions } from '../src/plan/options.js';
import type { Input } from '../src/plan/schema.js';
import type { Backend } from './training.js';

/**
 * Offline text sources: State of the Union addresses, Moby-Dick, SpamAssassin emails (npm), and
 * the license texts Debian keeps in /usr/share/common-licenses.
 */
export type CorpusSource = 'sotu' | 'moby-dick' | 'spam-assassin' | 'debian-licenses';

export interface Corpus {
  readonly kind: 'corpus';
  readonly sources: readonly CorpusSource[];
}

/**
 * The pretraining text. The test emails of the `spam` task and the test speeches of
 * `sotu-party` are always held out, so a model pretrained here never saw a test input.
 */
export function corpus(sources: readonly CorpusSource[]): Corpus {
  return { kind: 'corpus', sources: [...sources] };
}

export interface ByteLevelBpe {
  readonly kind: 'byte-level-bpe';
  readonly vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  readonly minFrequency?: number;
}

/** A byte-level BPE tokenizer (as GPT-2's) trained by layercut on the corpus. */
export function byteLevelBpe(options: { vocabSize: number; minFrequency?: number }): ByteLevelBpe {
  return { kind: 'byte-level-bpe', ...options };
}

export interface Gpt2ArchitectureSpec {
  readonly kind: 'gpt2-architecture';
  readonly layers: number;
  readonly width: number;
  readonly heads: number;
  readonly positions: number;
}

/** A GPT-2-style decoder: `layers` blocks of width `width` with `heads` attention heads. */
export function gpt2Architecture(options: {
  layers: number;
  width: number;
  heads: number;
  positions: number;
}): Gpt2ArchitectureSpec {
  return { kind: 'gpt2-architecture', ...options };
}

/** Pretraining's train options (declared in src/plan/options.ts; `steps` is required). */
export type PretrainTrainOptions = Input<typeof pretrainTrainOptions>;

export interface Pretraining {
  readonly kind: 'pretraining';
  /** The model's name: its folder is `models/<name>` unless `layercut pretrain --out` says otherwise. */
  readonly name: string;
  readonly corpus: Corpus;
  readonly tokenizer: ByteLevelBpe;
  readonly architecture: Gpt2ArchitectureSpec;
  readonly train: PretrainTrainOptions;
  /** Saved precision (default 'F16': half the bytes; training itself is fp32). */
  readonly saveDtype?: 'F32' | 'F16';
  readonly seed?: number;
  readonly backend?: Backend;
}

/** A pretraining job; export it from a file and run it with `layercut pretrain <file>`. */
export function pretraining(options: Omit<Pretraining, 'kind'>): Pretraining {
  return { kind: 'pretraining', ...options };
}
