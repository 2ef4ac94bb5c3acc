/**
 * A small, self-contained byte-level BPE encoder over a vocabulary and a merge list — the
 * trainer's own encoder (train-bpe.ts), independent of `@huggingface/tokenizers`, and fast
 * enough to tokenize a pretraining corpus (words are cached).
 *
 * Encoding a word: start from its UTF-8 bytes (one symbol each), then repeatedly apply the
 * merge of lowest rank (earliest learned) among adjacent symbol pairs, at all its
 * non-overlapping places from left to right, until no adjacent pair has a merge. This is
 * what Hugging Face `tokenizers` computes for a BPE model without dropout.
 */
import { LayercutError } from '../errors.js';
import { byteToChar, tokenStringToBytes } from './byte-level.js';
import { gpt2Words, splitOnSpecialTokens, utf8Bytes } from './byte-level-pretokenize.js';
import type { SpecialToken } from './types.js';

/** Ids up to 2^21 − 1: a pair of ids packs into one number below 2^42 (exact in a double). */
export const MAX_VOCAB_SIZE = 2 ** 21;

/** The key of an ordered pair of token ids. */
export function pairKey(left: number, right: number): number {
  return left * MAX_VOCAB_SIZE + right;
}

/** What a byte-level BPE tokenizer is made of. */
export interface ByteLevelBpeModel {
  /** Token strings by id (byte-level characters; special tokens as written). */
  tokens: readonly string[];
  /** Merges in rank order: `[left, right]` token strings, whose concatenation is a token. */
  merges: readonly (readonly [string, string])[];
  /** Special tokens, matched in text before pre-tokenization. */
  specialTokens: readonly SpecialToken[];
}

/** Words longer than this (in characters) are not cached. */
const MAX_CACHED_WORD = 256;
/** The word cache is emptied when it holds this many words. */
const MAX_CACHE_ENTRIES = 200_000;

export class ByteLevelBpeEncoder {
  private readonly tokenIds = new Map<string, number>();
  /** pairKey(left, right) → [rank, merged id]. */
  private readonly merges = new Map<number, readonly [number, number]>();
  /** Byte value → id of its one-character token. */
  private readonly byteIds: Int32Array = new Int32Array(256);
  private readonly specialIds = new Map<string, number>();
  private readonly specialStrings: string[];
  private readonly cache = new Map<string, readonly number[]>();
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly model: ByteLevelBpeModel) {
    model.tokens.forEach((token, id) => {
      if (!this.tokenIds.has(token)) this.tokenIds.set(token, id);
    });
    for (let byte = 0; byte < 256; byte++) {
      const id = this.tokenIds.get(byteToChar[byte]!);
      if (id === undefined) {
        throw new LayercutError(
          `byte-level BPE vocabulary lacks the token for byte ${byte} ('${byteToChar[byte]}')`,
          'a byte-level vocabulary must hold all 256 byte symbols',
        );
      }
      this.byteIds[byte] = id;
    }
    model.merges.forEach(([left, right], rank) => {
      const a = this.tokenIds.get(left);
      const b = this.tokenIds.get(right);
      const merged = this.tokenIds.get(left + right);
      if (a === undefined || b === undefined || merged === undefined) {
        throw new LayercutError(
          `merge ${rank} ('${left}' '${right}') uses or makes a token not in the vocabulary`,
        );
      }
      const key = pairKey(a, b);
      if (!this.merges.has(key)) this.merges.set(key, [rank, merged]);
    });
    for (const special of model.specialTokens) this.specialIds.set(special.token, special.id);
    this.specialStrings = model.specialTokens.map((s) => s.token);
  }

  /** Token ids of `text`; special tokens written in the text become their ids. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of splitOnSpecialTokens(text, this.specialStrings)) {
      if (piece.special) {
        ids.push(this.specialIds.get(piece.token)!);
        continue;
      }
      for (const word of gpt2Words(piece.text)) {
        for (const id of this.encodeWord(word)) ids.push(id);
      }
    }
    return ids;
  }

  /** Token ids of one pre-tokenized word (plain text, e.g. `" whale"`). */
  encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.mergeSymbols(Array.from(utf8Bytes(word), (byte) => this.byteIds[byte]!));
    if (word.length <= MAX_CACHED_WORD) {
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  /** Applies merges by rank to a sequence of symbol ids. */
  private mergeSymbols(initial: number[]): number[] {
    let symbols = initial;
    while (symbols.length > 1) {
      let best: readonly [number, number] | undefined;
      let bestKey = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = pairKey(symbols[i]!, symbols[i + 1]!);
        const merge = this.merges.get(key);
        if (merge && (!best || merge[0] < best[0])) {
          best = merge;
          bestKey = key;
        }
      }
      if (!best) break;
      const next: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && pairKey(symbols[i]!, symbols[i + 1]!) === bestKey) {
          next.push(best[1]);
          i++;
        } else {
          next.push(symbols[i]!);
        }
      }
      symbols = next;
    }
    return symbols;
  }

  /** The text of token ids (bytes that are not valid UTF-8 become U+FFFD). */
  decode(ids: readonly number[]): string {
    let out = '';
    let pending = '';
    const flush = (): void => {
      if (!pending) return;
      const bytes = tokenStringToBytes(pending);
      if (!bytes) throw new LayercutError('a token of this vocabulary is not made of byte-level characters');
      out += this.decoder.decode(bytes);
      pending = '';
    };
    for (const id of ids) {
      const token = this.model.tokens[id];
      if (token === undefined) {
        throw new LayercutError(
          `cannot decode token id ${id}: ids run from 0 to ${this.model.tokens.length - 1}`,
        );
      }
      if (this.specialIds.get(token) === id) {
        flush();
        out += token;
      } else {
        pending += token;
      }
    }
    flush();
    return out;
  }
}
