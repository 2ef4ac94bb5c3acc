/**
 * Turns tokenized documents into fixed-length training blocks for a causal language model:
 * the documents are joined into one stream, each followed by the end-of-text id
 * (`doc₀ <eos> doc₁ <eos> …`), and the stream is cut into blocks of `contextLength + 1`
 * tokens. A block gives inputs `block[0..T-1]` and targets `block[1..T]` (T = contextLength).
 * Block k starts at token k·T, so consecutive blocks share one token and every token of the
 * stream after the first is a target exactly once. The tail that does not fill a block is
 * dropped. Deterministic: no shuffling here (shuffle blocks when training).
 *
 * `packDocumentsFlat` gives the blocks end to end in one array, as training reads them;
 * `packDocuments` the same blocks one by one.
 */
import { LayercutError } from '../errors.js';

export interface PackOptions {
  /** Tokens the model sees at once (T); blocks hold T + 1 tokens. */
  contextLength: number;
  /** Id placed after each document (`<|endoftext|>`). */
  eosId: number;
}

/** The stream length: every document plus one end-of-text id each. */
function streamLength(idsPerDoc: readonly (readonly number[])[]): number {
  let total = 0;
  for (const ids of idsPerDoc) total += ids.length + 1;
  return total;
}

/**
 * The blocks end to end, shape [blocks · (T + 1)]: block k is `ids[k·(T+1) .. (k+1)·(T+1) - 1]`.
 * This is what training reads (gatherBlocks in src/pretrain/causal-lm.ts).
 */
export function packDocumentsFlat(
  idsPerDoc: readonly (readonly number[])[],
  options: PackOptions,
): Int32Array {
  const { contextLength, eosId } = options;
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new LayercutError(`contextLength must be a whole number ≥ 1, got ${contextLength}`);
  }
  if (!Number.isInteger(eosId) || eosId < 0) {
    throw new LayercutError(`eosId must be a token id (a whole number ≥ 0), got ${eosId}`);
  }
  const stream = new Int32Array(streamLength(idsPerDoc));
  let at = 0;
  idsPerDoc.forEach((ids, doc) => {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) {
        throw new LayercutError(`document ${doc} holds ${id}, which is not a token id`);
      }
      stream[at++] = id;
    }
    stream[at++] = eosId;
  });
  const width = contextLength + 1;
  const blocks = stream.length >= width ? Math.floor((stream.length - 1) / contextLength) : 0;
  const packed = new Int32Array(blocks * width);
  for (let k = 0; k < blocks; k++) {
    packed.set(stream.subarray(k * contextLength, k * contextLength + width), k * width);
  }
  return packed;
}

/** The same blocks one by one, shape [blocks][T + 1] (views into one packDocumentsFlat array). */
export function packDocuments(idsPerDoc: readonly (readonly number[])[], options: PackOptions): Int32Array[] {
  const packed = packDocumentsFlat(idsPerDoc, options);
  const width = options.contextLength + 1;
  return Array.from({ length: packed.length / width }, (_, k) => packed.subarray(k * width, (k + 1) * width));
}
