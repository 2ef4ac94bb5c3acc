/**
 * One call from rows to text: pick a view (runs, paper, compare, summary) and a format (md,
 * csv, tex, json). The command line and notebooks both go through here.
 */
import { LayercutError } from '../errors.js';
import { compareDisplay, compareView, type CompareOptions } from './compare-view.js';
import { toCsv, toLatex, toMarkdown, type DisplayTable } from './format.js';
import { paperDisplay, paperView, type MetricName } from './paper-view.js';
import { conditionSummaries, summaryDisplay } from './summary.js';
import type { RunRow, SettingKey } from './rows.js';
import { runsCsvTable, runsDisplay, runsJson, runsView } from './runs-view.js';

export type ViewName = 'runs' | 'paper' | 'compare' | 'summary';
export const viewNames: readonly ViewName[] = ['runs', 'paper', 'compare', 'summary'];

export type FormatName = 'md' | 'csv' | 'tex' | 'json';
export const formatNames: readonly FormatName[] = ['md', 'csv', 'tex', 'json'];

export interface ExportOptions {
  view: ViewName;
  format: FormatName;
  metric?: MetricName;
  /** paper view: the setting spread over the columns (default 'task'). */
  by?: SettingKey;
  /** paper view: each cell's 95 % confidence interval after it. */
  ci?: boolean;
  /** compare view: what to compare. */
  compare?: Omit<CompareOptions, 'metric'>;
}

export function exportResults(rows: readonly RunRow[], options: ExportOptions): string {
  const { format, metric } = options;
  switch (options.view) {
    case 'runs': {
      const view = runsView(rows);
      if (format === 'json') return json(runsJson(view));
      return render(format === 'csv' ? runsCsvTable(view) : runsDisplay(view), format);
    }
    case 'paper': {
      const view = paperView(rows, { metric, columns: options.by });
      return format === 'json' ? json(view) : render(paperDisplay(view, { ci: options.ci }), format);
    }
    case 'summary': {
      const view = conditionSummaries(rows, { metric });
      if (format === 'json') return json(view);
      return render(summaryDisplay(view, { raw: format === 'csv' }), format);
    }
    case 'compare': {
      if (!options.compare) {
        throw new LayercutError(
          'the compare view needs two conditions',
          'pass --compare SETTING --a VALUE --b VALUE, e.g. --compare method --a lm --b prompt-cls',
        );
      }
      const view = compareView(rows, { ...options.compare, metric });
      return format === 'json' ? json(view) : render(compareDisplay(view), format);
    }
  }
}

function render(table: DisplayTable, format: Exclude<FormatName, 'json'>): string {
  switch (format) {
    case 'md':
      return toMarkdown(table);
    case 'csv':
      return toCsv(table);
    case 'tex':
      return toLatex(table);
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
