/**
 * The plot renderers of src/plots/render.ts, loaded on first use. vega and vega-lite use
 * top-level await (vega-canvas probes for the optional `canvas` package), and Node cannot
 * `require` an ES module graph that does: importing them statically would break
 * `require('layercut')`, which is how tslab loads packages into notebook cells.
 */
import type { PngOptions } from '../plots/render.js';
import type { PlotSpec } from '../plots/specs.js';

export type { PngOptions } from '../plots/render.js';

/** SVG text of a Vega-Lite spec. */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  return (await import('../plots/render.js')).renderSvg(spec);
}

/** PNG bytes of a Vega-Lite spec (needs a font on the system, or `fontFiles`). */
export async function renderPng(spec: PlotSpec, options: PngOptions = {}): Promise<Buffer> {
  return (await import('../plots/render.js')).renderPng(spec, options);
}

/** PNG bytes of an SVG image. */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  return (await import('../plots/render.js')).svgToPng(svg, options);
}
