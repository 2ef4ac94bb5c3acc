/**
 * Notebook helpers for the tslab kernel (they print text instead outside one):
 *
 *   const results = await run(sweep)        live progress in the cell; finished runs reused
 *   show(results.paperTable())              an HTML table
 *   await plot(results.accuracyVsLayers())  Vega-Lite + an SVG fallback
 */
export { run } from './run.js';
export type { NotebookRunOptions } from './run.js';
export { RunResults } from './results.js';
export type { RunCounts } from './results.js';
export { show, plot, plotBundle, plotSummary, vegaLiteMimeTypes } from './show.js';
export { htmlTable, markdownTable, toDisplayTable, cellText } from './tables.js';
export type { ColumnTableLike, Showable, TableOptions } from './tables.js';
export { inKernel, kernelChannel, newDisplayId } from './kernel.js';
export type { KernelChannel, MimeBundle } from './kernel.js';
export { planTable } from './plan-table.js';
export { RunProgressBoard } from './progress.js';
export { lossChartSvg } from './loss-chart.js';
export type { LossChartOptions, LossSeries } from './loss-chart.js';
export { renderPng, renderSvg, svgToPng } from './render.js';
export type { PngOptions } from './render.js';
