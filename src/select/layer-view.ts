/**
 * A view of a loaded model with fewer layers: the same parameters (no copy, nothing read from
 * disk), a forward pass through only the chosen layers. What a model cut to those layers
 * computes, so a search can try many cuts of one loaded model.
 */
import { LayercutError } from '../errors.js';
import { families } from '../models/load.js';
import type { LanguageModel } from '../models/types.js';

/**
 * `model` restricted to `layers` (original indices, a subset of its kept layers). The view shares
 * the model's variables: its `dispose()` does nothing; dispose the model itself when done.
 */
export function withLayers(model: LanguageModel, layers: readonly number[]): LanguageModel {
  const family = families.find((f) => f.modelTypes.includes(model.info.config.modelType));
  if (!family) throw new LayercutError(`no model family reads model_type '${model.info.config.modelType}'`);
  const kept = [...new Set(layers)].sort((a, b) => a - b);
  const stray = kept.find((layer) => !model.info.keptLayers.includes(layer));
  if (stray !== undefined) {
    throw new LayercutError(
      `layer ${stray} is not in the model (it keeps ${model.info.keptLayers.join(', ') || 'none'})`,
    );
  }
  const droppedPrefixes = model.info.keptLayers
    .filter((layer) => !kept.includes(layer))
    .map((layer) => family.layerPrefix(layer));
  const params = new Map(
    [...model.params].filter(([name]) => !droppedPrefixes.some((prefix) => name.startsWith(prefix))),
  );
  const view = family.build(model.info.config, kept, params);
  return {
    info: view.info,
    params: view.params,
    afterLayer: view.afterLayer,
    get headWidth() {
      return view.headWidth;
    },
    forward: (inputIds, attentionMask, options) => view.forward(inputIds, attentionMask, options),
    headInput: (hidden) => view.headInput(hidden),
    lmHead: (hidden, tokenIds) => view.lmHead(hidden, tokenIds),
    logits: (inputIds, attentionMask) => view.logits(inputIds, attentionMask),
    dispose: () => {},
  };
}
