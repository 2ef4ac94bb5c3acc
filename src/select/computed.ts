/**
 * Computed layer selections, chosen from data when a run starts (see src/models/selection.ts):
 *
 *   influence         measure each layer's block influence on the calibration examples and
 *                     keep the `keep` highest (ties: the lower layer)
 *   angular-distance  measure d(ℓ, ℓ+n) for n = `drop` and drop the block [ℓ, ℓ+n) where it is
 *                     smallest (ties: the lower ℓ)
 *
 * The measurements run on the model with all its layers; the run then loads only the chosen ones.
 */
import { loadModel } from '../models/load.js';
import {
  checkComputedSelection,
  type ComputedLayerSelection,
  type FixedLayerSelection,
  type LayerSelection,
} from '../models/selection.js';
import type { LanguageModel } from '../models/types.js';
import type { EncodedExample } from '../train/batching.js';
import { blockToDrop } from './angular-distance.js';
import type { MeasureOptions } from './batches.js';
import { angularDistancesOver, influenceOver } from './calibration.js';

export interface ComputedChoice {
  selection: ComputedLayerSelection;
  /** Original indices of the layers kept, ascending. */
  kept: number[];
  /** The measurement behind the choice: block influence per layer, or d(ℓ, ℓ+n) per start ℓ. */
  scores: number[];
}

/** Positions of the `keep` largest influences, ascending (ties: the lower position). */
export function keepByInfluence(influence: readonly number[], keep: number): number[] {
  return influence
    .map((value, position) => ({ value, position }))
    .sort((a, b) => b.value - a.value || a.position - b.position)
    .slice(0, keep)
    .map((entry) => entry.position)
    .sort((a, b) => a - b);
}

/** Chooses the layers of `selection` on `model` (all the layers it has are candidates). */
export async function chooseComputedLayers(
  model: LanguageModel,
  selection: ComputedLayerSelection,
  examples: readonly EncodedExample[],
  options: MeasureOptions = {},
): Promise<ComputedChoice> {
  const layers = model.info.keptLayers;
  checkComputedSelection(selection, layers.length);
  if (selection.by === 'influence') {
    const scores = await influenceOver(model, examples, options);
    const kept = keepByInfluence(scores, selection.keep).map((p) => layers[p]!);
    return { selection, kept, scores };
  }
  const scores = await angularDistancesOver(model, examples, selection.drop, options);
  const block = blockToDrop(scores, selection.drop);
  const kept = layers.filter((_, p) => p < block.start || p >= block.end);
  return { selection, kept, scores };
}

/**
 * The fixed selection a run loads: `selection` itself, or for a computed one the layers chosen
 * on the full model in `modelDir` from `calibrate(count)`'s examples (the model is loaded for
 * the measurement and disposed after it).
 */
export async function resolveComputedSelection(
  modelDir: string,
  selection: LayerSelection,
  calibrate: (count: number) => EncodedExample[],
  options: MeasureOptions = {},
): Promise<{ selection: FixedLayerSelection; choice?: ComputedChoice }> {
  if (selection.kind !== 'computed') return { selection };
  const examples = calibrate(selection.calibration.examples);
  const { model } = await loadModel(modelDir);
  try {
    const choice = await chooseComputedLayers(model, selection, examples, options);
    return { selection: { kind: 'indices', indices: choice.kept }, choice };
  } finally {
    model.dispose();
  }
}
