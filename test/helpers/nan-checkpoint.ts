/**
 * A broken checkpoint as a user might meet one: a copy of a real model folder whose safetensors
 * file has NaN written into one tensor (in its own dtype: F32, F16 or BF16), every other tensor
 * byte for byte as it was, written by layercut's safetensors writer.
 *
 *   await copyWithNaN(modelFixture('gpt2-tiny'), dir, 'h.2.mlp.c_fc.weight', [0]);
 */
import { cpSync } from 'node:fs';
import { openCheckpoint, type WritableTensor } from '../../src/weights/safetensors.js';
import { writeCheckpoint } from '../../src/weights/writer.js';

/** NaN's bit pattern in each 16-bit float dtype. */
const NAN_BITS = { F16: 0x7e00, BF16: 0x7fc0 } as const;

/** Copies folder `source` to `target`, then writes NaN into tensor `name` at the flat positions `at`. */
export async function copyWithNaN(
  source: string,
  target: string,
  name: string,
  at: readonly number[],
): Promise<void> {
  cpSync(source, target, { recursive: true });
  const checkpoint = await openCheckpoint(source);
  const tensors: Record<string, WritableTensor> = {};
  try {
    if (!checkpoint.has(name)) throw new Error(`${source} has no tensor ${name}`);
    for (const key of checkpoint.names()) {
      const { dtype, shape } = checkpoint.info(key);
      const raw = (await checkpoint.readRaw(key)).slice(); // an aligned copy
      if (dtype === 'F32') {
        const data = new Float32Array(raw.buffer);
        if (key === name) for (const i of at) data[i] = NaN;
        tensors[key] = { dtype, shape, data };
      } else if (dtype === 'F16' || dtype === 'BF16') {
        const data = new Uint16Array(raw.buffer);
        if (key === name) for (const i of at) data[i] = NAN_BITS[dtype];
        tensors[key] = { dtype, shape, data };
      } else {
        throw new Error(`copyWithNaN reads float checkpoints only; ${key} is ${dtype}`);
      }
    }
    await writeCheckpoint(target, tensors, { metadata: checkpoint.metadata });
  } finally {
    await checkpoint.close();
  }
}
