/**
 * Reads and validates the header of one `.safetensors` file:
 *
 *     [u64 little-endian N] [N bytes of JSON header, maybe padded with spaces] [data section]
 *
 * The JSON maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets
 * relative to the data section) plus an optional `"__metadata__": {string: string}`.
 * Validation follows the reference library: every tensor's bytes must lie inside the data
 * section, match shape × dtype size, and the tensors together must cover the data section
 * exactly, without overlaps or gaps. Only the header bytes are read here.
 */
import type { FileHandle } from 'node:fs/promises';
import { DTYPES, DTYPE_BYTES, UNSUPPORTED_SAFETENSORS_DTYPES, isDtype, type Dtype } from './dtypes.js';
import { quoted, SafetensorsError, shown } from './errors.js';

/** Where one tensor's bytes are in a file. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute path of the file holding the tensor. */
  file: string;
  /** Absolute byte range in `file`: [begin, end). */
  begin: number;
  end: number;
}

/** A parsed, validated header. */
export interface SafetensorsHeader {
  file: string;
  /** N: length of the JSON header in bytes (the data section starts at 8 + N). */
  headerLength: number;
  metadata: Record<string, string>;
  /** Tensors in file order (by offset). */
  tensors: TensorInfo[];
}

/** Headers above this are corrupt (the reference library's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const PICKLE_HINT =
  'layercut never unpickles PyTorch files (loading a pickle can run arbitrary code). Get a safetensors ' +
  'checkpoint instead: in Python, `model.save_pretrained(dir, safe_serialization=True)` writes ' +
  'model.safetensors; or download a hub revision that has model.safetensors (many repositories have a ' +
  '"refs/pr/N" revision made by the safetensors conversion bot).';

/** The error for a PyTorch pickle given where a safetensors file was expected. */
export function pytorchPickleError(file: string, why: string): SafetensorsError {
  return new SafetensorsError('pytorch-pickle', `${file}: ${why}; PyTorch pickles are never loaded`, {
    file,
    hint: PICKLE_HINT,
  });
}

/** True when the bytes start like a PyTorch checkpoint (a zip archive or a raw pickle). */
function looksLikePytorch(start: Uint8Array): boolean {
  const zip = start[0] === 0x50 && start[1] === 0x4b && start[2] === 0x03 && start[3] === 0x04;
  const pickle = start[0] === 0x80 && start[1] !== undefined && start[1] >= 2 && start[1] <= 5;
  return zip || pickle;
}

/** Reads exactly `length` bytes at `position` into `into` (looping over short reads). */
export async function readExactly(
  handle: FileHandle,
  into: Uint8Array,
  position: number,
  file: string,
): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const chunk = Math.min(into.length - done, 0x7fff_f000); // a single read is capped near 2 GiB
    const { bytesRead } = await handle.read(into, done, chunk, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        'truncated',
        `${file}: file ended at byte ${position + done}, expected ${into.length - done} more bytes`,
        { file, hint: 'The file is shorter than its header says: re-download or re-write it.' },
      );
    }
    done += bytesRead;
  }
}

/** Reads and validates the header of the open file `file` of `fileSize` bytes. */
export async function readHeader(
  handle: FileHandle,
  file: string,
  fileSize: number,
): Promise<SafetensorsHeader> {
  if (fileSize < 8) {
    throw new SafetensorsError(
      'header-length',
      `${file}: file is ${fileSize} bytes, too short for the 8-byte header length of a safetensors file`,
      { file, hint: 'The file is empty or truncated: re-download or re-write it.' },
    );
  }
  const prefix = new Uint8Array(8);
  await readExactly(handle, prefix, 0, file);
  const lengthU64 = new DataView(prefix.buffer).getBigUint64(0, true);
  if (lengthU64 > BigInt(MAX_HEADER_BYTES) || 8n + lengthU64 > BigInt(fileSize)) {
    if (looksLikePytorch(prefix)) throw pytorchPickleError(file, 'this is a PyTorch checkpoint');
    const why =
      lengthU64 > BigInt(MAX_HEADER_BYTES)
        ? `above the ${MAX_HEADER_BYTES}-byte limit`
        : `beyond the end of the ${fileSize}-byte file`;
    throw new SafetensorsError(
      'header-length',
      `${file}: header length ${lengthU64} (first 8 bytes, little-endian u64) is ${why}; the file is not ` +
        `a safetensors file or is corrupt`,
      { file, hint: 'Re-download or re-write the file; a truncated download is the usual cause.' },
    );
  }
  const headerLength = Number(lengthU64);
  const headerBytes = new Uint8Array(headerLength);
  await readExactly(handle, headerBytes, 8, file);
  const json = parseJson(headerBytes, file, prefix);
  return validateHeader(json, file, headerLength, fileSize - 8 - headerLength);
}

