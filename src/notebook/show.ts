/**
 * `show(table)` and `plot(spec)`: results in a notebook cell, or as text outside one.
 *
 *   show  → text/html (a <table>) + text/plain (Markdown)
 *   plot  → the Vega-Lite MIME type (interactive in front ends that render it) + image/svg+xml
 *           (rendered here, headless: what saved notebooks, nbconvert and GitHub show) +
 *           text/plain. The Vega-Lite part goes out at once; the SVG follows in an update of
 *           the same output, so even an un-awaited `plot(spec)` ends up complete in a live
 *           front end. `await plot(spec)` keeps the cell running until the SVG is there.
 */
import type { PlotSpec } from '../plots/specs.js';
import { kernelChannel, newDisplayId, type MimeBundle } from './kernel.js';
import { renderSvg } from './render.js';
import { htmlTable, markdownTable, toDisplayTable, type Showable, type TableOptions } from './tables.js';

/** Shows a table: a results view (`results.paperTable()`), an arquero table, or an array of objects. */
export function show(table: Showable, options: TableOptions = {}): void {
  const display = toDisplayTable(table, options);
  const text = markdownTable(display);
  const channel = kernelChannel();
  if (channel) channel.display({ 'text/html': htmlTable(display), 'text/plain': text });
  else process.stdout.write(text);
}

/**
 * MIME types a Vega-Lite spec is sent under: that of the installed vega-lite's major version
 * (`version`, e.g. "6.4.3"), and v5 as well, which is what JupyterLab 4's built-in renderer
 * understands (the specs use nothing newer). A front end renders the first type it knows,
 * else the SVG.
 */
export function vegaLiteMimeTypes(version: string): string[] {
  const major = Number.parseInt(version, 10);
  return [...new Set([`application/vnd.vegalite.v${major}+json`, 'application/vnd.vegalite.v5+json'])];
}

/** vega-lite's version, imported when first needed (vega-lite cannot be `require`d: top-level await). */
async function installedVegaLiteVersion(): Promise<string> {
  return (await import('vega-lite')).version;
}

/** The plot's title, if it has one. */
function plotTitle(spec: PlotSpec): string | undefined {
  const title = spec['title'];
  if (typeof title === 'string') return title;
  if (title && typeof title === 'object' && typeof (title as { text?: unknown }).text === 'string')
    return (title as { text: string }).text;
  return undefined;
}

/** One line saying what the plot is: for consoles, and the text/plain part of the bundle. */
export function plotSummary(spec: PlotSpec): string {
  const values = (spec['data'] as { values?: unknown } | undefined)?.values;
  const points = Array.isArray(values) ? `, ${values.length} data points` : '';
  return `Vega-Lite plot: ${plotTitle(spec) ?? 'untitled'}${points}`;
}

/** The display bundle of a plot: the spec under the Vega-Lite MIME types, plus SVG and text when given. */
export function plotBundle(spec: PlotSpec, mimeTypes: readonly string[], svg?: string): MimeBundle {
  const bundle: MimeBundle = {};
  for (const mime of mimeTypes) bundle[mime] = spec;
  if (svg !== undefined) bundle['image/svg+xml'] = svg;
  bundle['text/plain'] = plotSummary(spec);
  return bundle;
}

/**
 * Shows a Vega-Lite plot (e.g. `results.accuracyVsLayers()`). Resolves once the SVG is in the
 * output; outside a notebook it prints the plot's one-line summary (save plots as files with
 * `renderSvg` / `renderPng` or `layercut plot`).
 */
export async function plot(spec: PlotSpec): Promise<void> {
  const channel = kernelChannel();
  if (!channel) {
    process.stdout.write(`${plotSummary(spec)}\n`);
    return;
  }
  const mimeTypes = vegaLiteMimeTypes(await installedVegaLiteVersion());
  const displayId = newDisplayId();
  channel.display(plotBundle(spec, mimeTypes), displayId);
  const svg = await renderSvg(spec);
  channel.update(plotBundle(spec, mimeTypes, svg), displayId);
}
