/**
 * The batch loop every layer measurement shares: calibration examples in length buckets,
 * padded, checked for interruption before each batch, each batch disposed after its use.
 */
import { interruptionPoint } from '../runtime/event-loop.js';
import { batchOrder, disposeBatch, makeBatch, type Batch, type EncodedExample } from '../train/batching.js';

export interface MeasureOptions {
  /** Examples per forward pass (default 8). */
  batchSize?: number;
  /** Id written into padding positions (default 0; only the attention mask marks them). */
  padId?: number;
  /** Aborting stops the measurement at the next batch (InterruptedError). */
  signal?: AbortSignal;
}

/**
 * Calls `use` on each batch of `examples` (with the indices of its examples, in batch order) and
 * disposes the batch after it, even when `use` throws; `what` names the work when `signal` aborts.
 */
export async function forEachBatch(
  examples: readonly EncodedExample[],
  options: MeasureOptions,
  what: string,
  use: (batch: Batch, indices: readonly number[]) => Promise<void>,
): Promise<void> {
  for (const indices of batchOrder(examples, options.batchSize ?? 8, { bucket: true })) {
    await interruptionPoint(options.signal, what);
    const batch = makeBatch(
      indices.map((i) => examples[i]!),
      options.padId ?? 0,
    );
    try {
      await use(batch, indices);
    } finally {
      disposeBatch(batch);
    }
  }
}
