/**
 * Helpers for the weights tests: a temporary directory per test file, and hand-made
 * safetensors bytes (so tests can corrupt any part of a file directly).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh temporary directory; `remove()` deletes it. */
export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'layercut-weights-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Bytes of a safetensors file: [u64 LE header length][header text][data]. */
export function safetensorsBytes(header: string, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const headerBytes = Buffer.from(header, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(headerBytes.length));
  return new Uint8Array(Buffer.concat([prefix, headerBytes, data]));
}

/** Writes a hand-made safetensors file and returns its path. */
export async function writeRaw(
  dir: string,
  name: string,
  header: string,
  data: Uint8Array,
  headerLength?: bigint,
): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, safetensorsBytes(header, data, headerLength));
  return file;
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
