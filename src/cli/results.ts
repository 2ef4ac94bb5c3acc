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
import {
  filterRows,
  noRowsMatch,
  parseFilters,
  runRows,
  settingKeys,
  type SettingKey,
} from '../results/rows.js';
import { DEFAULT_DB_FILE, openStoreReadOnly } from '../results/store.js';

const usage = `usage: layercut results [options]

Shows the runs of a results store.

options:
  --db FILE              results store (default: ${DEFAULT_DB_FILE})
  --view VIEW            runs (default): one row per run
                         paper: rows = kept layers, columns = tasks, mean ± std over seeds,
                           a majority-class row
                         summary: one row per condition (settings but the seed) with mean,
                           std, n, 95% CI and majority baseline as numbers (tidy, with csv)
                         compare: paired comparison of two conditions (see --compare)
  --format FORMAT        md (default) | csv | tex | json
  --by SETTING           paper view: the setting spread over the columns (default: task)
  --ci                   paper view: each cell's 95% confidence interval [low, high]
                         (Student's t over seeds; Wilson's interval for one seed)
  --metric METRIC        accuracy (default) | macroF1
  --filter KEY=VALUE     keep runs whose KEY is VALUE; repeat it (same key: any value,
                         different keys: all), e.g. --filter model=gpt2-xl --filter method=lm;
                         text as the tables print it (a newline as \\n), layers also as
                         experiment files write them (--filter layers="last 4")
  --compare SETTING      compare view: the setting that differs, with --a VALUE --b VALUE,
                         e.g. --compare method --a lm --b prompt-cls
                              --compare layers --a "first 2" --b all
                         Two runs pair when all other settings match, except those that
                         follow SETTING (a learning rate per method)
  --ignore S1,S2         compare view: settings paired runs need not share (e.g. lr)
  --pair-on S1,S2        compare view: exactly the settings paired runs must share
                         (e.g. task,seed,layers)
  --out FILE             write to FILE instead of standard output

examples:
  layercut results --view paper --filter model=openai-community/gpt2-xl
  layercut results --format json > runs.json
  layercut results --view summary --format csv --out summary.csv
  layercut results --view compare --compare method --a lm --b prompt-cls --format tex`;

/** `--ignore lr,weightDecay` (repeatable): settings, checked. */
function settingList(option: string, values: readonly string[]): SettingKey[] {
  const keys = values
    .flatMap((value) => value.split(','))
    .map((key) => key.trim())
    .filter(Boolean);
  for (const key of keys) oneOf<SettingKey>(key, `--${option}`, settingKeys, 'task');
  return keys as SettingKey[];
}

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
    ignore: { type: 'string', multiple: true, default: [] },
    'pair-on': { type: 'string', multiple: true, default: [] },
    ci: { type: 'boolean', default: false },
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
      const pairOn = settingList('pair-on', values['pair-on']);
      compare = {
        setting: oneOf<SettingKey>(values.compare, '--compare', settingKeys, 'method'),
        a: values.a,
        b: values.b,
        ...(pairOn.length ? { pairOn } : {}),
        ignore: settingList('ignore', values.ignore),
      };
    } else if (values.ignore.length || values['pair-on'].length) {
      throw new LayercutError(
        '--ignore and --pair-on belong to the compare view',
        'add --compare SETTING --a VALUE --b VALUE',
      );
    }

    const store = openStoreReadOnly(values.db);
    let all;
    try {
      all = runRows(store.list());
    } finally {
      store.close();
    }
    const rows = filterRows(all, filter);
    if (rows.length === 0 && filter.size > 0) throw noRowsMatch(all, filter);
    if (rows.length === 0) console.error(`layercut results: no runs in ${values.db}`);
    const text = exportResults(rows, {
      view: compare ? 'compare' : view,
      format,
      metric,
      by,
      ci: values.ci,
      compare,
    });
    if (values.out) writeOutputFile('results', values.out, text);
    else process.stdout.write(text);
    return ExitCode.ok;
  },
});
