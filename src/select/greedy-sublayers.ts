/**
 * Greedy sublayer search by validation accuracy, zero-shot (FinerCut's procedure with layercut's
 * zero-shot score): start from every attention and MLP sublayer of a loaded model and repeatedly
 * drop the one whose removal costs the least accuracy, until `drop` sublayers are gone. A
 * candidate is tried by zeroing its output projection in place (what a dropped sublayer is,
 * src/models/sublayer-drops.ts) and scoring the label words at the answer slot as greedy.ts does;
 * every weight is restored at the end.
 *
 * Ties in accuracy go to the higher mean log-probability of the true class, then to an attention
 * sublayer (FinerCut finds attention the more removable), then to the higher layer.
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { interruptionPoint } from '../runtime/event-loop.js';
import { families } from '../models/load.js';
import { sublayerLayout } from '../models/sublayers.js';
import type { LanguageModel } from '../models/types.js';
import type { SublayerDrops } from '../plan/types.js';
import type { EncodedExample } from '../train/batching.js';
import type { MeasureOptions } from './batches.js';
import { labelAccuracy, type LabelScore } from './greedy.js';

export interface Sublayer {
  layer: number;
  part: 'attention' | 'mlp';
}

export interface GreedySublayerStep {
  /** The sublayer dropped at this step; null for the starting point. */
  dropped: Sublayer | null;
  /** Every sublayer dropped so far. */
  drops: SublayerDrops;
  accuracy: number;
  meanLogProb: number;
}

export interface GreedySublayerResult {
  order: Sublayer[];
  path: GreedySublayerStep[];
  drops: SublayerDrops;
}

function dropsOf(order: readonly Sublayer[]): SublayerDrops {
  const pick = (part: Sublayer['part']) =>
    order
      .filter((s) => s.part === part)
      .map((s) => s.layer)
      .sort((a, b) => a - b);
  return { attention: pick('attention'), mlp: pick('mlp') };
}

function better(a: LabelScore & Sublayer, b: LabelScore & Sublayer): boolean {
  if (a.accuracy !== b.accuracy) return a.accuracy > b.accuracy;
  if (a.meanLogProb !== b.meanLogProb) return a.meanLogProb > b.meanLogProb;
  if (a.part !== b.part) return a.part === 'attention';
  return a.layer > b.layer;
}

/** Greedy backward elimination of `drop` sublayers by zero-shot accuracy on `examples`. */
export async function greedySublayerSearch(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  labelTokenIds: readonly number[],
  options: MeasureOptions & { drop: number; onStep?: (step: GreedySublayerStep) => void },
): Promise<GreedySublayerResult> {
  const layout = sublayerLayout(model.info.config);
  if (typeof layout === 'string') throw new LayercutError(`no sublayer search: ${layout}`);
  const family = families.find((f) => f.modelTypes.includes(model.info.config.modelType))!;
  const all: Sublayer[] = model.info.keptLayers.flatMap((layer) => [
    { layer, part: 'attention' as const },
    { layer, part: 'mlp' as const },
  ]);
  if (!Number.isInteger(options.drop) || options.drop < 0 || options.drop > all.length)
    throw new LayercutError(
      `cannot drop ${options.drop} sublayers of ${all.length}`,
      `choose from 0 to ${all.length}`,
    );
  if (examples.length === 0) throw new LayercutError('greedy sublayer search needs validation examples');

  const outputs = (s: Sublayer) =>
    ['weight', 'bias']
      .map((suffix) =>
        model.params.get(
          `${family.layerPrefix(s.layer)}${s.part === 'attention' ? layout.attentionOutput : layout.mlpOutput}.${suffix}`,
        ),
      )
      .filter((v): v is tf.Variable => v !== undefined);
  const originals = new Map(all.flatMap((s) => outputs(s)).map((v) => [v, tf.clone(v)]));
  const setDropped = (s: Sublayer, dropped: boolean) => {
    for (const v of outputs(s)) tf.tidy(() => v.assign(dropped ? tf.zerosLike(v) : originals.get(v)!));
  };
  try {
    const order: Sublayer[] = [];
    const start = await labelAccuracy(model, examples, labelTokenIds, options);
    const path: GreedySublayerStep[] = [
      { dropped: null, drops: dropsOf(order), accuracy: start.accuracy, meanLogProb: start.meanLogProb },
    ];
    options.onStep?.(path[0]!);
    while (order.length < options.drop) {
      let best: (LabelScore & Sublayer) | undefined;
      for (const candidate of all.filter((s) => !order.includes(s))) {
        await interruptionPoint(options.signal, 'the greedy sublayer search');
        setDropped(candidate, true);
        const trial = { ...(await labelAccuracy(model, examples, labelTokenIds, options)), ...candidate };
        setDropped(candidate, false);
        if (!best || better(trial, best)) best = trial;
      }
      const chosen = all.find((s) => s.layer === best!.layer && s.part === best!.part)!;
      setDropped(chosen, true);
      order.push(chosen);
      const step = {
        dropped: chosen,
        drops: dropsOf(order),
        accuracy: best!.accuracy,
        meanLogProb: best!.meanLogProb,
      };
      path.push(step);
      options.onStep?.(step);
    }
    return { order, path, drops: dropsOf(order) };
  } finally {
    for (const [variable, original] of originals) {
      variable.assign(original);
      original.dispose();
    }
  }
}
