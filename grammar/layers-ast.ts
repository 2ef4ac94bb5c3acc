/**
 * What the layer-selection grammar (`layers.peggy`) produces: a layer request, the selection as
 * written, before the model's depth is applied. Layer text says which transformer layers a cut
 * model keeps, by their original 0-based indices:
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
 * The compiler reads the DSL's builders into the same request (src/compile/layers.ts, which
 * adds computed selections) and resolves it against the depth into the plan's LayerSelection
 * (src/models/selection.ts: the model of a layer selection) and the kept layers' indices.
 * Open ranges (`12..`), `first … + last …` and `drop` need the model's depth.
 */

/** `from..to` (both included), `from..` (to the last layer: `to` is null) or one layer (`from` = `to`). */
export interface LayerRange {
  from: number;
  to: number | null;
}

/** A selection as layer text writes it, before the depth is applied. */
export type TextLayerRequest =
  | { kind: 'all' }
  | { kind: 'first'; count: number }
  | { kind: 'keep'; ranges: LayerRange[] }
  | { kind: 'drop'; ranges: LayerRange[] }
  /** The bottom `first` and the top `last` layers. */
  | { kind: 'ends'; first: number; last: number };

/** `drop attn 10..20; drop mlp 3`: the attention or MLP sublayer of each of these layers goes. */
export interface SublayerRequest {
  attention: LayerRange[];
  mlp: LayerRange[];
}

/** The grammar's result: the layer part, and the sublayer drops after it when there are any. */
export type LayerSelectionNode = TextLayerRequest & { sublayers?: SublayerRequest };
