/**
 * Writing safetensors files byte-for-byte as the reference library does: tensors laid out
 * by descending dtype alignment rank, then by name (for one dtype: by name), a compact JSON
 * header with `__metadata__` first, padded with spaces to a multiple of 8 bytes. Files are
 * written to a temporary name, synced, then renamed, so a crash never leaves half a file
 * under the real name. Sharded checkpoints get `model-0000i-of-0000n.safetensors` files and
 * a `model.safetensors.index.json` as transformers writes them. Tensor values are checked and
 * converted by `encode.ts`.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DTYPE_BYTES, DTYPE_WRITE_RANK } from './dtypes.js';
import { encodeTensor, planTensor, type PlannedTensor, type WritableTensor } from './encode.js';
import { INDEX_FILE_NAME, SINGLE_FILE_NAME } from './checkpoint.js';

export type { WritableTensor } from './encode.js';

/** Writes one safetensors file (atomically: temp file, then rename). */
export async function writeSafetensors(
  filePath: string,
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const target = path.resolve(filePath);
  const planned = Object.entries(tensors).map(([name, tensor]) => planTensor(target, name, tensor));
  await writeOneFile(target, planned, metadata);
}

/** Byte size of one tensor once written. */
export function tensorByteLength(tensor: WritableTensor): number {
  return tensor.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[tensor.dtype];
}

/** HF transformers' default largest shard (5 GB). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

/**
 * Writes a checkpoint directory: `model.safetensors` if the tensors fit in `maxShardBytes`,
 * else shards + `model.safetensors.index.json` ({metadata: {total_size}, weight_map}).
 * Tensors fill shards in the order given; one larger than the limit gets a shard of its own.
 * A previous checkpoint of the other layout in `dir` is removed so it cannot shadow this one.
 */
export async function writeCheckpoint(
  dir: string,
  tensors: Record<string, WritableTensor>,
  opts: { maxShardBytes?: number; metadata?: Record<string, string> } = {},
): Promise<void> {
  const target = path.resolve(dir);
  const maxShardBytes = opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const planned = Object.entries(tensors).map(([name, tensor]) => planTensor(target, name, tensor));
  await mkdir(target, { recursive: true });
  const totalSize = planned.reduce((sum, t) => sum + t.byteLength, 0);
  if (totalSize <= maxShardBytes) {
    await writeOneFile(path.join(target, SINGLE_FILE_NAME), planned, opts.metadata);
    await removeShardedCheckpoint(target);
    return;
  }
  const shards = splitIntoShards(planned, maxShardBytes);
  const width = Math.max(5, String(shards.length).length);
  const shardName = (i: number): string =>
    `model-${String(i + 1).padStart(width, '0')}-of-${String(shards.length).padStart(width, '0')}.safetensors`;
  const weightMap = new Map<string, string>();
  for (const [i, shard] of shards.entries()) {
    await writeOneFile(path.join(target, shardName(i)), shard, opts.metadata);
    for (const tensor of shard) weightMap.set(tensor.name, shardName(i));
  }
  const index = {
    metadata: { total_size: totalSize },
    weight_map: Object.fromEntries([...weightMap].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  await removeShardedCheckpoint(target, new Set(weightMap.values()));
  await writeAtomically(path.join(target, INDEX_FILE_NAME), [
    Buffer.from(JSON.stringify(index, null, 2) + '\n'),
  ]);
  await rm(path.join(target, SINGLE_FILE_NAME), { force: true });
}

/** Fills shards in order, starting a new one when the next tensor would pass the limit. */
function splitIntoShards(tensors: PlannedTensor[], maxShardBytes: number): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let currentBytes = 0;
  for (const tensor of tensors) {
    if (current.length > 0 && currentBytes + tensor.byteLength > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += tensor.byteLength;
  }
  shards.push(current);
  return shards;
}

/** Removes an existing index and the shards it lists (except those in `keep`). */
async function removeShardedCheckpoint(dir: string, keep = new Set<string>()): Promise<void> {
  const indexFile = path.join(dir, INDEX_FILE_NAME);
  let shardNames: string[];
  try {
    const old = JSON.parse(await readFile(indexFile, 'utf8')) as { weight_map?: Record<string, unknown> };
    shardNames = Object.values(old.weight_map ?? {}).filter((s): s is string => typeof s === 'string');
  } catch {
    return; // no (readable) old index: nothing to remove
  }
  for (const shard of new Set(shardNames)) {
    if (!keep.has(shard) && path.basename(shard) === shard) await rm(path.join(dir, shard), { force: true });
  }
  if (keep.size === 0) await rm(indexFile, { force: true });
}

/**
 * Header JSON bytes, padded with spaces to a multiple of 8. Built as text, not through an
 * object, because JavaScript objects put integer-like keys (a tensor named "0") first.
 */
function encodeHeader(tensors: PlannedTensor[], metadata?: Record<string, string>): Uint8Array {
  const entries: string[] = [];
  if (metadata) {
    const sorted = Object.keys(metadata)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`);
    entries.push(`"__metadata__":{${sorted.join(',')}}`);
  }
  let offset = 0;
  for (const tensor of tensors) {
    const info = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.byteLength],
    };
    entries.push(`${JSON.stringify(tensor.name)}:${JSON.stringify(info)}`);
    offset += tensor.byteLength;
  }
  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  return padded;
}

/** The reference library's layout order: descending dtype rank, then name by UTF-8 bytes. */
function layoutOrder(a: PlannedTensor, b: PlannedTensor): number {
  return (
    DTYPE_WRITE_RANK[b.dtype] - DTYPE_WRITE_RANK[a.dtype] ||
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))
  );
}

/** Writes one safetensors file; each tensor is converted only when its turn comes. */
async function writeOneFile(
  file: string,
  tensors: PlannedTensor[],
  metadata?: Record<string, string>,
): Promise<void> {
  const ordered = [...tensors].sort(layoutOrder);
  const header = encodeHeader(ordered, metadata);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  await writeAtomically(file, [prefix, header, ...ordered.map((t) => () => encodeTensor(t))]);
}

/**
 * Writes the chunks (or what the chunk functions return, called one at a time) to a
 * temporary file next to `file`, syncs it, and renames it to `file`.
 */
async function writeAtomically(file: string, chunks: (Uint8Array | (() => Uint8Array))[]): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w');
  try {
    let position = 0;
    for (const item of chunks) {
      const chunk = typeof item === 'function' ? item() : item;
      let done = 0;
      while (done < chunk.length) {
        const length = Math.min(chunk.length - done, 0x4000_0000); // 1 GiB per call
        const { bytesWritten } = await handle.write(chunk, done, length, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    await rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
