/**
 * Opening a checkpoint — one `.safetensors` file, or a directory with `model.safetensors`
 * or a sharded `model.safetensors.index.json` — and reading single tensors from it by
 * byte range. Opening reads only headers; each read fetches exactly one tensor's bytes,
 * straight into the buffer of the returned typed array where no conversion is needed, so a
 * model that keeps 2 of 48 layers reads only those layers from disk.
 */
import { open, readFile, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  DTYPE_BYTES,
  HOST_IS_LITTLE_ENDIAN,
  bf16ToF32,
  f16ToF32,
  isFloatDtype,
  swapBytesInPlace,
} from './dtypes.js';
import { quoted, SafetensorsError, shown } from './errors.js';
import {
  pytorchPickleError,
  readExactly,
  readHeader,
  type SafetensorsHeader,
  type TensorInfo,
} from './header.js';
import { closestNames } from './similar-names.js';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

/** Extensions of PyTorch pickle checkpoints, which are refused. */
const PICKLE_EXTENSIONS = ['.bin', '.pt', '.pth', '.ckpt', '.pkl', '.pickle'];

/** An open checkpoint: tensor names, their layout, and reads of single tensors. */
export interface Checkpoint {
  /** Absolute paths of the safetensors files (one, or the shards sorted by name). */
  readonly files: string[];
  /** The `__metadata__` strings (for a sharded checkpoint: the first shard's, plus the index's metadata). */
  readonly metadata: Record<string, string>;
  /** Tensor names, sorted. */
  names(): string[];
  has(name: string): boolean;
  /** Where a tensor is; throws a `missing-tensor` SafetensorsError listing close names if absent. */
  info(name: string): TensorInfo;
  /** Float tensor as float32 (F32 as is; F16, BF16, F64 converted). Reads only that tensor's bytes. */
  readFloat32(name: string): Promise<{ data: Float32Array; shape: number[] }>;
  /** Integer tensor (I32, I64 with range check, I16, I8, U8, BOOL as 0/1) as Int32Array. */
  readInt32(name: string): Promise<{ data: Int32Array; shape: number[] }>;
  /** A tensor's bytes exactly as stored (little-endian). */
  readRaw(name: string): Promise<Uint8Array>;
  /** Total bytes of tensor data read from disk so far (headers excluded). */
  readonly bytesRead: number;
  /** Closes the files; reads afterwards fail. */
  close(): Promise<void>;
}

/** Opens one .safetensors file, or a directory holding model.safetensors or model.safetensors.index.json. */
export async function openCheckpoint(checkpointPath: string): Promise<Checkpoint> {
  const target = path.resolve(checkpointPath);
  const kind = await pathKind(target);
  if (kind === 'missing') {
    throw new SafetensorsError('not-found', `${target}: no such file or directory`, {
      file: target,
      hint: 'Pass a .safetensors file or a directory holding model.safetensors or model.safetensors.index.json.',
    });
  }
  if (kind === 'directory') return openDirectory(target);
  if (PICKLE_EXTENSIONS.some((ext) => target.toLowerCase().endsWith(ext))) {
    throw pytorchPickleError(target, 'this is a PyTorch checkpoint file');
  }
  if (target.endsWith('.index.json')) return openSharded(target);
  return openFiles([target], undefined);
}

