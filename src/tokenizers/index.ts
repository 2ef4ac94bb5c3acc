/** Tokenizers: load a Hugging Face tokenizer folder and encode/decode text. */
export type {
  DecodeOptions,
  EncodeOptions,
  Encoding,
  SpecialToken,
  SpecialTokenRole,
  SpecialTokens,
  Tokenizer,
  TokenizerFlags,
  TokenizerKind,
} from './types.js';
export { loadTokenizer } from './load.js';
export { tokenizerFromFiles, type TokenizerFiles } from './hf-tokenizer.js';
export type { TokenizerJson, TokenizerConfigJson, AddedTokenJson } from './tokenizer-json.js';
export { byteToChar, bytesToTokenString, tokenStringToBytes } from './byte-level.js';
export {
  trainByteLevelBpe,
  DEFAULT_SPECIAL_TOKENS,
  type TrainBpeOptions,
  type TrainBpeProgress,
  type TrainBpeStats,
  type TrainedByteLevelBpe,
} from './train-bpe.js';
export {
  saveTrainedTokenizer,
  tokenizerJson,
  tokenizerConfigJson,
  specialTokensMapJson,
  type TokenizerFileOptions,
} from './trained-files.js';
export { ByteLevelBpeEncoder, type ByteLevelBpeModel } from './bpe-encoder.js';
