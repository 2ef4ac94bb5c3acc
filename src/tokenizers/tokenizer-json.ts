/**
 * The parts of Hugging Face's `tokenizer.json` (and `tokenizer_config.json`) that layercut
 * reads itself. Everything else is passed through untouched to `@huggingface/tokenizers`.
 */

/** A pipeline component (`normalizer`, `pre_tokenizer`, `post_processor`, `decoder`): `{type, …}`. */
export interface ComponentJson {
  type?: string;
  [key: string]: unknown;
}

/** One entry of `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  single_word?: boolean;
}

export interface ModelJson {
  type?: string;
  vocab?: unknown;
  merges?: unknown;
  unk_token?: string | null;
  byte_fallback?: boolean;
  continuing_subword_prefix?: string | null;
  [key: string]: unknown;
}

export interface TokenizerJson {
  version?: string;
  added_tokens: AddedTokenJson[];
  normalizer: ComponentJson | null;
  pre_tokenizer: ComponentJson | null;
  post_processor: ComponentJson | null;
  decoder: ComponentJson | null;
  model: ModelJson;
  [key: string]: unknown;
}

/**
 * `tokenizer_config.json` / `special_tokens_map.json`: token fields are a string or an
 * AddedToken object (`{"content": "<s>", …}`), or null.
 */
export type TokenizerConfigJson = Record<string, unknown>;

/** Every component in a tree of `Sequence`s (`normalizers`, `pretokenizers`, `processors`, `decoders`). */
export function flattenComponents(component: ComponentJson | null | undefined): ComponentJson[] {
  if (!component) return [];
  const children =
    component.normalizers ?? component.pretokenizers ?? component.processors ?? component.decoders;
  if (component.type === 'Sequence' && Array.isArray(children)) {
    return (children as ComponentJson[]).flatMap((child) => flattenComponents(child));
  }
  return [component];
}
