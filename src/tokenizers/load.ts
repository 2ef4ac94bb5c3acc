/**
 * Loads a tokenizer from a folder holding Hugging Face's `tokenizer.json` (required) and,
 * when present, `tokenizer_config.json` and `special_tokens_map.json`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayercutError } from '../errors.js';
import { tokenizerFromFiles } from './hf-tokenizer.js';
import type { TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';
import type { Tokenizer } from './types.js';

/** The parsed JSON file at `path`, or undefined when there is no such file. */
async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LayercutError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LayercutError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape of tokenizer.json far enough that later errors make sense. */
function asTokenizerJson(value: unknown, path: string): TokenizerJson {
  if (!isObject(value) || !isObject(value.model)) {
    throw new LayercutError(`${path} has no "model" object: is it a Hugging Face tokenizer.json?`);
  }
  return {
    ...value,
    added_tokens: Array.isArray(value.added_tokens) ? value.added_tokens : [],
    normalizer: value.normalizer ?? null,
    pre_tokenizer: value.pre_tokenizer ?? null,
    post_processor: value.post_processor ?? null,
    decoder: value.decoder ?? null,
  } as TokenizerJson;
}

function asConfig(value: unknown, path: string): TokenizerConfigJson | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new LayercutError(`${path} should hold a JSON object`);
  return value;
}

/** The tokenizer in folder `dir`. */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const jsonPath = join(dir, 'tokenizer.json');
  const configPath = join(dir, 'tokenizer_config.json');
  const mapPath = join(dir, 'special_tokens_map.json');
  const [json, config, map] = await Promise.all([
    readJson(jsonPath),
    readJson(configPath),
    readJson(mapPath),
  ]);
  if (json === undefined) {
    throw new LayercutError(
      `no tokenizer.json in ${dir}`,
      'point --tokenizer at a folder with a Hugging Face tokenizer.json (a model snapshot has one)',
    );
  }
  return tokenizerFromFiles(
    {
      tokenizerJson: asTokenizerJson(json, jsonPath),
      tokenizerConfig: asConfig(config, configPath),
      specialTokensMap: asConfig(map, mapPath),
    },
    dir,
  );
}
