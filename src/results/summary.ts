/**
 * Conditions and their numbers: the finished runs grouped by every setting that differs between
 * them except the seed (and where they ran), followers merged (followers.ts), each group
 * summarised as mean, sample std, n, a 95 % confidence interval and the majority-class baseline.
 * The plots draw these, the summary view exports them (one tidy row per condition), and the
 * paper table's cells are the same summary.
 *
 *   confidence interval  n ≥ 2 runs: Student's t over the runs' values, mean ± t(0.975, n−1)·s/√n,
 *                        clipped to [0, 1]
 *                        one run: Wilson's score interval on its n test examples (accuracy only)
 */
import { mergeFollowers } from './followers.js';
import { oneLine, percent, type DisplayTable } from './format.js';
import type { MetricName } from './paper-view.js';
import {
  compareLayers,
  compareValues,
  varyingSettings,
  type RunRow,
  type SettingKey,
  type SettingValue,
} from './rows.js';
import { mean, sampleStd, tInterval, wilsonInterval, type Interval } from './stats.js';

/** How a confidence interval was computed: over seeds (t) or over one run's test examples (Wilson). */
export type IntervalMethod = 't' | 'wilson';

export interface MetricSummary {
  /** Fractions (0.85), not percent. */
  mean: number;
  /** Sample standard deviation over the runs; null for one run. */
  std: number | null;
  /** Runs summarised (seeds). */
  n: number;
  /** 95 % confidence interval of the mean; null where none can be given (one run, macro-F1). */
  ci: (Interval & { method: IntervalMethod }) | null;
  /** The majority-class baseline of the metric on the runs' test samples (their mean); null when unknown. */
  majority: number | null;
  /** Test examples per run (the smallest, if they differ); null when unknown. */
  testExamples: number | null;
  /** How many of the runs diverged (their loss exploded). */
  diverged: number;
}

/** The metric of finished runs, summarised (rows must be done and have the metric). */
export function summariseRuns(rows: readonly RunRow[], metric: MetricName): MetricSummary {
  const values = rows.map((row) => row[metric] as number);
  const std = sampleStd(values);
  const examples = rows.map((row) => row.testExamples).filter((n): n is number => n !== null);
  const testExamples = examples.length === rows.length && examples.length > 0 ? Math.min(...examples) : null;
  const baselines = rows
    .map((row) => (metric === 'accuracy' ? row.majorityAccuracy : row.majorityMacroF1))
    .filter((b): b is number => b !== null);
  let ci: MetricSummary['ci'] = null;
  if (values.length >= 2) {
    // accuracy and macro-F1 lie in [0, 1]: so does their interval
    const { low, high } = tInterval(values)!;
    ci = { low: Math.max(0, low), high: Math.min(1, high), method: 't' };
  } else if (values.length === 1 && metric === 'accuracy' && testExamples !== null)
    ci = { ...wilsonInterval(values[0]!, testExamples), method: 'wilson' };
  return {
    mean: mean(values),
    std,
    n: values.length,
    ci,
    majority: baselines.length === rows.length && baselines.length > 0 ? mean(baselines) : null,
    testExamples,
    diverged: rows.filter((row) => row.diverged !== null).length,
  };
}

/** One condition: the settings that tell it apart, and its runs summarised. */
export interface ConditionSummary extends MetricSummary {
  /** The grouping settings' values, e.g. { task: 'spam', layers: 'first 2', keptLayers: 2 }. */
  key: Record<string, SettingValue>;
  /** The runs' ids and seeds, in the order given. */
  ids: string[];
  seeds: number[];
  /** Kept layers, layers of the full model, and parameters of the cut model (of the first run). */
  keptLayers: number | null;
  layersFull: number | null;
  params: number | null;
  /** Layers a computed selection chose, when every run chose the same ("0,1,5,7"). */
  chosenLayers: string | null;
}

export interface Conditions {
  metric: MetricName;
  /** Settings that tell the conditions apart (every varying one but the seed and backend). */
  keys: SettingKey[];
  conditions: ConditionSummary[];
  /** Which settings follow which (merged into their leader). */
  notes: string[];
}

