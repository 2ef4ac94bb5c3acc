/**
 * The syntax tree the layer-selection grammar (`layers.peggy`) produces. A selection says
 * which transformer layers a cut model keeps, by their original 0-based indices:
 *
 *   all            every layer
 *   first 2        the bottom 2 layers (0 and 1)
 *   first 2 + last 1   the bottom 2 and the top layer
 *   0..1           layers 0 to 1, both included
 *   0, 2, 5..7     a list of layers and ranges
 *   12..           layer 12 up to the last one
 *   drop 24..47    every layer except these
 *   drop attn 10..20       every layer, without the attention of layers 10..20 (`; drop mlp 3` adds more)
 *
 * Open ranges (`12..`), `first … + last …` and `drop` need the model's depth; `src/compile/layers.ts` resolves
 * them once config.json is known.
 */
import type { SourceSpan } from './template-ast.js';

export type { SourcePoint, SourceSpan } from './template-ast.js';

/** `from..to` (both included), `from..` (to the last layer: `to` is null) or one layer (`from` = `to`). */
export interface LayerRangeNode {
  from: number;
  to: number | null;
  location: SourceSpan;
}

/** `drop attn 10..20` / `drop mlp 3`: a sublayer of each of these layers goes. */
export interface SublayerDropNode {
  part: 'attention' | 'mlp';
  ranges: LayerRangeNode[];
  location: SourceSpan;
}

export type LayerSelectionNode = (
  | { type: 'all'; location: SourceSpan }
  | { type: 'first'; count: number; location: SourceSpan }
  /** The bottom `first` and the top `last` layers. */
  | { type: 'ends'; first: number; last: number; location: SourceSpan }
  | { type: 'keep'; ranges: LayerRangeNode[]; location: SourceSpan }
  | { type: 'drop'; ranges: LayerRangeNode[]; location: SourceSpan }
) & {
  /** Sublayer drops after the layer part (`first 12; drop attn 4..11`), when there are any. */
  sublayers?: SublayerDropNode[];
};
