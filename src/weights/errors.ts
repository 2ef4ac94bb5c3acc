/**
 * The one error type of the checkpoint reader and writer. Each has a `kind` saying what is
 * wrong (tests and callers branch on it), and the file (and tensor, where one is at fault)
 * it is about, also named in the message.
 */
import { LayercutError } from '../errors.js';

export type SafetensorsErrorKind =
  /** No file or directory at the path, or a directory with no safetensors checkpoint. */
  | 'not-found'
  /** A PyTorch pickle (`.bin`, `.pt`, …): never loaded, because unpickling runs code. */
  | 'pytorch-pickle'
  /** The 8-byte header length is larger than the file, or absurdly large. */
  | 'header-length'
  /** The header is not UTF-8 JSON. */
  | 'invalid-json'
  /** The header is JSON but not a safetensors header (wrong field types, bad shape, …). */
  | 'invalid-header'
  | 'unknown-dtype'
  /** A tensor's byte range reaches past the end of the data section. */
  | 'offsets-out-of-range'
  /** Two tensors' byte ranges overlap. */
  | 'overlap'
  /** Bytes of the data section that belong to no tensor (the reference library rejects these). */
  | 'gap'
  /** A tensor's byte length is not its element count × dtype size. */
  | 'size-mismatch'
  /** A tensor name the checkpoint does not have. */
  | 'missing-tensor'
  /** `model.safetensors.index.json` is not valid JSON or not an index. */
  | 'invalid-index'
  /** The index names a shard file that does not exist. */
  | 'missing-shard'
  /** The index says a tensor lives in a shard whose header does not list it. */
  | 'index-mismatch'
  /** `readFloat32` on an integer tensor or `readInt32` on a float one. */
  | 'wrong-dtype'
  /** An I64 value that does not fit in an int32. */
  | 'int-range'
  /** The file is shorter than its header says (changed or truncated since it was opened). */
  | 'truncated'
  /** The checkpoint was closed. */
  | 'closed'
  /** A tensor handed to the writer is inconsistent (shape vs data length, dtype vs array type). */
  | 'invalid-tensor';

export class SafetensorsError extends LayercutError {
  override name = 'SafetensorsError';
  constructor(
    readonly kind: SafetensorsErrorKind,
    message: string,
    readonly details: { file?: string; tensor?: string; hint?: string } = {},
  ) {
    super(message, details.hint);
  }
  get file(): string | undefined {
    return this.details.file;
  }
  get tensor(): string | undefined {
    return this.details.tensor;
  }
}

/** A tensor name or header key as messages quote it: a JSON string (on one line, whatever it holds), cut when long. */
export function quoted(name: string): string {
  const json = JSON.stringify(name);
  return json.length > 120 ? `${json.slice(0, 100)}..." (${name.length} characters)` : json;
}

/**
 * A header value as messages show it: its JSON, cut when long. Numbers JSON cannot write
 * (a header's `1e400` reads as Infinity) show as such, and nesting too deep to print says so.
 */
export function shown(value: unknown): string {
  let json: string | undefined;
  try {
    const marked = (_: string, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? `\u0000${v}` : v;
    json = JSON.stringify(value, marked)?.replace(/"\\u0000(-?Infinity|NaN)"/g, '$1');
  } catch {
    return '(nested too deep to show)';
  }
  if (json === undefined) return String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
