/**
 * Seeded randomness that gives the same numbers on every machine and Node version:
 * the mulberry32 generator (32-bit integer arithmetic only) and a Fisher–Yates shuffle.
 * Different purposes draw from separate streams derived from (seed, purpose name), so
 * changing how the test subset is drawn never changes the training sample.
 */

/** A generator of floats in [0, 1) — `next()` — from 32-bit state. */
export interface Random {
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/** mulberry32: small, fast, well-distributed for sampling; deterministic from a uint32 seed. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

/** FNV-1a hash of a string to a uint32. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A generator for one purpose (`'train'`, `'test'`, …) under a seed. */
export function randomStream(seed: number, purpose: string): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  return mulberry32((fnv1a(purpose) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
}

/** A shuffled copy (Fisher–Yates, from the last position down). */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `[0, 1, …, n-1]`. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