async function pathKind(target: string): Promise<'missing' | 'file' | 'directory'> {
  try {
    return (await stat(target)).isDirectory() ? 'directory' : 'file';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

async function openDirectory(dir: string): Promise<Checkpoint> {
  const entries = await readdir(dir);
  if (entries.includes(SINGLE_FILE_NAME)) return openFiles([path.join(dir, SINGLE_FILE_NAME)], undefined);
  if (entries.includes(INDEX_FILE_NAME)) return openSharded(path.join(dir, INDEX_FILE_NAME));
  const pickles = entries.filter((e) => PICKLE_EXTENSIONS.some((ext) => e.toLowerCase().endsWith(ext)));
  const pickleIndex = entries.filter((e) => /\.(bin|pt|pth)\.index\.json$/.test(e));
  if (pickles.length > 0 || pickleIndex.length > 0) {
    throw pytorchPickleError(
      dir,
      `the directory has only PyTorch checkpoint files (${[...pickles, ...pickleIndex].slice(0, 4).join(', ')}), ` +
        `no ${SINGLE_FILE_NAME} or ${INDEX_FILE_NAME}`,
    );
  }
  const others = entries.filter((e) => e.endsWith('.safetensors'));
  throw new SafetensorsError(
    'not-found',
    `${dir}: no ${SINGLE_FILE_NAME} or ${INDEX_FILE_NAME} in this directory`,
    {
      file: dir,
      hint:
        others.length > 0
          ? `It has ${others.slice(0, 4).join(', ')}: pass one of those files' path instead.`
          : 'Download the model first, or pass the path of a .safetensors file.',
    },
  );
}

/** Opens a sharded checkpoint from its index file, checking each shard against the index. */
async function openSharded(indexFile: string): Promise<Checkpoint> {
  const dir = path.dirname(indexFile);
  const invalid = (message: string): SafetensorsError =>
    new SafetensorsError('invalid-index', `${indexFile}: ${message}`, {
      file: indexFile,
      hint: 'Re-download the index file, or re-write the checkpoint.',
    });
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexFile, 'utf8')) as unknown;
  } catch (cause) {
    throw invalid(`not valid JSON (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  const weightMap = isRecord(json) ? json['weight_map'] : undefined;
  if (!isRecord(weightMap)) throw invalid('no "weight_map" object mapping tensor names to shard files');
  const shardOf = new Map<string, string>();
  const shardSet = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (
      typeof shard !== 'string' ||
      shard === '' ||
      path.isAbsolute(shard) ||
      shard.split(/[\\/]/).includes('..')
    ) {
      throw invalid(`tensor ${quoted(tensor)} maps to ${shown(shard)}, not a file name in this directory`);
    }
    shardOf.set(tensor, shard);
    shardSet.add(shard);
  }
  if (shardOf.size === 0) throw invalid('"weight_map" lists no tensors');
  const shardNames = [...shardSet].sort();
  for (const shard of shardNames) {
    if ((await pathKind(path.join(dir, shard))) !== 'file') {
      const example = [...shardOf].find(([, s]) => s === shard)![0];
      throw new SafetensorsError(
        'missing-shard',
        `${indexFile}: shard ${quoted(shard)} (holding e.g. ${quoted(example)}) does not exist in ${dir}`,
        { file: path.join(dir, shard), tensor: example, hint: 'Download all shard files the index lists.' },
      );
    }
  }
  const indexMetadata = isRecord(json) && isRecord(json['metadata']) ? json['metadata'] : {};
  const extraMetadata: Record<string, string> = Object.fromEntries(
    Object.entries(indexMetadata).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );
  return openFiles(
    shardNames.map((s) => path.join(dir, s)),
    { indexFile, shardOf: new Map([...shardOf].map(([t, s]) => [t, path.join(dir, s)])), extraMetadata },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface ShardIndex {
  indexFile: string;
  /** tensor name → absolute shard path */
  shardOf: Map<string, string>;
  extraMetadata: Record<string, string>;
}

/** Opens the files, reads their headers, and builds the name → tensor table. */
async function openFiles(files: string[], index: ShardIndex | undefined): Promise<Checkpoint> {
  const handles = new Map<string, FileHandle>();
  try {
    const headers: SafetensorsHeader[] = [];
    for (const file of files) {
      const handle = await open(file, 'r');
      handles.set(file, handle);
      headers.push(await readHeader(handle, file, (await handle.stat()).size));
    }
    const tensors = new Map<string, TensorInfo>();
    if (index) {
      const inShard = new Map(headers.map((h) => [h.file, new Map(h.tensors.map((t) => [t.name, t]))]));
      for (const [name, shard] of index.shardOf) {
        const info = inShard.get(shard)!.get(name);
        if (!info) {
          throw new SafetensorsError(
            'index-mismatch',
            `${index.indexFile}: tensor ${quoted(name)} is mapped to ${quoted(path.basename(shard))}, whose header does not ` +
              `list it`,
            {
              file: shard,
              tensor: name,
              hint: 'The index and its shards do not match: re-download them together.',
            },
          );
        }
        tensors.set(name, info);
      }
    } else {
      for (const info of headers[0]!.tensors) tensors.set(info.name, info);
    }
    const metadata = { ...headers[0]!.metadata, ...index?.extraMetadata };
    return new OpenCheckpoint(files, metadata, tensors, handles);
  } catch (error) {
    await Promise.all([...handles.values()].map((h) => h.close()));
    throw error;
  }
}

class OpenCheckpoint implements Checkpoint {
  #bytesRead = 0;
  #closed = false;
  readonly #sortedNames: string[];

  constructor(
    readonly files: string[],
    readonly metadata: Record<string, string>,
    private readonly tensors: Map<string, TensorInfo>,
    private readonly handles: Map<string, FileHandle>,
  ) {
    this.#sortedNames = [...tensors.keys()].sort();
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  names(): string[] {
    return [...this.#sortedNames];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info) return info;
    const where = this.files.length === 1 ? this.files[0]! : path.dirname(this.files[0] ?? '.');
    const close = closestNames(name, this.tensors.keys());
    throw new SafetensorsError('missing-tensor', `${where}: no tensor ${quoted(name)} in this checkpoint`, {
      file: where,
      tensor: name,
      hint:
        close.length > 0
          ? `Similar names: ${close.map(quoted).join(', ')}.`
          : 'The checkpoint has no tensors.',
    });
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const bytes = new Uint8Array(info.end - info.begin);
    await this.#readInto(info, bytes);
    return bytes;
  }

  async readFloat32(name: string): Promise<{ data: Float32Array; shape: number[] }> {
    const info = this.#infoOfKind(name, true);
    return { data: (await this.#decode(info)) as Float32Array, shape: [...info.shape] };
  }

  async readInt32(name: string): Promise<{ data: Int32Array; shape: number[] }> {
    const info = this.#infoOfKind(name, false);
    return { data: (await this.#decode(info)) as Int32Array, shape: [...info.shape] };
  }

  /** Tensor `name`'s info, checked to hold floats (readFloat32) or integers and booleans (readInt32). */
  #infoOfKind(name: string, floats: boolean): TensorInfo {
    const info = this.info(name);
    if (isFloatDtype(info.dtype) === floats) return info;
    throw floats
      ? wrongDtype(info, 'readFloat32', 'readInt32')
      : wrongDtype(info, 'readInt32', 'readFloat32');
  }

  /** The tensor's values in 32 bits: a Float32Array for the float dtypes, an Int32Array for the others. */
  async #decode(info: TensorInfo): Promise<Float32Array | Int32Array> {
    const count = elementCount(info);
    switch (info.dtype) {
      case 'F32':
        return this.#readAs(info, new Float32Array(count));
      case 'F16':
      case 'BF16': {
        // read the half-precision bits into the upper half of the output's bytes, then widen
        // in place, front to back (each element is read before its bytes are overwritten)
        const data = new Float32Array(count);
        const half = new Uint16Array(data.buffer, 2 * count, count);
        await this.#readInto(info, bytesOf(half));
        if (info.dtype === 'F16') f16ToF32(half, data);
        else bf16ToF32(half, data);
        return data;
      }
      case 'F64':
        return Float32Array.from(await this.#readAs(info, new Float64Array(count)));
      case 'I32':
        return this.#readAs(info, new Int32Array(count));
      case 'I64':
        return int64ToInt32(await this.#readAs(info, new BigInt64Array(count)), info);
      case 'I16':
        return Int32Array.from(await this.#readAs(info, new Int16Array(count)));
      case 'I8':
        return Int32Array.from(await this.#readAs(info, new Int8Array(count)));
      case 'BOOL':
        return Int32Array.from(await this.#readAs(info, new Uint8Array(count)), (b) => (b === 0 ? 0 : 1));
      case 'U8':
        return Int32Array.from(await this.#readAs(info, new Uint8Array(count)));
    }
  }

  /** The tensor's bytes read into `array` (whose byte length is the tensor's), which it returns. */
  async #readAs<T extends ArrayBufferView>(info: TensorInfo, array: T): Promise<T> {
    await this.#readInto(info, bytesOf(array));
    return array;
  }

  /** Reads the tensor's whole byte range into `into` (whose length is that range's). */
  async #readInto(info: TensorInfo, into: Uint8Array): Promise<void> {
    const handle = this.handles.get(info.file);
    if (this.#closed || !handle) {
      throw new SafetensorsError(
        'closed',
        `${info.file}: cannot read ${quoted(info.name)}, the checkpoint was closed`,
        {
          file: info.file,
          tensor: info.name,
          hint: 'Read tensors before calling close().',
        },
      );
    }
    await readExactly(handle, into, info.begin, info.file);
    this.#bytesRead += into.length;
    if (!HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(into, DTYPE_BYTES[info.dtype]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.handles.values()].map((h) => h.close()));
  }
}

function elementCount(info: TensorInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

/** The bytes under a typed array (no copy). */
function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function wrongDtype(info: TensorInfo, called: string, instead: string): SafetensorsError {
  return new SafetensorsError(
    'wrong-dtype',
    `${info.file}: tensor ${quoted(info.name)} is ${info.dtype}; ${called} cannot read it`,
    {
      file: info.file,
      tensor: info.name,
      hint: `Use ${instead}(${quoted(info.name)}) for ${info.dtype} tensors.`,
    },
  );
}

function int64ToInt32(wide: BigInt64Array, info: TensorInfo): Int32Array {
  const out = new Int32Array(wide.length);
  for (let i = 0; i < wide.length; i++) {
    const value = wide[i]!;
    if (value < -2147483648n || value > 2147483647n) {
      throw new SafetensorsError(
        'int-range',
        `${info.file}: tensor ${quoted(info.name)} (I64) holds ${value} at flat index ${i}, outside the int32 range`,
        { file: info.file, tensor: info.name, hint: 'Use readRaw() and decode the 64-bit values yourself.' },
      );
    }
    out[i] = Number(value);
  }
  return out;
}
