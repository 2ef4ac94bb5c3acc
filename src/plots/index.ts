/**
 * Plots of stored runs: Vega-Lite specs (specs.ts) from plot records (plot-data.ts), rendered
 * to SVG or PNG without a browser (render.ts). `plotSpec` picks the builder by kind.
 */
import type { StoredRun } from '../results/store.js';
import { runRows } from '../results/rows.js';
import { curvePoints, runPoints, type CurveOptions } from './plot-data.js';
import {
  curvesSpec,
  layersSpec,
  methodsSpec,
  paramsSpec,
  type PlotKind,
  type PlotOptions,
  type PlotSpec,
} from './specs.js';

export * from './plot-data.js';
export * from './render.js';
export * from './specs.js';

/** The spec of a plot of `kind` over these runs (unfinished ones are left out). */
export function plotSpec(
  kind: PlotKind,
  runs: readonly StoredRun[],
  options: PlotOptions & CurveOptions = {},
): PlotSpec {
  switch (kind) {
    case 'layers':
      return layersSpec(runPoints(runRows(runs), options.metric), options);
    case 'params':
      return paramsSpec(runPoints(runRows(runs), options.metric), options);
    case 'methods':
      return methodsSpec(runPoints(runRows(runs), options.metric), options);
    case 'curves':
      return curvesSpec(curvePoints(runs, options), options);
  }
}