function parseJson(bytes: Uint8Array, file: string, prefix: Uint8Array): unknown {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return JSON.parse(text) as unknown;
  } catch (cause) {
    if (looksLikePytorch(prefix)) throw pytorchPickleError(file, 'this is a PyTorch checkpoint');
    // the parser's message quotes the header's text, which may hold line breaks: escape them
    const detail = (cause instanceof Error ? cause.message : String(cause)).replace(
      /[\p{Cc}\u2028\u2029]/gu,
      (c) => JSON.stringify(c).slice(1, -1),
    );
    throw new SafetensorsError('invalid-json', `${file}: the header is not valid UTF-8 JSON (${detail})`, {
      file,
      hint: 'The file is corrupt or not a safetensors file: re-download or re-write it.',
    });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Checks the parsed JSON header and turns it into `TensorInfo`s with absolute byte ranges. */
export function validateHeader(
  json: unknown,
  file: string,
  headerLength: number,
  dataLength: number,
): SafetensorsHeader {
  const invalid = (message: string, tensor?: string): SafetensorsError =>
    new SafetensorsError('invalid-header', `${file}: ${message}`, {
      file,
      tensor,
      hint: 'The file is corrupt or was written by a broken tool: re-download or re-write it.',
    });
  if (!isPlainObject(json)) throw invalid('the header must be a JSON object of tensors');
  const dataStart = 8 + headerLength;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw invalid('"__metadata__" must be an object of strings');
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string')
          throw invalid(`"__metadata__" value of ${quoted(key)} is not a string`);
      }
      metadata = Object.fromEntries(Object.entries(entry)) as Record<string, string>;
      continue;
    }
    if (!isPlainObject(entry)) throw invalid(`tensor ${quoted(name)}: entry is not an object`, name);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (!isDtype(dtype)) {
      const known = typeof dtype === 'string' && UNSUPPORTED_SAFETENSORS_DTYPES.includes(dtype);
      throw new SafetensorsError(
        'unknown-dtype',
        `${file}: tensor ${quoted(name)} ` +
          (dtype === undefined
            ? 'has no dtype'
            : `has dtype ${shown(dtype)}, ` +
              (known ? 'which layercut does not support' : 'which is not a safetensors dtype')),
        { file, tensor: name, hint: `Supported dtypes: ${DTYPES.join(', ')}.` },
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      const what = shape === undefined ? ' has no shape' : `: shape ${shown(shape)} is not a list of sizes`;
      throw invalid(`tensor ${quoted(name)}${what}`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      const what =
        offsets === undefined
          ? ' has no data_offsets'
          : `: data_offsets ${shown(offsets)} is not [begin, end]`;
      throw invalid(`tensor ${quoted(name)}${what}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin)
      throw invalid(`tensor ${quoted(name)}: data_offsets [${begin}, ${end}] end before they begin`, name);
    if (end > dataLength) {
      throw new SafetensorsError(
        'offsets-out-of-range',
        `${file}: tensor ${quoted(name)} has data_offsets [${begin}, ${end}], beyond the ${dataLength}-byte data ` +
          `section`,
        { file, tensor: name, hint: 'The file is truncated or corrupt: re-download or re-write it.' },
      );
    }
    // exact (a float product of large sizes rounds, and overflows to Infinity, or NaN with a 0)
    const expected = (shape as number[]).reduce((a, b) => a * BigInt(b), BigInt(DTYPE_BYTES[dtype]));
    if (BigInt(end - begin) !== expected) {
      const dims =
        shape.length > 8 ? `${shape.slice(0, 8).join(', ')}, … (${shape.length} sizes)` : shape.join(', ');
      throw new SafetensorsError(
        'size-mismatch',
        `${file}: tensor ${quoted(name)} holds ${end - begin} bytes, but ${dtype} shape [${dims}] needs ${expected}`,
        { file, tensor: name, hint: 'The file is corrupt: re-download or re-write it.' },
      );
    }
    tensors.push({
      name,
      dtype,
      shape: [...(shape as number[])],
      file,
      begin: dataStart + begin,
      end: dataStart + end,
    });
  }
  checkCoverage(tensors, file, dataStart, dataLength);
  return { file, headerLength, metadata, tensors };
}

/** The tensors, sorted by offset, must tile the data section exactly (sorts `tensors` in place). */
function checkCoverage(tensors: TensorInfo[], file: string, dataStart: number, dataLength: number): void {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = dataStart;
  let previous: TensorInfo | undefined;
  const hint = 'The file is corrupt or was written by a broken tool: re-download or re-write it.';
  for (const tensor of tensors) {
    if (tensor.begin < covered && previous) {
      throw new SafetensorsError(
        'overlap',
        `${file}: tensors ${quoted(previous.name)} (data_offsets [${previous.begin - dataStart}, ` +
          `${previous.end - dataStart}]) and ${quoted(tensor.name)} (data_offsets [${tensor.begin - dataStart}, ` +
          `${tensor.end - dataStart}]) overlap`,
        { file, tensor: tensor.name, hint },
      );
    }
    if (tensor.begin > covered) {
      throw new SafetensorsError(
        'gap',
        `${file}: bytes [${covered - dataStart}, ${tensor.begin - dataStart}) of the data section, before ` +
          `tensor ${quoted(tensor.name)}, belong to no tensor`,
        { file, tensor: tensor.name, hint },
      );
    }
    covered = tensor.end;
    previous = tensor;
  }
  if (covered !== dataStart + dataLength) {
    throw new SafetensorsError(
      'gap',
      `${file}: the last ${dataStart + dataLength - covered} bytes of the data section belong to no tensor`,
      { file, hint },
    );
  }
}
