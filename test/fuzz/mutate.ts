/**
 * Random inputs and mutations shared by the fuzz targets: characters and bytes from nowhere,
 * and edits of valid inputs (bit flips, inserts, deletes, duplicated and repeated runs,
 * splices of two corpus items, numbers swapped for extreme ones, inserted grammar tokens).
 */
import type { Rng } from './rng.js';

/** Numbers that break code which assumes small, finite, non-negative integers. */
export const EXTREME_NUMBERS: readonly string[] = [
  '0',
  '1',
  '-1',
  '-0',
  '00',
  '007',
  '0.5',
  '1.0',
  '1e3',
  '1e400',
  '-1e400',
  'NaN',
  'Infinity',
  '2147483647',
  '2147483648',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999999',
  '9'.repeat(400),
  '100000000',
  '3000000',
];

/** Characters that tend to matter: controls, quotes, braces, a BOM, lone surrogates, astral ones. */
const SPECIAL_CHARS: readonly string[] = [
  '\0',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\u000b',
  '\u0085',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  'é',
  'ß',
  '\u0301',
  '"',
  "'",
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '.',
  '+',
  '-',
  ' ',
];

/** One random UTF-16 code unit or special character. */
export function randomChar(rng: Rng): string {
  const roll = rng.below(10);
  if (roll < 5) return String.fromCharCode(rng.between(0x20, 0x7e));
  if (roll < 8) return rng.pick(SPECIAL_CHARS);
  if (roll < 9) return String.fromCharCode(rng.below(0x20));
  return String.fromCharCode(rng.below(0x10000));
}

/** A random string of up to `maxLength` characters, built from `tokens` and random characters. */
export function randomString(rng: Rng, tokens: readonly string[], maxLength = 40): string {
  const length = rng.below(maxLength + 1);
  let out = '';
  while (out.length < length) out += rng.chance(0.4) ? rng.pick(tokens) : randomChar(rng);
  return out;
}

/** Replaces one run of digits (with its sign) by an extreme number. */
function swapNumber(rng: Rng, text: string): string {
  const runs = [...text.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
  if (runs.length === 0) return text + rng.pick(EXTREME_NUMBERS);
  const run = rng.pick(runs);
  return text.slice(0, run.index) + rng.pick(EXTREME_NUMBERS) + text.slice(run.index + run[0].length);
}

/** The most one edit adds to a string: long enough for deep nesting, short of inputs no one writes. */
const MAX_GROWTH = 64 * 1024;

/** Grammar inputs are cut to this length (a template or layer text of 128K characters is already absurd). */
export const MAX_TEXT = 128 * 1024;

/** One edit of `text`; `tokens` are the grammar's words and punctuation, `corpus` other valid inputs. */
export function mutateString(
  rng: Rng,
  text: string,
  tokens: readonly string[],
  corpus: readonly string[],
): string {
  const at = rng.below(text.length + 1);
  const span = Math.min(text.length - at, rng.small(12) + 1);
  switch (rng.below(11)) {
    case 0: {
      // flip one bit of one code unit
      if (text.length === 0) return randomChar(rng);
      const i = rng.below(text.length);
      const flipped = text.charCodeAt(i) ^ (1 << rng.below(16));
      return text.slice(0, i) + String.fromCharCode(flipped) + text.slice(i + 1);
    }
    case 1:
      return text.slice(0, at) + randomChar(rng) + text.slice(at);
    case 2:
      return text.slice(0, at) + text.slice(at + span);
    case 3:
      return text.slice(0, at + span) + text.slice(at, at + span) + text.slice(at + span);
    case 4: {
      // repeat a run many times: long inputs, deep nesting of brackets (up to MAX_GROWTH characters more)
      const run = text.slice(at, at + span) || rng.pick(tokens);
      const times = rng.chance(0.5) ? rng.between(2, 64) : rng.between(64, 20_000);
      return (
        text.slice(0, at) + run.repeat(Math.min(times, Math.ceil(MAX_GROWTH / run.length))) + text.slice(at)
      );
    }
    case 5: {
      // splice: a prefix of this input and a suffix of another
      const other = rng.pick(corpus);
      return text.slice(0, at) + other.slice(rng.below(other.length + 1));
    }
    case 6:
      return swapNumber(rng, text);
    case 7:
      return text.slice(0, at) + rng.pick(tokens) + text.slice(at);
    case 8:
      return text.slice(0, at) + rng.pick(tokens) + text.slice(at + span);
    case 9:
      return text.slice(0, at);
    default: {
      // change the case of a run (keywords are case-sensitive)
      const run = text.slice(at, at + span);
      const swapped = run === run.toUpperCase() ? run.toLowerCase() : run.toUpperCase();
      return text.slice(0, at) + swapped + text.slice(at + span);
    }
  }
}

/** An input for a string grammar: random, a corpus item, or a corpus item edited a few times. */
export function grammarInput(rng: Rng, tokens: readonly string[], corpus: readonly string[]): string {
  const roll = rng.below(10);
  if (roll < 2) return randomString(rng, tokens);
  let text = rng.pick(corpus);
  if (roll === 2) return text;
  const edits = rng.chance(0.7) ? 1 : 1 + rng.small(8);
  for (let i = 0; i < edits; i++) text = mutateString(rng, text, tokens, corpus).slice(0, MAX_TEXT);
  return text;
}

/** Interesting byte values. */
const SPECIAL_BYTES = [0x00, 0x01, 0x20, 0x22, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xef, 0xfe, 0xff];

/** One edit of `bytes`: a bit flip, a byte set, bytes inserted, deleted, duplicated, or a splice. */
export function mutateBytes(rng: Rng, bytes: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  // most edits land in the first bytes: the length prefix and the JSON header
  const limit = rng.chance(0.8) ? Math.min(bytes.length, 8 + 200) : bytes.length;
  const at = rng.below(limit + 1);
  const span = Math.min(bytes.length - at, rng.small(16) + 1);
  const out = (parts: Uint8Array[]): Uint8Array => {
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  };
  switch (rng.below(7)) {
    case 0: {
      if (bytes.length === 0) return Uint8Array.of(rng.below(256));
      const copy = bytes.slice();
      const i = rng.below(Math.max(1, limit));
      copy[i] = copy[i]! ^ (1 << rng.below(8));
      return copy;
    }
    case 1: {
      if (bytes.length === 0) return Uint8Array.of(rng.pick(SPECIAL_BYTES));
      const copy = bytes.slice();
      copy[rng.below(Math.max(1, limit))] = rng.chance(0.5) ? rng.pick(SPECIAL_BYTES) : rng.below(256);
      return copy;
    }
    case 2: {
      const inserted = Uint8Array.from({ length: rng.small(16) + 1 }, () => rng.below(256));
      return out([bytes.subarray(0, at), inserted, bytes.subarray(at)]);
    }
    case 3:
      return out([bytes.subarray(0, at), bytes.subarray(at + span)]);
    case 4:
      return out([bytes.subarray(0, at + span), bytes.subarray(at, at + span), bytes.subarray(at + span)]);
    case 5: {
      const other = rng.pick(corpus);
      return out([bytes.subarray(0, at), other.subarray(rng.below(other.length + 1))]);
    }
    default:
      return bytes.subarray(0, at);
  }
}
