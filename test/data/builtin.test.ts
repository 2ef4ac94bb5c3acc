/**
 * The offline tasks: spam (SpamAssassin emails) and sotu-party (State of the Union
 * passages), built from npm corpora, cached, with fixed splits. Plus the email and speech
 * processing they rest on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/index.js';
import type { Dataset } from '../../src/data/index.js';
import { parseEmail, decodeHeader, htmlToText } from '../../src/data/builtin/email.js';
import { speechPassages } from '../../src/data/builtin/sotu.js';
import { emailText } from '../../src/data/builtin/spam.js';

let cacheDir: string;
before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'layercut-builtin-'));
});
after(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

function classCounts(data: Dataset, split: 'train' | 'test'): number[] {
  const counts = data.task.labels.map(() => 0);
  for (const e of data[split]) counts[e.label]!++;
  return counts;
}

test('spam: ham and spam emails with a fixed split, cached after the first build', async () => {
  const data = await loadDataset('spam', { hub: { layercutCacheDir: cacheDir } });
  assert.deepEqual(data.task.labels, ['ham', 'spam']);
  assert.deepEqual(classCounts(data, 'train'), [3259, 1384]);
  assert.deepEqual(classCounts(data, 'test'), [847, 365]);
  assert.ok(data.train.every((e) => e.text.length >= 20 && e.text.length <= 400 && !/\s{2}|\n/.test(e.text)));
  const trainTexts = new Set(data.train.map((e) => e.text));
  assert.equal(trainTexts.size, data.train.length, 'no duplicate texts');
  assert.ok(
    data.test.every((e) => !trainTexts.has(e.text)),
    'no text in both splits',
  );
  assert.deepEqual(await readdir(join(cacheDir, 'datasets')), ['spam.json']);
  const again = await loadDataset('spam', { hub: { layercutCacheDir: cacheDir } });
  assert.deepEqual(again.test, data.test);
});

test('sotu-party: Democratic and Republican passages, split by address year', async () => {
  const data = await loadDataset('sotu-party', { hub: { layercutCacheDir: cacheDir } });
  assert.deepEqual(data.task.labels, ['democratic', 'republican']);
  assert.deepEqual(classCounts(data, 'train'), [5523, 9238]);
  assert.deepEqual(classCounts(data, 'test'), [1535, 2120]);
  const words = data.train.map((e) => e.text.split(' ').length);
  assert.ok(
    Math.min(...words) >= 20 && Math.max(...words) <= 50 + 120,
    `passage lengths ${Math.min(...words)}..${Math.max(...words)}`,
  );
  assert.ok(data.train.every((e) => !/\[(Laughter|Applause)\]/.test(e.text)));
  const trainTexts = new Set(data.train.map((e) => e.text));
  assert.ok(data.test.every((e) => !trainTexts.has(e.text)));
  assert.equal(data.train[0]!.fields['text'], data.train[0]!.text);
});

test('emails: multipart, transfer encodings, encoded-word subjects and HTML', () => {
  const raw = [
    'From: someone@example.invalid',
    'Subject: =?utf-8?B?Q2Fmw6kgb2ZmZXI=?= =?iso-8859-1?Q?_for_y=F6u?=',
    'Content-Type: multipart/alternative;',
    '\tboundary="XYZ"',
    '',
    'preamble',
    '--XYZ',
    'Content-Type: text/html; charset=us-ascii',
    '',
    '<html><b>HTML</b> part</html>',
    '--XYZ',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Caf=C3=A9 =',
    'soft break',
    '--XYZ--',
  ].join('\r\n');
  assert.deepEqual(parseEmail(raw), { subject: 'Café offer for yöu', body: 'Café soft break\n' });
  const b64 =
    'Subject: hi\nContent-Transfer-Encoding: base64\n\n' + Buffer.from('plain words').toString('base64');
  assert.equal(parseEmail(b64).body, 'plain words');
  assert.equal(decodeHeader('=?UTF-8?Q?a_b?='), 'a b');
  assert.equal(htmlToText('<style>x{}</style><p>A&amp;B&#33;</p>').trim(), 'A&B!');
  const html = 'Subject: Win\nContent-Type: text/html\n\n<p>Click <a href="#">here</a></p>';
  assert.equal(emailText(html), 'Win. Click here');
  assert.equal(
    emailText('Subject: Re: plans\n\n> quoted reply\nSounds good.\n-----\nsig'),
    'Re: plans. Sounds good. sig',
  );
});

test('speeches are cut into passages of whole sentences', () => {
  const sentence = (n: number): string => `Word ${'word '.repeat(n - 2)}end.`;
  const passages = speechPassages(`${sentence(30)} [Applause] ${sentence(30)} ${sentence(10)}`);
  assert.equal(passages.length, 1, 'a closing passage under 20 words is dropped');
  assert.equal(passages[0]!.split(' ').length, 60);
  assert.ok(!passages[0]!.includes('Applause'));
});
