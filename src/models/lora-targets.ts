/**
 * Which projections LoRA adapters go on (src/models/lora.ts), without tensors: the compiler checks
 * targets against a model's family with these before anything loads.
 */
import type { LoraSpec } from '../plan/types.js';
import type { FamilyConfig, ModelFamily } from './types.js';

/** The projections of one layer, as paths inside it ('attn.c_attn', 'mlp.c_proj'): its 2-D weights. */
export function layerProjections(family: ModelFamily, config: FamilyConfig): string[] {
  const prefix = family.layerPrefix(0);
  return [...family.expectedTensors(config, [0])]
    .filter(([name, shape]) => name.startsWith(prefix) && name.endsWith('.weight') && shape.length === 2)
    .map(([name]) => name.slice(prefix.length, -'.weight'.length));
}

/** PEFT's rule: a target matches a module whose path is the target or ends with '.' + target. */
export function matchesTarget(modulePath: string, target: string): boolean {
  return modulePath === target || modulePath.endsWith(`.${target}`);
}

/** The projections `targets` select, and the targets that select none. */
export function selectProjections(
  projections: readonly string[],
  targets: LoraSpec['targets'],
): { selected: string[]; unmatched: string[] } {
  if (targets === 'all') return { selected: [...projections], unmatched: [] };
  return {
    selected: projections.filter((p) => targets.some((t) => matchesTarget(p, t))),
    unmatched: targets.filter((t) => !projections.some((p) => matchesTarget(p, t))),
  };
}

/** Families whose checkpoints store projections as [in, out] (transformers' Conv1D; PEFT's fan_in_fan_out). */
const IN_OUT_FAMILIES = new Set(['gpt2']);

/** How a family stores a projection's weight: [in, out] (Conv1D) or [out, in] (nn.Linear). */
export function weightLayout(modelType: string): 'in-out' | 'out-in' {
  return IN_OUT_FAMILIES.has(modelType) ? 'in-out' : 'out-in';
}