export interface ConditionOptions {
  metric?: MetricName;
  /** Settings that may lead followers (default: followers.ts's leaders). */
  leaders?: readonly SettingKey[];
  /** Settings always kept as keys, varying or not (e.g. those a plot draws on an axis). */
  alwaysKeys?: readonly SettingKey[];
}

/** Finished runs with the metric, grouped into conditions, in first-seen order. */
export function conditionSummaries(allRows: readonly RunRow[], options: ConditionOptions = {}): Conditions {
  const metric = options.metric ?? 'accuracy';
  const done = allRows.filter((row) => row.status === 'done' && row[metric] !== null);
  const { rows, notes } = options.leaders ? mergeFollowers(done, options.leaders) : mergeFollowers(done);
  const varying = varyingSettings(rows).filter((key) => key !== 'seed' && key !== 'backend');
  const keys = [...new Set([...(options.alwaysKeys ?? []), ...varying])];
  const groups = new Map<string, RunRow[]>();
  for (const row of rows) {
    const id = JSON.stringify(keys.map((key) => row[key]));
    groups.set(id, [...(groups.get(id) ?? []), row]);
  }
  const conditions = [...groups.values()].map((group): ConditionSummary => {
    const first = group[0]!;
    const chosen = new Set(group.map((row) => row.chosenLayers));
    return {
      key: Object.fromEntries(keys.map((key) => [key, first[key]])),
      ids: group.map((row) => row.id),
      seeds: group.map((row) => row.seed),
      keptLayers: first.keptLayers,
      layersFull: first.layersFull,
      params: first.params,
      chosenLayers: chosen.size === 1 ? first.chosenLayers : null,
      ...summariseRuns(group, metric),
    };
  });
  conditions.sort((x, y) => {
    for (const key of keys) {
      const order =
        key === 'layers'
          ? compareLayers(x.keptLayers, String(x.key.layers), y.keptLayers, String(y.key.layers))
          : compareValues(x.key[key] ?? null, y.key[key] ?? null);
      if (order !== 0) return order;
    }
    return 0;
  });
  return { metric, keys, conditions, notes };
}

/** Columns of the summary view after the conditions' settings. */
export const summaryColumns = [
  'metric',
  'mean',
  'std',
  'n',
  'ci_low',
  'ci_high',
  'ci_method',
  'majority',
  'test_examples',
  'diverged',
  'seeds',
] as const;

/**
 * The summary view: one row per condition, its settings then the numbers. `raw` (CSV): numbers
 * as numbers, fractions as fractions, empty where unknown — a tidy table for your own plots and
 * statistics. Otherwise (Markdown, LaTeX): percent with one decimal.
 */
export function summaryDisplay(view: Conditions, options: { raw?: boolean } = {}): DisplayTable {
  const raw = options.raw ?? false;
  const fraction = (value: number | null | undefined): string =>
    value === null || value === undefined ? '' : raw ? String(value) : percent(value);
  const headers = [...view.keys, ...summaryColumns];
  const rows = view.conditions.map((c) =>
    [
      ...view.keys.map((key) => {
        const value = c.key[key];
        return value === null || value === undefined ? '' : raw ? String(value) : oneLine(String(value));
      }),
      view.metric,
      fraction(c.mean),
      fraction(c.std),
      String(c.n),
      fraction(c.ci?.low),
      fraction(c.ci?.high),
      c.ci?.method ?? '',
      fraction(c.majority),
      c.testExamples === null ? '' : String(c.testExamples),
      String(c.diverged),
      c.seeds.join(' '),
    ].map((text) => ({ text })),
  );
  const numeric = headers.map(
    (h) => !['metric', 'ci_method', 'seeds'].includes(h) && !view.keys.includes(h as SettingKey),
  );
  const notes = raw
    ? undefined
    : [
        `${view.metric} in %; std: sample std over the seeds; ci: 95% confidence interval of the mean — t: Student's t over the seeds, wilson: Wilson's score interval on one run's test examples; majority: always answering the test sample's most frequent label`,
        ...view.notes,
      ];
  return { headers, rows, numeric, ...(notes ? { notes } : {}) };
}
