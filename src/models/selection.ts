/**
 * Which layers a cut model keeps. The paper's case is keep-first-k; any set of original
 * indices is allowed. Resolved against the model's depth once config.json is known.
 *
 * A computed selection (`byInfluence`, `byAngularDistance` in the DSL) names a rule instead of
 * layers: the run measures the full model on calibration examples of its task and picks the
 * layers then (src/select/computed.ts). The plan keeps the rule, so its id does not depend on
 * the data; the run's result records the layers it picked.
 */
import { LayercutError } from '../errors.js';

/** Calibration data of a computed selection: examples drawn (seeded) from the task's training split. */
export interface CalibrationSpec {
  examples: number;
}

/** Calibration examples when an experiment gives none. */
export const DEFAULT_CALIBRATION: Readonly<CalibrationSpec> = { examples: 64 };

/**
 * Layers chosen from data at run time:
 *   influence         keep the `keep` layers of highest block influence (ShortGPT)
 *   angular-distance  drop the block of `drop` consecutive layers whose input and output are
 *                     closest in angular distance (Gromov et al.)
 */
export type ComputedLayerSelection =
  | { kind: 'computed'; by: 'influence'; keep: number; calibration: CalibrationSpec }
  | { kind: 'computed'; by: 'angular-distance'; drop: number; calibration: CalibrationSpec };

/** A selection that names its layers: what loadModel reads. */
export type FixedLayerSelection =
  { kind: 'first'; count: number } | { kind: 'indices'; indices: number[] } | { kind: 'all' };

export type LayerSelection = FixedLayerSelection | ComputedLayerSelection;

export class LayerSelectionError extends LayercutError {
  override name = 'LayerSelectionError';
}

export const keepFirst = (count: number): LayerSelection => ({ kind: 'first', count });
export const keepIndices = (indices: number[]): LayerSelection => ({ kind: 'indices', indices });
export const keepAll: LayerSelection = { kind: 'all' };

/**
 * How a selection reads everywhere it is shown (plan listings, result tables, plots, progress):
 * `all`, `first 2`, `0,5,7`, `5..5` (one layer: a lone number would read as a count), `none`,
 * and for a computed selection its rule, `keep 2 by influence (64 examples)`. A fixed selection's
 * text is layer text: the grammar (grammar/layers.peggy) reads it back as the same selection.
 */
export function layerText(selection: LayerSelection): string {
  switch (selection.kind) {
    case 'all':
      return 'all';
    case 'first':
      return `first ${selection.count}`;
    case 'indices': {
      const { indices } = selection;
      return indices.length === 0 ? 'none' : indices.length === 1 ? `${indices[0]}..${indices[0]}` : indices.join(',');
    }
    case 'computed':
      return computedSelectionText(selection);
  }
}

/** "keep 2 by influence (64 examples)", "drop 3 by angular distance (64 examples)". */
export function computedSelectionText(selection: ComputedLayerSelection): string {
  const rule =
    selection.by === 'influence'
      ? `keep ${selection.keep} by influence`
      : `drop ${selection.drop} by angular distance`;
  return `${rule} (${selection.calibration.examples} examples)`;
}

/** How many layers a selection keeps, when that is known without data (`depth`: the model's layers). */
export function keptLayerCount(selection: LayerSelection, depth?: number): number | undefined {
  switch (selection.kind) {
    case 'all':
      return depth;
    case 'first':
      return selection.count;
    case 'indices':
      return selection.indices.length;
    case 'computed':
      return selection.by === 'influence'
        ? selection.keep
        : depth === undefined
          ? undefined
          : depth - selection.drop;
  }
}

/**
 * Checks a computed selection's counts against the model's depth (when known): keep 1..depth
 * layers, drop 1..depth−1, at least one calibration example. Throws LayerSelectionError.
 */
export function checkComputedSelection(
  selection: ComputedLayerSelection,
  depth: number | undefined,
  modelName = 'the model',
): void {
  const whole = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 1;
  if (!whole(selection.calibration.examples)) {
    throw new LayerSelectionError(
      `calibration needs a whole number of examples (1 or more), got ${JSON.stringify(selection.calibration.examples)}`,
      'write calibration: { examples: 64 }',
    );
  }
  const [builder, option, count] =
    selection.by === 'influence'
      ? ['byInfluence', 'keep', selection.keep]
      : ['byAngularDistance', 'drop', selection.drop];
  if (!whole(count)) {
    throw new LayerSelectionError(
      `${builder} needs ${option}: a whole number of layers (1 or more), got ${JSON.stringify(count)}`,
    );
  }
  if (depth === undefined) return;
  if (selection.by === 'influence' && selection.keep > depth) {
    throw new LayerSelectionError(
      `cannot keep ${selection.keep} layers by influence: ${modelName} has ${depth} layers`,
      `choose keep from 1 to ${depth}`,
    );
  }
  if (selection.by === 'angular-distance' && selection.drop > depth - 1) {
    throw new LayerSelectionError(
      `cannot drop ${selection.drop} layers by angular distance: ${modelName} has ${depth} layers and one must stay`,
      depth > 1 ? `choose drop from 1 to ${depth - 1}` : undefined,
    );
  }
}

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
    case 'computed':
      throw new LayerSelectionError(
        `the layers of '${computedSelectionText(selection)}' are chosen from calibration data, not known before`,
        'choose them first with chooseComputedLayers (src/select/computed.ts), as runExperiment does',
      );
  }
}
