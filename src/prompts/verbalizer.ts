/**
 * Verbalizers: each label → one or more label words (`' Positive'`), resolved to the token
 * ids they get in the answer slot of a template.
 *
 * A word is tokenized in context: the template text before the slot, then the word; its
 * ids are what follows the context's own ids. If adding the word changed the context's
 * tokens (a BPE merge across the boundary), the word has no clean ids of its own there:
 * that is reported. Scoring (log-probs of these ids) is done in training; this module
 * says which ids: `first` token of each word (default), or all of them for `sum`/`mean`.
 */
import { LayercutError } from '../errors.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { fillTemplate, type PromptTemplate } from './template.js';

export type ScoringMode = 'first' | 'sum' | 'mean';

export const scoringModes: readonly ScoringMode[] = ['first', 'sum', 'mean'];

export type VerbalizerIssueCode =
  /** A label has no words (or an empty word). */
  | 'no-words'
  /** The verbalizer names a label the task does not have. */
  | 'unknown-label'
  /** A task label has no entry in the verbalizer. */
  | 'missing-label'
  /** Two labels would get the same score: same first token (`first`) or same ids. */
  | 'collision'
  /** A word is several tokens: an error with `singleToken`, else a note for `first`. */
  | 'split'
  /** Appending the word changed the tokens before it. */
  | 'boundary-merge';

export interface VerbalizerIssue {
  code: VerbalizerIssueCode;
  severity: 'error' | 'warning';
  label?: string;
  word?: string;
  message: string;
}

/** One label word and its tokens in the slot. */
export interface ResolvedWord {
  label: string;
  word: string;
  /** Token ids of the word in the slot context. */
  ids: number[];
  /** Vocabulary strings of `ids` (`ĠPositive`: `Ġ`/`▁` mark a leading space). */
  tokens: string[];
  /**
   * The word's tokens when it starts a line (leading space dropped), for comparison: with
   * byte-level BPE `' Positive'` is `ĠPositive` in the slot but `Positive` there.
   */
  lineStartTokens: string[];
  /** Adding the word changed the context's tokens: `ids` are then the differing tail. */
  boundaryMerge: boolean;
}

export interface Verbalizer {
  /** The task's labels, in class order. */
  labels: string[];
  scoring: ScoringMode;
  /** `words[i]`: the words of `labels[i]`. */
  words: ResolvedWord[][];
  /**
   * `scoredIds[i][j]`: token ids scored for word j of label i — its first token for
   * `first`, all its tokens for `sum`/`mean`.
   */
  scoredIds: number[][][];
  /** Warnings (errors are thrown by buildVerbalizer, listed by analyzeVerbalizer). */
  issues: VerbalizerIssue[];
}

/** The verbalizer has errors; `issues` lists them all. */
export class VerbalizerError extends LayercutError {
  override name = 'VerbalizerError';
  constructor(readonly issues: VerbalizerIssue[]) {
    const errors = issues.filter((issue) => issue.severity === 'error');
    super(
      `verbalizer has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n` +
        errors.map((issue) => `  - ${issue.message}`).join('\n'),
      'run `layercut verbalizer --tokenizer <dir> --task <task>` to see every label word in its slot',
    );
  }
}

