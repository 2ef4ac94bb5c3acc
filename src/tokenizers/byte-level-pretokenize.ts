/**
 * GPT-2's pre-tokenization, as the `ByteLevel` pre-tokenizer of Hugging Face `tokenizers`
 * does it with `use_regex: true` and `add_prefix_space: false`: text is cut into words by
 * GPT-2's regular expression (a word keeps the space before it), and each word is written
 * as byte-level symbols (one character per UTF-8 byte, see byte-level.ts).
 *
 * Special tokens (`<|endoftext|>`) are cut out of the text first and never pre-tokenized,
 * as the added-tokens step of `tokenizers` does.
 */

/**
 * GPT-2's word pattern: English contractions, letters with an optional leading space,
 * digits with an optional leading space, other symbols with an optional leading space,
 * whitespace not followed by a non-space (so the last space joins the next word), whitespace.
 * The same expression as `@huggingface/tokenizers`' ByteLevel pre-tokenizer.
 */
export const GPT2_WORD_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's words of `text`, in order, as plain strings (not yet byte-level). */
export function gpt2Words(text: string): string[] {
  return text.match(GPT2_WORD_PATTERN) ?? [];
}

/** A piece of text: plain text to pre-tokenize, or one special token. */
export type TextPiece = { special: false; text: string } | { special: true; token: string };

function escapeForRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Cuts text at the special tokens it contains (exact matches; a longer special token wins
 * over a shorter one starting at the same place). Empty plain pieces are left out.
 */
export function splitOnSpecialTokens(text: string, specialTokens: readonly string[]): TextPiece[] {
  const tokens = [...new Set(specialTokens)].filter((t) => t.length > 0);
  if (tokens.length === 0) return text ? [{ special: false, text }] : [];
  tokens.sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  const pattern = new RegExp(tokens.map(escapeForRegex).join('|'), 'g');
  const pieces: TextPiece[] = [];
  let cursor = 0;
  for (const match of text.matchAll(pattern)) {
    const at = match.index ?? cursor;
    if (at > cursor) pieces.push({ special: false, text: text.slice(cursor, at) });
    pieces.push({ special: true, token: match[0] });
    cursor = at + match[0].length;
  }
  if (cursor < text.length) pieces.push({ special: false, text: text.slice(cursor) });
  return pieces;
}

/** The UTF-8 bytes of a word (a lone surrogate becomes U+FFFD's bytes, as in `TextEncoder`). */
export function utf8Bytes(word: string): Uint8Array {
  return encoder.encode(word);
}

const encoder = new TextEncoder();
