/**
 * Trains a byte-level BPE tokenizer (the GPT-2 kind) on texts:
 *
 * 1. Special tokens are cut out of each text; the rest is cut into words by GPT-2's
 *    pre-tokenizer (byte-level-pretokenize.ts) and the words are counted.
 * 2. The base vocabulary is all 256 byte symbols — ids 0–255, id = byte value — so any
 *    text can be encoded, whatever the training texts held.
 * 3. Merges: the most frequent adjacent pair of symbols, counted over all word occurrences,
 *    becomes a new token (id 256, 257, …) and replaces the pair in every word, left to right.
 *    Repeated until the vocabulary has `vocabSize` entries, no pair occurs `minFrequency`
 *    times, or no pairs are left.
 *      - Ties (equal counts) go to the pair whose left token string is smaller in UTF-16
 *        code-unit order, then whose right token string is smaller. (Hugging Face
 *        `tokenizers` breaks ties by token ids instead; strings make the rule independent
 *        of how ids are numbered.)
 *      - A pair whose concatenation already is a token (made earlier from another pair, or
 *        a special token) is never merged: every merge adds exactly one token, so the
 *        vocabulary size is exactly 256 + merges + special tokens, and encoding with the
 *        merges by rank reproduces the training segmentation exactly.
 * 4. The special tokens take the last ids (GPT-2's `<|endoftext|>` is its last id too).
 *
 * Pair counts are updated incrementally: an index from each pair to the words that contain
 * it means a merge only revisits the words it changes; a max-heap with lazy re-insertion
 * finds the next pair (counts of existing pairs only fall; new pairs contain the new token).
 * The result is deterministic: the same texts and options give the same merges.
 */
import { LayercutError } from '../errors.js';
import { byteToChar } from './byte-level.js';
import type { ByteLevelBpeModel } from './bpe-encoder.js';
import { MAX_VOCAB_SIZE, pairKey } from './bpe-encoder.js';
import { gpt2Words, splitOnSpecialTokens, utf8Bytes } from './byte-level-pretokenize.js';
import type { SpecialToken } from './types.js';

export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['<|endoftext|>'];

export interface TrainBpeProgress {
  phase: 'counting' | 'merging';
  /** Texts read so far. */
  texts: number;
  /** Merges learned so far, of `targetMerges`. */
  merges: number;
  targetMerges: number;
}

export interface TrainBpeOptions {
  /** Vocabulary size: 256 byte symbols + merges + special tokens. */
  vocabSize: number;
  /** A pair must occur at least this often (over all word occurrences) to be merged; default 2. */
  minFrequency?: number;
  /** Special tokens, given the last ids in this order; default `['<|endoftext|>']`. */
  specialTokens?: readonly string[];
  /** Called every 10,000 texts while counting and every 256 merges (and at the end of each phase). */
  onProgress?: (progress: TrainBpeProgress) => void;
}

export interface TrainBpeStats {
  texts: number;
  /** UTF-16 code units of text read (special tokens left out). */
  characters: number;
  /** UTF-8 bytes of the words: the training text's length in tokens before any merge. */
  bytes: number;
  /** Word occurrences after pre-tokenization, and distinct words. */
  words: number;
  uniqueWords: number;
  merges: number;
  /** Pairs passed over because their concatenation already was a token. */
  skippedPairs: number;
  /** The training text's length in tokens after all merges. */
  tokens: number;
  /** Why training stopped before reaching `vocabSize`, if it did. */
  stoppedEarly?: 'min-frequency' | 'no-pairs';
}

export interface TrainedByteLevelBpe extends ByteLevelBpeModel {
  /** Token strings by id: 256 bytes, then merged tokens, then special tokens. */
  tokens: string[];
  merges: [string, string][];
  specialTokens: SpecialToken[];
  /** `tokens.length`; less than asked only when `stats.stoppedEarly` says why. */
  vocabSize: number;
  minFrequency: number;
  stats: TrainBpeStats;
}

