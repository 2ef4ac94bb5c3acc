/** The block of layers a cut removes, for a block replacement (replacement.ts); no tensors, the compiler reads it too. */

/** The one contiguous block [start, end) of original layers that `kept` removes, or why there is none to replace. */
export function removedBlock(kept: readonly number[], depth: number): { start: number; end: number } | string {
  const removed = Array.from({ length: depth }, (_, l) => l).filter((l) => !kept.includes(l));
  if (removed.length === 0) return 'the layer selection removes no layer: there is no block to replace';
  const start = removed[0]!;
  const end = removed.at(-1)! + 1;
  if (end - start !== removed.length)
    return `a replacement stands in for one contiguous removed block; this selection removes layers ${removed.join(', ')}`;
  if (start === 0)
    return 'the removed block starts at layer 0: a replacement needs the layer below the block kept';
  return { start, end };
}
