/**
 * Vega-Lite specs of layer measurements (src/select/):
 *
 *   similarityHeatmapSpec  angular distance (or cosine) between the states at every pair of
 *                          depths 0 … L (0: the embeddings) — Gromov et al.'s figure
 *   blockInfluenceSpec     a bar per layer: its block influence, bars of kept layers coloured
 *
 * Plain JSON like the specs of specs.ts; render.ts draws them as SVG or PNG.
 */
import { plotConfig, type PlotSpec } from './specs.js';

export interface LayerPlotOptions {
  title?: string;
  /** Plot size, in pixels. */
  width?: number;
  height?: number;
}

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Numbers in cells are drawn up to this many depths; beyond, the colours alone say it. */
const MAX_LABELLED_DEPTHS = 13;

/** A heatmap of `matrix[i][j]` between depths i and j ([L+1][L+1]). */
export function similarityHeatmapSpec(
  matrix: readonly (readonly number[])[],
  options: LayerPlotOptions & { measure?: 'angular' | 'cosine' } = {},
): PlotSpec {
  const measure = options.measure ?? 'angular';
  const values = matrix.flatMap((row, from) => row.map((value, to) => ({ from, to, value })));
  const depth = { type: 'ordinal', axis: { labelAngle: 0 } } as const;
  const colorTitle = measure === 'angular' ? 'Angular distance' : 'Cosine similarity';
  const layer: object[] = [
    {
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'to', title: 'Depth (0 = embeddings)', ...depth },
        y: { field: 'from', title: 'Depth', ...depth },
        color: {
          field: 'value',
          type: 'quantitative',
          title: colorTitle,
          // small distances (similar states) dark, as small cosines are
          scale: { scheme: 'viridis', reverse: measure === 'angular' },
        },
        tooltip: [
          { field: 'from', title: 'depth' },
          { field: 'to', title: 'depth' },
          { field: 'value', title: colorTitle, format: '.4f' },
        ],
      },
    },
  ];
  if (matrix.length <= MAX_LABELLED_DEPTHS) {
    // dark text on the light half of the colour scale, white on the dark half
    const all = values.map((v) => v.value);
    const middle = (Math.min(...all) + Math.max(...all)) / 2;
    const light = measure === 'angular' ? `datum.value < ${middle}` : `datum.value > ${middle}`;
    layer.push({
      mark: { type: 'text', fontSize: 9 },
      encoding: {
        x: { field: 'to', ...depth },
        y: { field: 'from', ...depth },
        text: { field: 'value', type: 'quantitative', format: '.2f' },
        color: { condition: { test: light, value: 'black' }, value: 'white' },
      },
    });
  }
  const side = Math.max(160, Math.min(560, matrix.length * 28));
  return {
    $schema: schema,
    title: {
      text:
        options.title ??
        (measure === 'angular' ? 'Angular distance between depths' : 'Cosine similarity between depths'),
    },
    config: plotConfig,
    data: { values },
    width: options.width ?? side,
    height: options.height ?? side,
    layer,
  };
}

/** Bars of block influence per layer (`layers`: their original indices, default 0 … L−1). */
export function blockInfluenceSpec(
  influence: readonly number[],
  options: LayerPlotOptions & { layers?: readonly number[]; kept?: readonly number[] } = {},
): PlotSpec {
  const layers = options.layers ?? influence.map((_, i) => i);
  const kept = options.kept ? new Set(options.kept) : undefined;
  const values = influence.map((value, i) => ({
    layer: layers[i]!,
    value,
    ...(kept ? { cut: kept.has(layers[i]!) ? 'kept' : 'dropped' } : {}),
  }));
  return {
    $schema: schema,
    title: { text: options.title ?? 'Block influence per layer' },
    config: plotConfig,
    data: { values },
    width: options.width ?? Math.max(200, Math.min(720, influence.length * 24)),
    height: options.height ?? 220,
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'layer', type: 'ordinal', title: 'Layer', axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: 'Block influence (1 − cos)' },
      ...(kept
        ? {
            color: {
              field: 'cut',
              type: 'nominal',
              title: 'Suggested cut',
              scale: { domain: ['kept', 'dropped'], range: ['#4c78a8', '#bab0ac'] },
            },
          }
        : { color: { value: '#4c78a8' } }),
      tooltip: [
        { field: 'layer', title: 'layer' },
        { field: 'value', title: 'influence', format: '.4f' },
      ],
    },
  };
}
