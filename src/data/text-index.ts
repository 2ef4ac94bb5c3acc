/**
 * Finds whether a document contains any of a set of texts verbatim (after collapsing
 * whitespace) — used to keep the test inputs of the offline tasks out of pretraining data.
 *
 * Each text is filed under its first `ANCHOR_LENGTH` characters; a document is scanned at
 * every word boundary (its start, and each position after a character that is not an ASCII
 * letter or digit), and where an anchor matches, the whole text is compared.
 */
import { normalizeSpace } from './builtin/cache.js';

/** Texts shorter than this are not searched for (too generic to mean a leak). */
export const ANCHOR_LENGTH = 20;

function isAsciiWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

export class TextIndex {
  private readonly byAnchor = new Map<string, string[]>();

  /** `texts` are whitespace-collapsed here; those shorter than ANCHOR_LENGTH are skipped. */
  constructor(texts: Iterable<string>) {
    for (const raw of texts) {
      const text = normalizeSpace(raw);
      if (text.length < ANCHOR_LENGTH) continue;
      const anchor = text.slice(0, ANCHOR_LENGTH);
      const list = this.byAnchor.get(anchor);
      if (list === undefined) this.byAnchor.set(anchor, [text]);
      else if (!list.includes(text)) list.push(text);
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.byAnchor.values()) n += list.length;
    return n;
  }

  /** The first indexed text that `document` contains (whitespace collapsed), if any. */
  findIn(document: string): string | undefined {
    const text = normalizeSpace(document);
    for (let at = 0; at + ANCHOR_LENGTH <= text.length; at++) {
      if (at > 0 && isAsciiWordChar(text.charCodeAt(at - 1))) continue;
      const candidates = this.byAnchor.get(text.slice(at, at + ANCHOR_LENGTH));
      if (candidates === undefined) continue;
      for (const candidate of candidates) if (text.startsWith(candidate, at)) return candidate;
    }
    return undefined;
  }
}
