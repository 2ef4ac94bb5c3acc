/**
 * Sublayer drops as experiments write them — layer text (`'drop attn 10..20'`,
 * `'first 12; drop mlp 3'`) or `dropSublayers({ attention, mlp }, base)` — → the plan's
 * `sublayers` (original layer indices), checked against the model's depth, its kept layers and
 * its family (pre-norm only: src/models/sublayers.ts says why) when the model is known.
 */
import { parse } from '../../grammar/layers.generated.js';
import type { LayerRange, SublayerRequest } from '../../grammar/layers-ast.js';
import type { SublayerDrops } from '../plan/types.js';
import { sublayerLayout } from '../models/sublayers.js';
import type { FamilyConfig } from '../models/types.js';
import { LayerIssue, MOST_LAYERS } from './layers.js';
import { show } from './shape.js';

type Ranges = LayerRange[];

/** What a layers value asks of sublayers before the depth is known (grammar/layers-ast.ts). */
export type { SublayerRequest };

const isIndex = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** The sublayer part of a layers value (syntax errors are reported by readLayers). */
export function readSublayers(value: unknown): SublayerRequest | undefined {
  if (typeof value === 'string') {
    try {
      return parse(value).sublayers;
    } catch {
      return undefined;
    }
  }
  if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'sublayers') {
    const { attention = [], mlp = [] } = value as { attention?: unknown; mlp?: unknown };
    for (const [name, list] of [
      ['attention', attention],
      ['mlp', mlp],
    ] as const) {
      if (!Array.isArray(list) || !list.every(isIndex))
        throw new LayerIssue(`dropSublayers ${name} must list layer indices (0, 1, …), got ${show(list)}`);
    }
    const one = (list: number[]) => list.map((i) => ({ from: i, to: i }));
    return { attention: one(attention as number[]), mlp: one(mlp as number[]) };
  }
  return undefined;
}

/** The layers the ranges name, checked before anything is expanded (as the layer part's ranges are). */
function expand(ranges: Ranges, model: { depth: number; name: string } | undefined, part: string): number[] {
  const out = new Set<number>();
  const word = part === 'attn' ? 'the attention' : 'the MLP';
  for (const { from, to } of ranges) {
    if (to === null && model === undefined)
      throw new LayerIssue(
        `'drop ${part} ${from}..' needs the model's depth, which is not known offline: close the range`,
      );
    const last = to ?? model!.depth - 1;
    if (last < from) throw new LayerIssue(`layer range ${from}..${to} runs backwards: write ${to}..${from}`);
    if (model && last >= model.depth)
      throw new LayerIssue(
        `cannot drop ${word} of layer ${Math.max(from, model.depth)}: ${model.name} has ${model.depth} layers (0..${model.depth - 1})`,
      );
    if (!model && last - from + 1 > MOST_LAYERS)
      throw new LayerIssue(
        `layer range ${from}..${to} names ${last - from + 1} layers, more than any model has (${MOST_LAYERS})`,
      );
    for (let i = from; i <= last; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The plan's sublayer drops: indices within the model and among the kept layers (when known),
 * on a family where a sublayer can go alone.
 */
export function resolveSublayers(
  request: SublayerRequest,
  model: { depth: number; config: FamilyConfig; name: string } | undefined,
  kept: readonly number[] | undefined,
): SublayerDrops {
  if (model) {
    const layout = sublayerLayout(model.config);
    if (typeof layout === 'string') throw new LayerIssue(`cannot drop sublayers of ${model.name}: ${layout}`);
  }
  const drops: SublayerDrops = {
    attention: expand(request.attention, model, 'attn'),
    mlp: expand(request.mlp, model, 'mlp'),
  };
  for (const part of ['attention', 'mlp'] as const) {
    const word = part === 'attention' ? 'the attention' : 'the MLP';
    for (const layer of drops[part]) {
      if (kept && !kept.includes(layer))
        throw new LayerIssue(
          `cannot drop ${word} of layer ${layer}: the cut does not keep it (it keeps ${kept.join(', ') || 'none'})`,
        );
    }
  }
  return drops;
}
