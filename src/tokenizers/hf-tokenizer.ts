/**
 * The layercut `Tokenizer` over `@huggingface/tokenizers`, the JS port of Hugging Face's
 * tokenizers: it runs the `tokenizer.json` pipeline (normalizer → pre-tokenizer → model →
 * post-processor), and this file adds the special tokens, flags and kind layercut needs.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { LayercutError } from '../errors.js';
import { adaptForTokenizersJs } from './compat.js';
import { detectKind, modelType } from './kind.js';
import { resolveSpecialTokens, tokenContent } from './special-tokens.js';
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';
import type {
  DecodeOptions,
  Encoding,
  EncodeOptions,
  SpecialTokens,
  Tokenizer,
  TokenizerFlags,
  TokenizerKind,
} from './types.js';

/** The parsed files of a tokenizer folder. */
export interface TokenizerFiles {
  tokenizerJson: TokenizerJson;
  /** `tokenizer_config.json`, if present. */
  tokenizerConfig?: TokenizerConfigJson;
  /** `special_tokens_map.json`, if present. */
  specialTokensMap?: TokenizerConfigJson;
}

function booleanFlag(config: TokenizerConfigJson, key: string): boolean | undefined {
  const value = config[key];
  return typeof value === 'boolean' ? value : undefined;
}

function readFlags(config: TokenizerConfigJson): TokenizerFlags {
  const flags: TokenizerFlags = {};
  const addBos = booleanFlag(config, 'add_bos_token');
  const addEos = booleanFlag(config, 'add_eos_token');
  const addPrefixSpace = booleanFlag(config, 'add_prefix_space');
  if (addBos !== undefined) flags.addBosToken = addBos;
  if (addEos !== undefined) flags.addEosToken = addEos;
  if (addPrefixSpace !== undefined) flags.addPrefixSpace = addPrefixSpace;
  const maxLength = config.model_max_length;
  // transformers writes a huge sentinel (1e30) when the length is unknown.
  if (typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength < 1e9) {
    flags.modelMaxLength = maxLength;
  }
  return flags;
}

/**
 * Rust `tokenizers` reports an added token with `lstrip`/`rstrip` (RoBERTa's `<mask>`) as
 * the text it matched, stripped whitespace included (`" <mask>"`); the JS port reports the
 * bare content. This puts the whitespace back, walking the text in order.
 */
function restoreStrippedWhitespace(
  text: string,
  tokens: string[],
  stripping: Map<string, AddedTokenJson>,
): string[] {
  let cursor = 0;
  return tokens.map((token) => {
    const added = stripping.get(token);
    if (!added) return token;
    const at = text.indexOf(token, cursor);
    if (at < 0) return token;
    let start = at;
    let end = at + token.length;
    if (added.lstrip) while (start > cursor && /\s/u.test(text[start - 1]!)) start--;
    if (added.rstrip) while (end < text.length && /\s/u.test(text[end]!)) end++;
    cursor = end;
    return text.slice(start, end);
  });
}

class HfBackedTokenizer implements Tokenizer {
  readonly specialIds: ReadonlySet<number>;
  /** Added tokens with lstrip/rstrip, matched on the raw text (see restoreStrippedWhitespace). */
  private readonly stripping: Map<string, AddedTokenJson>;
  constructor(
    private readonly hf: HfTokenizer,
    readonly kind: TokenizerKind,
    readonly vocabSize: number,
    readonly specialTokens: SpecialTokens,
    specialIds: Set<number>,
    readonly flags: TokenizerFlags,
    readonly source: string,
    readonly warnings: readonly string[],
    addedTokens: AddedTokenJson[],
  ) {
    this.specialIds = specialIds;
    this.stripping = new Map(
      addedTokens.filter((t) => (t.lstrip || t.rstrip) && t.normalized !== true).map((t) => [t.content, t]),
    );
  }

  encode(text: string, options: EncodeOptions = {}): Encoding {
    const { ids, tokens } = this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true });
    if (this.stripping.size === 0) return { ids, tokens };
    return { ids, tokens: restoreStrippedWhitespace(text, tokens, this.stripping) };
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new LayercutError(
          `cannot decode token id ${id}: ids of this tokenizer run from 0 to ${this.vocabSize - 1}`,
        );
      }
    }
    if (ids.length === 0) return '';
    return this.hf.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
}

/**
 * A Tokenizer from the parsed files of a tokenizer folder. `source` names them in messages.
 * Components the JS port does not know are a LayercutError naming the component.
 */
export function tokenizerFromFiles(files: TokenizerFiles, source = 'tokenizer.json'): Tokenizer {
  const { tokenizerJson, tokenizerConfig = {}, specialTokensMap = {} } = files;
  const kind = detectKind(tokenizerJson);
  if (!kind) {
    throw new LayercutError(
      `${source}: unsupported tokenizer model type '${modelType(tokenizerJson) ?? 'unknown'}'`,
      'layercut reads BPE, WordPiece and Unigram tokenizers',
    );
  }
  const adapted = adaptForTokenizersJs(tokenizerJson);
  const eos = tokenContent(specialTokensMap.eos_token) ?? tokenContent(tokenizerConfig.eos_token);
  const extraSpecial = tokenizerConfig.additional_special_tokens;
  // Only what the Rust `tokenizers` pipeline also uses: transformers-only options (lowercasing,
  // clean-up of spaces) stay out, so that encode matches `Tokenizer.from_file(...).encode`.
  const hfConfig = {
    ...(eos !== undefined ? { eos_token: eos } : {}),
    additional_special_tokens: Array.isArray(extraSpecial)
      ? extraSpecial.map(tokenContent).filter((t): t is string => t !== undefined)
      : [],
    clean_up_tokenization_spaces: false,
  };
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(adapted.json, hfConfig);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LayercutError(`${source}: cannot build the tokenizer: ${reason}`);
  }
  let maxId = -1;
  for (const id of hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const tokenToId = (token: string): number | undefined => hf.token_to_id(token);
  const resolved = resolveSpecialTokens(
    tokenizerJson,
    [
      { name: 'special_tokens_map.json', content: specialTokensMap },
      { name: 'tokenizer_config.json', content: tokenizerConfig },
    ],
    tokenToId,
  );
  const specialIds = new Set(tokenizerJson.added_tokens.filter((t) => t.special).map((t) => t.id));
  return new HfBackedTokenizer(
    hf,
    kind,
    maxId + 1,
    resolved.specialTokens,
    specialIds,
    readFlags(tokenizerConfig),
    source,
    [...adapted.warnings, ...resolved.warnings],
    tokenizerJson.added_tokens,
  );
}
