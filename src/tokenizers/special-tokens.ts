/**
 * Finds a tokenizer's special tokens: first in `special_tokens_map.json`, then in
 * `tokenizer_config.json` (as Hugging Face `transformers` does), and when neither names a
 * role, among the tokenizer's own tokens by their conventional names (`[MASK]`, `<mask>`,
 * `<|endoftext|>`, …).
 */
import type { TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';
import type { SpecialToken, SpecialTokenRole, SpecialTokens } from './types.js';

const roles: SpecialTokenRole[] = ['bos', 'eos', 'pad', 'mask', 'unk', 'cls', 'sep'];

/** Conventional names tried, in order, when no config file names the role. */
const conventionalNames: Record<SpecialTokenRole, string[]> = {
  bos: ['<s>', '<|begin_of_text|>', '<|endoftext|>'],
  eos: ['</s>', '<|end_of_text|>', '<|endoftext|>'],
  pad: ['<pad>', '[PAD]'],
  mask: ['<mask>', '[MASK]'],
  unk: ['<unk>', '[UNK]', '<|endoftext|>'],
  cls: ['[CLS]'],
  sep: ['[SEP]'],
};

/** A token field of a config file: a string, `{content: …}`, or nothing. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

export interface ResolvedSpecialTokens {
  specialTokens: SpecialTokens;
  warnings: string[];
}

export function resolveSpecialTokens(
  json: TokenizerJson,
  configs: { name: string; content: TokenizerConfigJson }[],
  tokenToId: (token: string) => number | undefined,
): ResolvedSpecialTokens {
  const specialTokens: SpecialTokens = {};
  const warnings: string[] = [];
  const specialContents = new Set(json.added_tokens.filter((t) => t.special).map((t) => t.content));
  for (const role of roles) {
    const key = `${role}_token`;
    const named = configs.find((config) => key in config.content);
    if (named) {
      const token = tokenContent(named.content[key]);
      if (token === undefined) continue; // explicitly null: the tokenizer has no such token
      const id = tokenToId(token);
      if (id === undefined) {
        warnings.push(`${named.name} names ${key} '${token}', which is not in the vocabulary; ignored`);
        continue;
      }
      specialTokens[role] = { token, id };
      continue;
    }
    const candidates =
      role === 'unk' && typeof json.model.unk_token === 'string'
        ? [json.model.unk_token, ...conventionalNames.unk]
        : conventionalNames[role];
    for (const token of candidates) {
      const id = tokenToId(token);
      // Only real special tokens qualify, except the model's own unk token.
      const qualifies = specialContents.has(token) || (role === 'unk' && token === json.model.unk_token);
      if (id !== undefined && qualifies) {
        specialTokens[role] = { token, id } satisfies SpecialToken;
        break;
      }
    }
  }
  return { specialTokens, warnings };
}
