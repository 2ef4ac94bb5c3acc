/**
 * Plots of stored runs: Vega-Lite specs (specs.ts) from plot records (plot-data.ts), laid out
 * by layout.ts, rendered to SVG or PNG without a browser (render.ts). `plotSpec` picks the
 * builder by kind.
 */
import { LayercutError } from '../errors.js';
import type { StoredRun } from '../results/store.js';
import { runRows } from '../results/rows.js';
import { curvePoints, plotPoints, type CurveOptions } from './plot-data.js';
import {
  curvesSpec,
  layersSpec,
  methodsSpec,
  paramsSpec,
  type AccuracyPlotOptions,
  type PlotKind,
  type PlotSpec,
} from './specs.js';
import { colorKey } from './layout.js';

export * from './layout.js';
export * from './plot-data.js';
export * from './render.js';
export * from './specs.js';

export interface PlotSpecOptions extends Omit<AccuracyPlotOptions, 'colorBy'>, Omit<CurveOptions, 'colorBy'> {
  /** curves: 'run' or a setting; layers, params: a setting or 'selection'; methods: only 'method'. */
  colorBy?: string;
}

/** The spec of a plot of `kind` over these runs (unfinished ones are left out). */
export function plotSpec(
  kind: PlotKind,
  runs: readonly StoredRun[],
  options: PlotSpecOptions = {},
): PlotSpec {
  const { colorBy, ...rest } = options;
  switch (kind) {
    case 'layers':
    case 'params': {
      if (colorBy === 'run')
        throw new LayercutError(
          `--color-by run is for --kind curves`,
          'colour accuracy plots by a setting or selection',
        );
      const points = plotPoints(runRows(runs), options.metric);
      const color = colorBy === undefined ? {} : { colorBy: colorKey(colorBy) };
      return kind === 'layers'
        ? layersSpec(points, { ...rest, ...color })
        : paramsSpec(points, { ...rest, ...color });
    }
    case 'methods':
      if (colorBy !== undefined && colorBy !== 'method')
        throw new LayercutError(
          `--kind methods colours bars by method, not by '${colorBy}'`,
          `for lines coloured by ${colorBy}, use --kind layers --color-by ${colorBy}`,
        );
      return methodsSpec(plotPoints(runRows(runs), options.metric), rest);
    case 'curves': {
      if (colorBy !== undefined && colorBy !== 'run') colorKey(colorBy);
      if (colorBy === 'selection')
        throw new LayercutError('curves are coloured by run or a setting', 'use --color-by layers');
      return curvesSpec(
        curvePoints(runs, { ...rest, ...(colorBy ? { colorBy: colorBy as CurveOptions['colorBy'] } : {}) }),
        rest,
      );
    }
  }
}
