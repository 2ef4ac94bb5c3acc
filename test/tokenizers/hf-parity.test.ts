/**
 * Parity with Hugging Face's Rust `tokenizers`: every folder under
 * test/fixtures/tokenizers with an expected.json (written by make_fixtures.py with
 * `Tokenizer.from_file(...).encode(text)`) must get identical ids and tokens from
 * `layercut tokenize` — in process, and once per folder through bin/layercut.mjs.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tokenizeOutput } from '../../src/cli/tokenize.js';
import { runToEnd } from '../helpers/spawn.js';
import { fixtureTokenizer, repoRoot, tokenizerFixture, tokenizerFixturesDir } from './fixture-tokenizers.js';

interface ExpectedSample {
  text: string;
  ids: number[];
  tokens: string[];
  /** `tokenizer.decode(ids, skip_special_tokens=False)`, in files made by make_fixtures.py. */
  decoded?: string;
}

/** expected.json: `{source, samples}` (or a bare array of samples). */
function readExpected(dir: string): { source: string; samples: ExpectedSample[] } {
  const value = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as
    ExpectedSample[] | { source: string; samples: ExpectedSample[] };
  return Array.isArray(value) ? { source: 'unknown', samples: value } : value;
}

const folders = readdirSync(tokenizerFixturesDir).filter((name) =>
  existsSync(path.join(tokenizerFixture(name), 'expected.json')),
);

test('the fixtures include all five tokenizer folders', () => {
  assert.deepEqual(folders.sort(), ['bert-wordpiece', 'gpt2', 'llama-bpe', 'metaspace-bpe', 'roberta-bpe']);
});

for (const name of folders) {
  const dir = tokenizerFixture(name);
  const { source, samples } = readExpected(dir);

  test(`${name}: same ids, tokens and decoded text as ${source}`, async () => {
    assert.ok(samples.length >= 40, `${name}/expected.json has only ${samples.length} samples`);
    const tokenizer = await fixtureTokenizer(name);
    for (const sample of samples) {
      const what = `${name} on ${JSON.stringify(sample.text)}`;
      const { ids, tokens } = tokenizer.encode(sample.text);
      assert.deepEqual(ids, sample.ids, `ids of ${what}`);
      assert.deepEqual(tokens, sample.tokens, `tokens of ${what}`);
      if (sample.decoded !== undefined && sample.ids.length > 0) {
        assert.equal(tokenizer.decode(sample.ids), sample.decoded, `decoding of ${what}`);
      }
    }
  });

  test(`${name}: layercut tokenize prints the expected JSON line (in process)`, async () => {
    // A few samples only: each call loads the tokenizer folder again.
    const picked = samples.filter((s) => /\n|😀|<\|endoftext\|>|<mask>|^$/.test(s.text)).slice(0, 4);
    assert.ok(picked.length >= 3);
    for (const sample of picked) {
      const line = await tokenizeOutput(['--tokenizer', dir, '--', sample.text]);
      assert.equal(line, JSON.stringify({ ids: sample.ids, tokens: sample.tokens }));
    }
  });

  test(`${name}: node bin/layercut.mjs tokenize gives the same line`, async (t) => {
    const sample = samples.find((s) => s.text.startsWith('Emoji:'))!;
    const result = await runToEnd(
      t,
      process.execPath,
      [path.join(repoRoot, 'bin/layercut.mjs'), 'tokenize', '--tokenizer', dir, sample.text],
      { cwd: repoRoot, timeoutMs: 60_000 },
    );
    assert.doesNotMatch(result.stderr, /unknown command 'tokenize'/, 'register tokenize in src/cli.ts');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, JSON.stringify({ ids: sample.ids, tokens: sample.tokens }) + '\n');
  });
}

test('layercut tokenize --no-special leaves out the tokens the post-processor adds', async () => {
  const dir = tokenizerFixture('bert-wordpiece');
  const withSpecial = JSON.parse(await tokenizeOutput(['--tokenizer', dir, 'The movie.'])) as {
    ids: number[];
  };
  const explicit = JSON.parse(await tokenizeOutput(['--tokenizer', dir, '--special', 'The movie.'])) as {
    ids: number[];
  };
  const without = JSON.parse(await tokenizeOutput(['--tokenizer', dir, '--no-special', 'The movie.'])) as {
    ids: number[];
  };
  assert.deepEqual(explicit, withSpecial);
  assert.deepEqual(withSpecial.ids, [2, ...without.ids, 3]);
});

test('layercut tokenize: usage mistakes are LayercutErrors', async () => {
  const dir = tokenizerFixture('gpt2');
  await assert.rejects(tokenizeOutput(['hello']), /missing --tokenizer/);
  await assert.rejects(tokenizeOutput(['--tokenizer', dir]), /missing the text to tokenize/);
  await assert.rejects(tokenizeOutput(['--tokenizer', dir, 'a', 'b']), /expected one text, got 2/);
  await assert.rejects(tokenizeOutput(['--tokenizer', dir, '--special', '--no-special', 'a']), /not both/);
  await assert.rejects(tokenizeOutput(['--tokenizer', dir, '--bogus', 'a']), /Unknown option '--bogus'/);
});
