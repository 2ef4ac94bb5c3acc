/**
 * Which layers a cut model keeps. The paper's case is keep-first-k; any set of original
 * indices is allowed. Resolved against the model's depth once config.json is known.
 */
import { LayercutError } from '../errors.js';

export type LayerSelection =
  { kind: 'first'; count: number } | { kind: 'indices'; indices: number[] } | { kind: 'all' };

export class LayerSelectionError extends LayercutError {
  override name = 'LayerSelectionError';
}

export const keepFirst = (count: number): LayerSelection => ({ kind: 'first', count });
export const keepIndices = (indices: number[]): LayerSelection => ({ kind: 'indices', indices });
export const keepAll: LayerSelection = { kind: 'all' };

/** The kept layers' original indices, ascending, or a clear error when they don't fit the model. */
export function resolveLayers(selection: LayerSelection, depth: number, modelName = 'the model'): number[] {
  const range = depth > 0 ? `0..${depth - 1}` : 'none';
  switch (selection.kind) {
    case 'all':
      return Array.from({ length: depth }, (_, i) => i);
    case 'first': {
      const { count } = selection;
      if (!Number.isInteger(count) || count < 0 || count > depth) {
        throw new LayerSelectionError(
          `cannot keep the first ${count} layers: ${modelName} has ${depth} layers`,
          `choose a count from 0 to ${depth}`,
        );
      }
      return Array.from({ length: count }, (_, i) => i);
    }
    case 'indices': {
      for (const index of selection.indices) {
        if (!Number.isInteger(index) || index < 0 || index >= depth) {
          throw new LayerSelectionError(
            `layer ${index} does not exist: ${modelName} has ${depth} layers (${range})`,
            `pick layer indices in ${range}`,
          );
        }
      }
      const sorted = [...new Set(selection.indices)].sort((a, b) => a - b);
      if (sorted.length !== selection.indices.length) {
        throw new LayerSelectionError(`layer list [${selection.indices.join(', ')}] names a layer twice`);
      }
      return sorted;
    }
  }
}

/** Parses the command-line form: "all", "first:2" / "2" (keep first k), or "0,1,5". */
export function parseLayerOption(text: string): LayerSelection {
  const trimmed = text.trim();
  if (trimmed === 'all') return keepAll;
  const first = /^(?:first:)?(\d+)$/.exec(trimmed);
  if (first) return keepFirst(Number(first[1]));
  if (/^\d+(\s*,\s*\d+)+$/.test(trimmed)) return keepIndices(trimmed.split(',').map((s) => Number(s.trim())));
  throw new LayerSelectionError(
    `cannot read layer selection '${text}'`,
    "write 'all', a count such as 2, or indices such as 0,1,5",
  );
}
