/**
 * Tells what kind of tokenizer a `tokenizer.json` describes (byte-level BPE, SentencePiece
 * BPE, WordPiece, …) from its model type and pipeline components.
 */
import { flattenComponents, type TokenizerJson } from './tokenizer-json.js';
import type { TokenizerKind } from './types.js';

/** The model type, inferred like Hugging Face does when `model.type` is missing (old files). */
export function modelType(json: TokenizerJson): string | undefined {
  const model = json.model;
  if (model.type) return model.type;
  if (Array.isArray(model.vocab)) return 'Unigram';
  if (model.merges !== undefined) return 'BPE';
  if (model.continuing_subword_prefix !== undefined) return 'WordPiece';
  return undefined;
}

export function detectKind(json: TokenizerJson): TokenizerKind | undefined {
  const type = modelType(json);
  if (type === 'WordPiece') return 'wordpiece';
  if (type === 'Unigram') return 'unigram';
  if (type !== 'BPE') return undefined;
  const components = [
    ...flattenComponents(json.normalizer),
    ...flattenComponents(json.pre_tokenizer),
    ...flattenComponents(json.decoder),
  ];
  if (components.some((c) => c.type === 'ByteLevel')) return 'byte-bpe';
  const usesMetaspace = components.some(
    (c) =>
      c.type === 'Metaspace' ||
      (c.type === 'Prepend' && c.prepend === '\u2581') ||
      (c.type === 'Replace' && c.content === '\u2581'),
  );
  if (usesMetaspace || json.model.byte_fallback === true) return 'sentencepiece-bpe';
  return 'bpe';
}
