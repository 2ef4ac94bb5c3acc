/**
 * Writes a trained byte-level BPE tokenizer as the three files of a Hugging Face tokenizer
 * folder, laid out like GPT-2's:
 *
 * - `tokenizer.json`: a BPE model (vocab + merges as `[left, right]` pairs, the form recent
 *   `tokenizers`/`transformers` write; `@huggingface/tokenizers` and layercut read it, as well
 *   as the older `"left right"` strings), the ByteLevel pre-tokenizer (`add_prefix_space:
 *   false`, `use_regex: true`), ByteLevel post-processor and decoder, and the special tokens
 *   as `added_tokens`;
 * - `tokenizer_config.json`: GPT2Tokenizer, the first special token as BOS, EOS and UNK;
 * - `special_tokens_map.json`: the same roles.
 *
 * Output is deterministic: the same trained tokenizer always gives the same bytes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';
import type { TrainedByteLevelBpe } from './train-bpe.js';

export interface TokenizerFileOptions {
  /** `model_max_length` in tokenizer_config.json (the model's context length); left out when not given. */
  modelMaxLength?: number;
}

function addedTokens(trained: TrainedByteLevelBpe): AddedTokenJson[] {
  return trained.specialTokens.map(({ token, id }) => ({
    id,
    content: token,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** The `tokenizer.json` object of a trained tokenizer. */
export function tokenizerJson(trained: TrainedByteLevelBpe): TokenizerJson {
  // No prototype: a token may be spelled `__proto__`.
  const vocab = Object.create(null) as Record<string, number>;
  trained.tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(trained),
    normalizer: null,
    pre_tokenizer: { ...byteLevel, trim_offsets: true },
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: { ...byteLevel, trim_offsets: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: trained.merges.map(([left, right]) => [left, right]),
    },
  };
}

/** `special_tokens_map.json`: the first special token is BOS, EOS and UNK (as in GPT-2). */
export function specialTokensMapJson(trained: TrainedByteLevelBpe): TokenizerConfigJson {
  const [first, ...others] = trained.specialTokens.map((s) => s.token);
  const map: TokenizerConfigJson =
    first === undefined ? {} : { bos_token: first, eos_token: first, unk_token: first };
  if (others.length > 0) map.additional_special_tokens = others;
  return map;
}

/** `tokenizer_config.json`, as transformers writes it for GPT-2. */
export function tokenizerConfigJson(
  trained: TrainedByteLevelBpe,
  options: TokenizerFileOptions = {},
): TokenizerConfigJson {
  const decoderEntries = addedTokens(trained).map(({ id, ...rest }) => [String(id), rest] as const);
  const roles = specialTokensMapJson(trained);
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(decoderEntries),
    ...(roles.additional_special_tokens
      ? { additional_special_tokens: roles.additional_special_tokens }
      : {}),
    bos_token: roles.bos_token ?? null,
    clean_up_tokenization_spaces: false,
    eos_token: roles.eos_token ?? null,
    errors: 'replace',
    ...(options.modelMaxLength !== undefined ? { model_max_length: options.modelMaxLength } : {}),
    pad_token: null,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: roles.unk_token ?? null,
  };
}

/** Writes `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` into `dir`; returns their paths. */
export async function saveTrainedTokenizer(
  dir: string,
  trained: TrainedByteLevelBpe,
  options: TokenizerFileOptions = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, unknown][] = [
    ['tokenizer.json', tokenizerJson(trained)],
    ['tokenizer_config.json', tokenizerConfigJson(trained, options)],
    ['special_tokens_map.json', specialTokensMapJson(trained)],
  ];
  const paths: string[] = [];
  for (const [name, content] of files) {
    const path = join(dir, name);
    await writeFile(path, `${JSON.stringify(content, null, 2)}\n`);
    paths.push(path);
  }
  return paths;
}
