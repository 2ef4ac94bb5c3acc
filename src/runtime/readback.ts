/**
 * Reading per-step scalars (a training loss, a gradient norm) back from the device in groups.
 *
 * Awaiting a tensor's data makes the host wait for every GPU op queued before it; doing it
 * each step leaves the GPU idle while the host prepares the next step. Here the scalars of
 * several steps wait on the device and come back with one `tf.stack(…).data()`: one host sync
 * per group, and the values are exactly the ones a per-step read would give.
 *
 * A group is due after `everySteps` entries, or once `maxSeconds` have passed since the last
 * read (so slow steps still report often); `everySteps: 1` reads every step. In the plain
 * kernel set (ops/registry.ts: the code paths before grouping, for comparisons) training and
 * evaluation loops read every value at once.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelSet } from './ops/registry.js';

export interface ReadbackPolicy {
  /** Entries per group (≥ 1). */
  everySteps: number;
  /** A group is also due once this many seconds passed since the last read. */
  maxSeconds: number;
}

export const DEFAULT_READBACK: ReadbackPolicy = { everySteps: 16, maxSeconds: 2 };

/** A loop's policy: `requested` (default DEFAULT_READBACK), or every step in the plain kernel set. */
export function readbackPolicy(requested?: ReadbackPolicy): ReadbackPolicy {
  return kernelSet() === 'plain' ? { everySteps: 1, maxSeconds: 0 } : (requested ?? DEFAULT_READBACK);
}

/** Entries to read back together: `grouped`, or 1 in the plain kernel set. */
export function readbackGroupSize(grouped: number): number {
  return kernelSet() === 'plain' ? 1 : grouped;
}

export interface ReadEntry<M> {
  meta: M;
  /** The entry's scalars, in the order given to `push`. */
  values: number[];
}

export class DeferredScalars<M> {
  private pending: { meta: M; scalars: tf.Tensor[] }[] = [];
  private lastRead: number;

  constructor(
    private readonly policy: ReadbackPolicy = DEFAULT_READBACK,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(policy.everySteps >= 1))
      throw new RangeError(`everySteps must be at least 1, got ${policy.everySteps}`);
    this.lastRead = now();
  }

  /** Entries waiting to be read. */
  get size(): number {
    return this.pending.length;
  }

  /** Queues one entry; the scalars (shape [] or [1]) are owned, and disposed, by this queue. */
  push(meta: M, scalars: tf.Tensor[]): void {
    for (const t of scalars) {
      if (t.size !== 1) throw new RangeError(`only scalars can be deferred, got shape [${t.shape}]`);
    }
    this.pending.push({ meta, scalars });
  }

  /** Whether the waiting entries should be read now. */
  due(): boolean {
    if (this.pending.length === 0) return false;
    if (this.pending.length >= this.policy.everySteps) return true;
    return (this.now() - this.lastRead) / 1000 >= this.policy.maxSeconds;
  }

  /** Reads every waiting entry back with one host sync, in the order they were pushed. */
  async read(): Promise<ReadEntry<M>[]> {
    const entries = this.pending;
    this.pending = [];
    this.lastRead = this.now();
    if (entries.length === 0) return [];
    const flat = entries.flatMap((e) => e.scalars);
    try {
      const stacked = tf.tidy(() => tf.stack(flat.map((t) => t.reshape([]))));
      const values = await stacked.data();
      stacked.dispose();
      let next = 0;
      return entries.map((e) => ({ meta: e.meta, values: e.scalars.map(() => values[next++]!) }));
    } finally {
      tf.dispose(flat);
      this.lastRead = this.now();
    }
  }

  /** Drops waiting entries unread (after an error). */
  dispose(): void {
    for (const e of this.pending) tf.dispose(e.scalars);
    this.pending = [];
  }
}
