/** The committed tokenizer fixtures (test/fixtures/tokenizers/*), loaded once per process. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import type { Tokenizer } from '../../src/tokenizers/types.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const tokenizerFixturesDir = path.join(repoRoot, 'test/fixtures/tokenizers');
export const tokenizerFixture = (name: string): string => path.join(tokenizerFixturesDir, name);

const loaded = new Map<string, Promise<Tokenizer>>();

/** The fixture tokenizer `name` (gpt2, bert-wordpiece, llama-bpe, metaspace-bpe, roberta-bpe). */
export function fixtureTokenizer(name: string): Promise<Tokenizer> {
  let tokenizer = loaded.get(name);
  if (!tokenizer) {
    tokenizer = loadTokenizer(tokenizerFixture(name));
    loaded.set(name, tokenizer);
  }
  return tokenizer;
}

/** The texts of samples.json, shared by make_fixtures.py and the GPT-2 script. */
export function sampleTexts(): string[] {
  const samples = JSON.parse(readFileSync(path.join(tokenizerFixturesDir, 'samples.json'), 'utf8')) as {
    text: string;
  }[];
  return samples.map((sample) => sample.text);
}
