/**
 * The tokenizer interface the rest of layercut uses: text ⇄ token ids, the special tokens
 * (BOS/EOS/PAD/MASK/UNK/CLS/SEP) and the flags a model's tokenizer files set.
 */

/**
 * How a tokenizer cuts text, which decides how a label word's leading space shows up:
 * - `byte-bpe`: byte-level BPE (GPT-2, OPT, RoBERTa, Llama 3); a space is part of the next
 *   token and shows as `Ġ`.
 * - `sentencepiece-bpe`: BPE over SentencePiece pieces (Llama 1/2, Mistral); a space shows
 *   as `▁`, unknown characters fall back to `<0xNN>` byte tokens.
 * - `bpe`: any other BPE.
 * - `wordpiece`: BERT's WordPiece; spaces vanish, word continuations start with `##`.
 * - `unigram`: SentencePiece unigram models (T5, XLNet, ALBERT).
 */
export type TokenizerKind = 'byte-bpe' | 'sentencepiece-bpe' | 'bpe' | 'wordpiece' | 'unigram';

/** A special token and its id. */
export interface SpecialToken {
  token: string;
  id: number;
}

/** The special tokens a tokenizer declares; each is absent when the tokenizer has none. */
export interface SpecialTokens {
  bos?: SpecialToken;
  eos?: SpecialToken;
  pad?: SpecialToken;
  mask?: SpecialToken;
  unk?: SpecialToken;
  cls?: SpecialToken;
  sep?: SpecialToken;
}

export type SpecialTokenRole = keyof SpecialTokens;

/** Flags from `tokenizer_config.json`, when the file sets them. */
export interface TokenizerFlags {
  addBosToken?: boolean;
  addEosToken?: boolean;
  addPrefixSpace?: boolean;
  /** Longest input the model takes, when the config gives a real number. */
  modelMaxLength?: number;
  /** Whether decoding tidies spaces before punctuation (` .` → `.`); default false here. */
  cleanUpTokenizationSpaces?: boolean;
}

export interface EncodeOptions {
  /**
   * Add the special tokens the tokenizer's post-processor adds (BERT's `[CLS] … [SEP]`,
   * Llama's `<s>`); default true, like Hugging Face's `tokenizer.encode(text)`.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens (`<|endoftext|>`, `[CLS]`, …) out of the text; default false. */
  skipSpecialTokens?: boolean;
}

/** Token ids and the vocabulary strings they stand for, one per token. */
export interface Encoding {
  ids: number[];
  tokens: string[];
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids: the largest id (model vocabulary and added tokens) plus one. */
  readonly vocabSize: number;
  readonly specialTokens: SpecialTokens;
  /** Ids of all tokens marked special (the `added_tokens` with `special: true`). */
  readonly specialIds: ReadonlySet<number>;
  readonly flags: TokenizerFlags;
  /** Where it was loaded from (a folder), or a description. */
  readonly source: string;
  /** Things that looked wrong in the files but did not stop loading. */
  readonly warnings: readonly string[];
  encode(text: string, options?: EncodeOptions): Encoding;
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}
