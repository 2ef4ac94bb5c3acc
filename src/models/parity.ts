/**
 * Parity against reference outputs of Hugging Face `transformers`.
 *
 * A parity directory holds a checkpoint (config.json, model.safetensors) and
 * reference.safetensors with input_ids and attention_mask (int32 [B, T]), logits_full
 * (float32 [B, T, V]) and any number of logits_keep{k} (the model cut to its first k layers).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { openCheckpoint } from '../weights/safetensors.js';
import { loadModel } from './load.js';
import { keepAll, keepFirst, type LayerSelection } from './selection.js';

export const DEFAULT_TOLERANCE = 1e-4;

export interface ParityRow {
  reference: string;
  layers: LayerSelection;
  /** Max |layercut − reference| over positions whose attention mask is 1. */
  maxAbsDiff: number;
  /** layercut's logits at those positions that are NaN or ±Infinity (any fails the row: max and abs could hide them). */
  nonFinite: number;
  ok: boolean;
}

/** Which cut a reference tensor describes, from its name; undefined for tensors that are not logits. */
export function selectionForReference(name: string): LayerSelection | undefined {
  if (name === 'logits_full') return keepAll;
  const match = /^logits_keep(\d+)$/.exec(name);
  return match ? keepFirst(Number(match[1])) : undefined;
}

export async function checkParity(dir: string, tolerance = DEFAULT_TOLERANCE): Promise<ParityRow[]> {
  const reference = await openCheckpoint(path.join(dir, 'reference.safetensors'));
  try {
    const ids = await reference.readInt32('input_ids');
    const mask = await reference.readInt32('attention_mask');
    const targets = reference.names().filter((name) => selectionForReference(name));
    if (targets.length === 0) {
      throw new LayercutError(`${dir}/reference.safetensors has no logits_full or logits_keep{k} tensor`);
    }
    const inputIds = tf.tensor2d(ids.data, ids.shape as [number, number], 'int32');
    const attentionMask = tf.tensor2d(mask.data, mask.shape as [number, number], 'int32');
    const rows: ParityRow[] = [];
    try {
      for (const name of targets) {
        const layers = selectionForReference(name)!;
        const expected = await reference.readFloat32(name);
        const { model } = await loadModel(dir, { layers });
        try {
          const worst = tf.tidy(() => {
            const logits = model.logits(inputIds, attentionMask); // [B, T, V]
            const diff = tf.abs(tf.sub(logits, tf.tensor(expected.data, expected.shape)));
            const real = tf.cast(attentionMask, 'float32').expandDims(2); // [B, T, 1]
            const notFinite = tf.logicalAnd(tf.logicalNot(tf.isFinite(logits)), tf.cast(real, 'bool'));
            return tf.stack([tf.max(tf.mul(diff, real)), tf.sum(tf.cast(notFinite, 'float32'))]); // [2]
          });
          // async read: WebGPU in Node cannot read synchronously
          const [maxAbsDiff, nonFinite] = Array.from(await worst.data()) as [number, number];
          worst.dispose();
          const ok = nonFinite === 0 && maxAbsDiff <= tolerance;
          rows.push({ reference: name, layers, maxAbsDiff, nonFinite, ok });
        } finally {
          model.dispose();
        }
      }
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
    }
    return rows;
  } finally {
    await reference.close();
  }
}
