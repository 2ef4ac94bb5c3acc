/**
 * How the healing settings of a plan read in listings and result tables (one definition for
 * `layercut plan` and the results rows): 'none' / 'lora r8 a8', 'none' / 'linear (64 examples)',
 * 'none' / 'attn 1,3; mlp 0'.
 */
import type { LoraSpec, ReplacementSpec } from './options.js';
import type { SublayerDrops } from './types.js';

/** 'none' (every weight trains), else 'lora r8 a16' (and the targets when not every projection). */
export function adapterLabel(adapters: LoraSpec | undefined): string {
  if (!adapters) return 'none';
  const targets = adapters.targets === 'all' ? '' : ` ${adapters.targets.join('+')}`;
  const dropout = adapters.dropout ? ` drop ${adapters.dropout}` : '';
  return `lora r${adapters.rank} a${adapters.alpha}${targets}${dropout}`;
}

/** 'none', 'linear (64 examples)', 'mlp h0 500 steps (64 examples)'. */
export function replacementLabel(replace: ReplacementSpec | undefined): string {
  if (!replace) return 'none';
  const mlp =
    replace.fit === 'mlp' ? ` h${replace.hidden || 'D'} ${replace.steps} steps lr ${replace.lr}` : '';
  return `${replace.fit}${mlp} (${replace.calibration} examples)`;
}

/** 'none', or 'attn 1,3; mlp 0'. */
export function sublayerLabel(drops: SublayerDrops | undefined): string {
  if (!drops) return 'none';
  const parts = [];
  if (drops.attention.length) parts.push(`attn ${drops.attention.join(',')}`);
  if (drops.mlp.length) parts.push(`mlp ${drops.mlp.join(',')}`);
  return parts.join('; ') || 'none';
}
