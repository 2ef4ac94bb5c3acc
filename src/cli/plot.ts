/**
 * `layercut plot`: draws the runs of a results store — accuracy vs kept layers, accuracy vs
 * parameters, training curves, or a comparison of methods — as SVG, PNG or a Vega-Lite spec.
 */
import { defineCommand, oneOf, positiveNumber } from './options.js';
import { writeOutputFile } from './output.js';
import path from 'node:path';

import { ExitCode, LayercutError } from '../errors.js';
import { plotKinds, plotSpec, renderSvg, svgToPng } from '../plots/index.js';
import { filterRows, noRowsMatch, parseFilters, runRows } from '../results/rows.js';
import { DEFAULT_DB_FILE, openStoreReadOnly } from '../results/store.js';

const usage = `usage: layercut plot [options]

Draws the finished runs of a results store.

options:
  --db FILE              results store (default: ${DEFAULT_DB_FILE})
  --kind KIND            layers (default): accuracy vs kept layers, a line per task (per
                           kind of layer selection where not all are the bottom k)
                         params: accuracy vs parameter count (log scale)
                         curves: training loss vs step, a line per run (see --color-by)
                         methods: bars per layer selection, one per method, a panel per task
                         Accuracy plots show the mean over seeds, a ± 1 std band (n ≥ 2) or
                         the 95% Wilson interval (1 seed), and the majority class dashed;
                         anything else that varies gets panels of its own
  --out FILE             .svg, .png or .json (the Vega-Lite spec); default: SVG to standard output
  --filter KEY=VALUE     keep runs whose KEY is VALUE (repeatable; see layercut results --help)
  --metric METRIC        accuracy (default) | macroF1
  --color-by SETTING     layers, params: colour lines by SETTING (e.g. method: methods overlaid
                           in one panel) or by selection; curves: one line per value of
                           SETTING (mean over seeds), e.g. layers
  --title TEXT           plot title
  --width N, --height N  size of one panel in pixels (default 320 × 220)
  --scale N              PNG pixels per SVG pixel (default 2)

examples:
  layercut plot --kind layers --filter model=openai-community/gpt2-xl --out layers.png
  layercut plot --kind layers --color-by method --out methods-by-depth.png
  layercut plot --kind curves --filter task=sst2 --color-by layers --out curves.svg`;

export const plotCommand = defineCommand('plot', {
  usage,
  options: {
    db: { type: 'string', default: DEFAULT_DB_FILE },
    kind: { type: 'string', default: 'layers' },
    out: { type: 'string' },
    filter: { type: 'string', multiple: true, default: [] },
    metric: { type: 'string', default: 'accuracy' },
    'color-by': { type: 'string' },
    title: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    scale: { type: 'string' },
  },
  async run({ values }) {
    const kind = oneOf(values.kind, '--kind', plotKinds, 'layers');
    if (values.metric !== 'accuracy' && values.metric !== 'macroF1') {
      throw new LayercutError(`--metric must be accuracy or macroF1; got '${values.metric}'`);
    }
    const colorBy = values['color-by'];
    const extension = values.out === undefined ? '.svg' : path.extname(values.out).toLowerCase();
    if (!['.svg', '.png', '.json'].includes(extension)) {
      throw new LayercutError(
        `cannot write a plot to '${values.out}'`,
        'name the --out file .svg, .png or .json',
      );
    }
    const filter = parseFilters(values.filter);

    const store = openStoreReadOnly(values.db);
    let runs;
    try {
      runs = store.list({ status: 'done' });
    } finally {
      store.close();
    }
    const all = runRows(runs);
    const kept = new Set(filterRows(all, filter).map((row) => row.id));
    if (kept.size === 0 && filter.size > 0) throw noRowsMatch(all, filter, 'finished runs');
    const spec = plotSpec(
      kind,
      runs.filter((run) => kept.has(run.id)),
      {
        metric: values.metric,
        title: values.title,
        width: positiveNumber(values.width, '--width'),
        height: positiveNumber(values.height, '--height'),
        colorBy,
      },
    );
    if (extension === '.json') {
      writeOutputFile('plot', values.out!, `${JSON.stringify(spec, null, 2)}\n`);
      return ExitCode.ok;
    }
    const svg = await renderSvg(spec);
    if (values.out === undefined) process.stdout.write(svg);
    else if (extension === '.svg') writeOutputFile('plot', values.out, svg);
    else
      writeOutputFile(
        'plot',
        values.out,
        await svgToPng(svg, { scale: positiveNumber(values.scale, '--scale') }),
      );
    return ExitCode.ok;
  },
});
