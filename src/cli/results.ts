/**
 * `layercut results`: prints the runs in a results store as a table — every run, the
 * paper-style mean ± std table, or a paired comparison of two conditions — in Markdown,
 * CSV, LaTeX or JSON.
 */
import { defineCommand, oneOf } from './options.js';
import { writeOutputFile } from './output.js';

import { ExitCode, LayercutError } from '../errors.js';
import { exportResults, formatNames, viewNames, type FormatName, type ViewName } from '../results/export.js';
import { metricNames, type MetricName } from '../results/paper-view.js';
import { filterRows, parseFilters, runRows, settingKeys, type SettingKey } from '../results/rows.js';
import { DEFAULT_DB_FILE, openStoreReadOnly } from '../results/store.js';

const usage = `usage: layercut results [options]

Shows the runs of a results store.

options:
  --db FILE              results store (default: ${DEFAULT_DB_FILE})
  --view VIEW            runs (default): one row per run
                         paper: rows = kept layers, columns = tasks, mean ± std over seeds
                         compare: paired comparison of two conditions (see --compare)
  --format FORMAT        md (default) | csv | tex | json
  --by SETTING           paper view: the setting spread over the columns (default: task)
  --metric METRIC        accuracy (default) | macroF1
  --filter KEY=VALUE     keep runs whose KEY is VALUE; repeat it (same key: any value,
                         different keys: all), e.g. --filter model=gpt2-xl --filter method=lm
  --compare SETTING      compare view: the setting that differs, with --a VALUE --b VALUE,
                         e.g. --compare method --a lm --b prompt-cls
                              --compare layers --a "first 2" --b all
  --out FILE             write to FILE instead of standard output

examples:
  layercut results --view paper --filter model=openai-community/gpt2-xl
  layercut results --format json > runs.json
  layercut results --view compare --compare method --a lm --b prompt-cls --format tex`;

export const resultsCommand = defineCommand('results', {
  usage,
  options: {
    db: { type: 'string', default: DEFAULT_DB_FILE },
    view: { type: 'string' },
    format: { type: 'string' },
    by: { type: 'string' },
    metric: { type: 'string' },
    filter: { type: 'string', multiple: true, default: [] },
    compare: { type: 'string' },
    a: { type: 'string' },
    b: { type: 'string' },
    out: { type: 'string' },
  },
  async run({ values }) {
    const view = oneOf<ViewName>(values.view, '--view', viewNames, 'runs');
    const format = oneOf<FormatName>(values.format, '--format', formatNames, 'md');
    const metric = oneOf<MetricName>(values.metric, '--metric', metricNames, 'accuracy');
    const by =
      values.by === undefined ? undefined : oneOf<SettingKey>(values.by, '--by', settingKeys, 'task');
    const filter = parseFilters(values.filter);

    let compare;
    if (view === 'compare' || values.compare !== undefined) {
      if (values.compare === undefined || values.a === undefined || values.b === undefined) {
        throw new LayercutError(
          'the compare view needs --compare SETTING --a VALUE --b VALUE',
          'e.g. --compare method --a lm --b prompt-cls',
        );
      }
      compare = {
        setting: oneOf<SettingKey>(values.compare, '--compare', settingKeys, 'method'),
        a: values.a,
        b: values.b,
      };
    }

    const store = openStoreReadOnly(values.db);
    let rows;
    try {
      rows = filterRows(runRows(store.list()), filter);
    } finally {
      store.close();
    }
    if (rows.length === 0)
      console.error(`layercut results: no runs in ${values.db}${filter.size ? ' match the filters' : ''}`);
    const text = exportResults(rows, { view: compare ? 'compare' : view, format, metric, by, compare });
    if (values.out) writeOutputFile('results', values.out, text);
    else process.stdout.write(text);
    return ExitCode.ok;
  },
});