/** A heap entry: a pair of token ids and its count when the entry was made. */
interface PairEntry {
  count: number;
  left: number;
  right: number;
}

/** Max-heap of pairs by count, ties by the pair's token strings (smaller first). */
class PairHeap {
  private readonly items: PairEntry[] = [];
  constructor(private readonly strings: readonly string[]) {}

  get size(): number {
    return this.items.length;
  }

  /** Whether `a` comes out before `b`. */
  private before(a: PairEntry, b: PairEntry): boolean {
    if (a.count !== b.count) return a.count > b.count;
    const aLeft = this.strings[a.left]!;
    const bLeft = this.strings[b.left]!;
    if (aLeft !== bLeft) return aLeft < bLeft;
    return this.strings[a.right]! < this.strings[b.right]!;
  }

  push(entry: PairEntry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): PairEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < items.length && this.before(items[left]!, items[best]!)) best = left;
      if (right < items.length && this.before(items[right]!, items[best]!)) best = right;
      if (best === i) break;
      [items[i], items[best]] = [items[best]!, items[i]!];
      i = best;
    }
    return top;
  }
}

function checkOptions(options: TrainBpeOptions): { specials: string[]; minFrequency: number } {
  const specials = [...(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  const minFrequency = options.minFrequency ?? 2;
  const { vocabSize } = options;
  if (
    specials.some((s) => typeof s !== 'string' || s.length === 0) ||
    new Set(specials).size !== specials.length
  ) {
    throw new LayercutError(
      'special tokens must be distinct, non-empty strings',
      `got ${JSON.stringify(specials)}`,
    );
  }
  const smallest = 256 + specials.length;
  if (!Number.isInteger(vocabSize) || vocabSize < smallest || vocabSize >= MAX_VOCAB_SIZE) {
    throw new LayercutError(
      `vocabSize must be a whole number from ${smallest} (256 byte symbols + ${specials.length} special tokens) to ${MAX_VOCAB_SIZE - 1}, got ${vocabSize}`,
    );
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new LayercutError(`minFrequency must be a whole number ≥ 1, got ${minFrequency}`);
  }
  return { specials, minFrequency };
}

/** Word occurrence counts of the texts (special tokens cut out first). */
function countWords(
  texts: Iterable<string>,
  specials: readonly string[],
  stats: TrainBpeStats,
  progress: (phase: 'counting') => void,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (typeof text !== 'string') {
      throw new LayercutError(`training texts must be strings, text ${stats.texts} is ${typeof text}`);
    }
    for (const piece of splitOnSpecialTokens(text, specials)) {
      if (piece.special) continue;
      stats.characters += piece.text.length;
      for (const word of gpt2Words(piece.text)) {
        counts.set(word, (counts.get(word) ?? 0) + 1);
        stats.words++;
      }
    }
    stats.texts++;
    if (stats.texts % 10_000 === 0) progress('counting');
  }
  return counts;
}

/** Trains a byte-level BPE tokenizer on `texts` (see the file comment for the algorithm). */
export function trainByteLevelBpe(texts: Iterable<string>, options: TrainBpeOptions): TrainedByteLevelBpe {
  const { specials, minFrequency } = checkOptions(options);
  const targetMerges = options.vocabSize - 256 - specials.length;
  const stats: TrainBpeStats = {
    texts: 0,
    characters: 0,
    bytes: 0,
    words: 0,
    uniqueWords: 0,
    merges: 0,
    skippedPairs: 0,
    tokens: 0,
  };
  const report = (phase: TrainBpeProgress['phase']): void =>
    options.onProgress?.({ phase, texts: stats.texts, merges: stats.merges, targetMerges });

  // Distinct words as arrays of symbol ids (initially byte values), with their counts.
  const wordCounts = countWords(texts, specials, stats, report);
  report('counting');
  const words: Int32Array[] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    const symbols = Int32Array.from(utf8Bytes(word));
    words.push(symbols);
    counts.push(count);
    stats.bytes += symbols.length * count;
  }
  wordCounts.clear();
  stats.uniqueWords = words.length;

  // Token strings by id; strings that may not be made again by a merge.
  const strings: string[] = [...byteToChar];
  const taken = new Set<string>([...strings, ...specials]);

  // Pair counts and, for each pair, the words that contain (or once contained) it.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const symbols = words[w]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i]!, symbols[i + 1]!);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + counts[w]!);
      const list = pairWords.get(key);
      if (list === undefined) pairWords.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap(strings);
  for (const [key, count] of pairCounts) {
    heap.push({ count, left: Math.floor(key / MAX_VOCAB_SIZE), right: key % MAX_VOCAB_SIZE });
  }

  const merges: [string, string][] = [];
  // visited[w] === merge number when word w was already rewritten for this merge.
  const visited = new Int32Array(words.length).fill(-1);
  while (merges.length < targetMerges) {
    const entry = heap.pop();
    if (!entry) {
      stats.stoppedEarly = 'no-pairs';
      break;
    }
    const key = pairKey(entry.left, entry.right);
    const current = pairCounts.get(key) ?? 0;
    if (current !== entry.count) {
      // Stale entry: the pair lost occurrences since; put it back with its true count.
      if (current > 0) heap.push({ ...entry, count: current });
      continue;
    }
    if (current < minFrequency) {
      stats.stoppedEarly = 'min-frequency';
      break;
    }
    const mergedString = strings[entry.left]! + strings[entry.right]!;
    if (taken.has(mergedString)) {
      stats.skippedPairs++;
      continue;
    }
    const newId = strings.length;
    strings.push(mergedString);
    taken.add(mergedString);
    merges.push([strings[entry.left]!, strings[entry.right]!]);
    const newPairs = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      if (visited[w] === newId) continue;
      visited[w] = newId;
      const rewritten = rewriteWord(words[w]!, entry.left, entry.right, newId);
      if (!rewritten) continue;
      const n = counts[w]!;
      const old = words[w]!;
      for (let i = 0; i + 1 < old.length; i++) {
        const k = pairKey(old[i]!, old[i + 1]!);
        pairCounts.set(k, pairCounts.get(k)! - n);
      }
      for (let i = 0; i + 1 < rewritten.length; i++) {
        const a = rewritten[i]!;
        const b = rewritten[i + 1]!;
        const k = pairKey(a, b);
        pairCounts.set(k, (pairCounts.get(k) ?? 0) + n);
        if (a === newId || b === newId) {
          newPairs.add(k);
          const list = pairWords.get(k);
          if (list === undefined) pairWords.set(k, [w]);
          else if (list[list.length - 1] !== w) list.push(w);
        }
      }
      words[w] = rewritten;
    }
    pairCounts.delete(key);
    pairWords.delete(key);
    for (const k of newPairs) {
      const count = pairCounts.get(k)!;
      if (count > 0) heap.push({ count, left: Math.floor(k / MAX_VOCAB_SIZE), right: k % MAX_VOCAB_SIZE });
    }
    stats.merges = merges.length;
    if (stats.merges % 256 === 0) report('merging');
  }
  stats.merges = merges.length;
  report('merging');
  for (let w = 0; w < words.length; w++) stats.tokens += words[w]!.length * counts[w]!;

  const specialTokens = specials.map((token, i) => ({ token, id: strings.length + i }));
  const tokens = [...strings, ...specials];
  return { tokens, merges, specialTokens, vocabSize: tokens.length, minFrequency, stats };
}

/** `symbols` with each occurrence of (left, right), left to right, replaced by `merged`; undefined if none. */
function rewriteWord(
  symbols: Int32Array,
  left: number,
  right: number,
  merged: number,
): Int32Array | undefined {
  let found = false;
  for (let i = 0; i + 1 < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) {
      found = true;
      break;
    }
  }
  if (!found) return undefined;
  const out = new Int32Array(symbols.length);
  let n = 0;
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out[n++] = merged;
      i++;
    } else {
      out[n++] = symbols[i]!;
    }
  }
  return out.slice(0, n);
}
