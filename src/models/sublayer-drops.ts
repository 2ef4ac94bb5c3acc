/**
 * Sublayer drops on a loaded model (the plan's `sublayers`). A dropped sublayer contributes
 * nothing to the residual stream: its output projection's weight and bias are set to zero, so
 * the layer computes h + 0 in its place, exactly, in layercut and in transformers alike, and a
 * saved checkpoint keeps the family's own layout. Its parameters (norm included) are frozen so
 * they stay so. A layer without both sublayers is not loaded at all (saveModel then renumbers
 * the layers above it). Dropping saves no compute yet: the dropped attention still runs and its
 * output is multiplied by zero.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import type { SublayerDrops } from '../plan/types.js';
import { families } from './load.js';
import { sublayerLayout } from './sublayers.js';
import type { LanguageModel } from './types.js';

/** The kept layers minus those whose attention and MLP both go. */
export function layersLeft(kept: readonly number[], drops: SublayerDrops): number[] {
  return kept.filter((layer) => !(drops.attention.includes(layer) && drops.mlp.includes(layer)));
}

/**
 * Zeroes the output projection of every dropped sublayer `model` keeps and returns the names of
 * the dropped sublayers' parameters, which must not train.
 */
export function applySublayerDrops(model: LanguageModel, drops: SublayerDrops): Set<string> {
  const layout = sublayerLayout(model.info.config);
  if (typeof layout === 'string') throw new LayercutError(`cannot drop sublayers: ${layout}`);
  const family = families.find((f) => f.modelTypes.includes(model.info.config.modelType))!;
  const frozen = new Set<string>();
  const drop = (layer: number, output: string, params: string[]) => {
    if (!model.info.keptLayers.includes(layer)) return; // gone with its whole layer
    const prefix = family.layerPrefix(layer);
    for (const suffix of ['weight', 'bias']) {
      const variable = model.params.get(`${prefix}${output}.${suffix}`);
      if (variable) tf.tidy(() => variable.assign(tf.zerosLike(variable)));
    }
    for (const name of model.params.keys())
      if (params.some((p) => name.startsWith(prefix + p))) frozen.add(name);
  };
  for (const layer of drops.attention) drop(layer, layout.attentionOutput, layout.attentionParams);
  for (const layer of drops.mlp) drop(layer, layout.mlpOutput, layout.mlpParams);
  return frozen;
}