export interface VerbalizerOptions {
  tokenizer: Tokenizer;
  template: PromptTemplate;
  /** The task's labels, in class order. */
  labels: readonly string[];
  labelWords: Readonly<Record<string, readonly string[]>>;
  scoring?: ScoringMode;
  /** Every word must be one token. */
  singleToken?: boolean;
  /**
   * Field values for the context before the slot; default each field is `"example"`.
   * Only the template text right before the slot usually matters.
   */
  contextFields?: Readonly<Record<string, string>>;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

const showTokens = (tokens: readonly string[]): string => tokens.map((t) => JSON.stringify(t)).join(' ');

/** The word's tokens after `context`: the ids that follow the context's own. */
function tokensAfter(
  tokenizer: Tokenizer,
  context: string,
  word: string,
): { ids: number[]; tokens: string[]; boundaryMerge: boolean } {
  const before = tokenizer.encode(context, { addSpecialTokens: false });
  const after = tokenizer.encode(context + word, { addSpecialTokens: false });
  let common = 0;
  while (common < before.ids.length && before.ids[common] === after.ids[common]) common++;
  return {
    ids: after.ids.slice(common),
    tokens: after.tokens.slice(common),
    boundaryMerge: common < before.ids.length,
  };
}

function resolveWord(tokenizer: Tokenizer, context: string, label: string, word: string): ResolvedWord {
  const inSlot = tokensAfter(tokenizer, context, word);
  const atLineStart = tokensAfter(tokenizer, context + '\n', word.trimStart());
  return {
    label,
    word,
    ids: inSlot.ids,
    tokens: inSlot.tokens,
    lineStartTokens: atLineStart.tokens,
    boundaryMerge: inSlot.boundaryMerge,
  };
}

/**
 * For a word that splits: whether the same word with the other spacing (the leading space added
 * or removed) is one token in the slot — in byte-level and SentencePiece vocabularies "▁positive"
 * and "positive" are different tokens, often one whole and one split. "" when it splits too.
 */
function otherSpacingHint(tokenizer: Tokenizer, context: string, word: string): string {
  const other = /^\s/.test(word) ? word.trimStart() : ` ${word}`;
  if (other === '') return '';
  const resolved = tokensAfter(tokenizer, context, other);
  if (resolved.boundaryMerge || resolved.ids.length !== 1) return '';
  return ` (${JSON.stringify(other)} is one token there: ${showTokens(resolved.tokens)})`;
}

/** Resolves every word and lists all issues (errors and warnings); never throws on them. */
export function analyzeVerbalizer(options: VerbalizerOptions): Verbalizer & { errors: VerbalizerIssue[] } {
  const { tokenizer, template, labels, labelWords } = options;
  const scoring = options.scoring ?? 'first';
  const issues: VerbalizerIssue[] = [];
  const error = (issue: Omit<VerbalizerIssue, 'severity'>) => issues.push({ ...issue, severity: 'error' });
  const warn = (issue: Omit<VerbalizerIssue, 'severity'>) => issues.push({ ...issue, severity: 'warning' });

  for (const label of Object.keys(labelWords)) {
    if (!labels.includes(label)) {
      error({
        code: 'unknown-label',
        label,
        message: `'${label}' is not a label of the task (labels: ${labels.join(', ')})`,
      });
    }
  }
  const contextFields =
    options.contextFields ?? Object.fromEntries(template.fields.map((field) => [field, 'example']));
  const context = fillTemplate(template, contextFields, '', 'slot');

  const words: ResolvedWord[][] = labels.map((label) => {
    const list = labelWords[label];
    if (list === undefined) {
      error({ code: 'missing-label', label, message: `label '${label}' has no entry in the verbalizer` });
      return [];
    }
    if (list.length === 0) {
      error({ code: 'no-words', label, message: `label '${label}' has no words` });
      return [];
    }
    return list.flatMap((word) => {
      if (word.trim() === '') {
        error({ code: 'no-words', label, word, message: `label '${label}' has an empty word` });
        return [];
      }
      return [resolveWord(tokenizer, context, label, word)];
    });
  });

  for (const resolved of words.flat()) {
    const { label, word } = resolved;
    const quoted = JSON.stringify(word);
    if (resolved.boundaryMerge) {
      error({
        code: 'boundary-merge',
        label,
        word,
        message:
          `${quoted} merges with the text before the slot (${JSON.stringify(context.slice(-12))}); ` +
          `its tokens there are ${showTokens(resolved.tokens)}: change the template or the word`,
      });
    }
    if (resolved.ids.length > 1) {
      const issue = {
        code: 'split' as const,
        label,
        word,
        message:
          `${quoted} is ${resolved.ids.length} tokens: ${showTokens(resolved.tokens)}` +
          otherSpacingHint(tokenizer, context, word),
      };
      if (options.singleToken) error({ ...issue, message: `${issue.message}; one token is required` });
      else if (scoring === 'first') warn({ ...issue, message: `${issue.message}; only the first is scored` });
    }
    if (resolved.ids.length === 0) {
      error({ code: 'no-words', label, word, message: `${quoted} gives no tokens in the slot` });
    }
  }

  const scoredIds = words.map((list) => list.map((w) => (scoring === 'first' ? w.ids.slice(0, 1) : w.ids)));
  for (let a = 0; a < labels.length; a++) {
    for (let b = a + 1; b < labels.length; b++) {
      for (const [i, idsA] of scoredIds[a]!.entries()) {
        for (const [j, idsB] of scoredIds[b]!.entries()) {
          if (idsA.length === 0 || !sameIds(idsA, idsB)) continue;
          const wordA = words[a]![i]!;
          const wordB = words[b]![j]!;
          const what =
            scoring === 'first'
              ? `the same first token ${JSON.stringify(wordA.tokens[0])}`
              : 'the same tokens';
          error({
            code: 'collision',
            label: labels[b],
            word: wordB.word,
            message:
              `labels '${labels[a]}' (${JSON.stringify(wordA.word)}) and '${labels[b]}' ` +
              `(${JSON.stringify(wordB.word)}) have ${what}: they cannot be told apart`,
          });
        }
      }
    }
  }
  const errors = issues.filter((issue) => issue.severity === 'error');
  return { labels: [...labels], scoring, words, scoredIds, issues, errors };
}

/** Resolves the verbalizer; any error is a VerbalizerError listing all of them. */
export function buildVerbalizer(options: VerbalizerOptions): Verbalizer {
  const analysis = analyzeVerbalizer(options);
  if (analysis.errors.length > 0) throw new VerbalizerError(analysis.issues);
  return {
    labels: analysis.labels,
    scoring: analysis.scoring,
    words: analysis.words,
    scoredIds: analysis.scoredIds,
    issues: analysis.issues,
  };
}
