/**
 * Paired comparison of two conditions, e.g. method lm vs prompt-cls, or layers "first 2" vs
 * "all". Two runs pair when every setting but the compared one is the same — same task, seed,
 * data protocol, so the same splits. Per group of pairs (each task, each layer count, …):
 * the mean of each side, the mean difference a − b ± its sample std, and a paired t-test.
 */
import * as aq from 'arquero';

import { LayercutError } from '../errors.js';
import { percentMeanStd, pValue, signedPercentMeanStd, type DisplayTable } from './format.js';
import { compareValues, type MetricName } from './paper-view.js';
import {
  cellMatches,
  settingKeys,
  varyingSettings,
  type RunRow,
  type SettingKey,
  type SettingValue,
} from './rows.js';
import { mean, pairedTTest, sampleStd, type PairedTTest } from './stats.js';

export interface CompareOptions {
  /** The setting that differs between the two conditions. */
  setting: SettingKey;
  /** Its value in condition a and in condition b (as written on the command line). */
  a: string;
  b: string;
  metric?: MetricName;
}

export interface CompareGroup {
  /** The group's settings, e.g. { task: 'sst2' }; empty for the pooled row. */
  key: Record<string, SettingValue>;
  /** Fractions. */
  meanA: number;
  stdA: number | null;
  meanB: number;
  stdB: number | null;
  /** Differences a − b (fractions) and the paired t-test on them. */
  test: PairedTTest;
}

export interface CompareView {
  setting: SettingKey;
  a: string;
  b: string;
  metric: MetricName;
  /** Settings that split the pairs into groups. */
  groupKeys: SettingKey[];
  groups: CompareGroup[];
  /** All pairs pooled; null when there is a single group. */
  overall: CompareGroup | null;
  /** Finished runs of either condition that found no partner. */
  unpaired: number;
}

/** Settings tied to the compared one (layers and keptLayers say the same thing). */
function twins(setting: SettingKey): SettingKey[] {
  return setting === 'layers' || setting === 'keptLayers' ? ['layers', 'keptLayers'] : [setting];
}

export function compareView(allRows: readonly RunRow[], options: CompareOptions): CompareView {
  const metric = options.metric ?? 'accuracy';
  const { setting, a, b } = options;
  if (!(settingKeys as readonly string[]).includes(setting)) {
    throw new LayercutError(`cannot compare on '${setting}'`, `use a setting: ${settingKeys.join(', ')}`);
  }
  const done = allRows.filter((row) => row.status === 'done' && row[metric] !== null);
  const sideA = done.filter((row) => cellMatches(row[setting], a));
  const sideB = done.filter((row) => cellMatches(row[setting], b));
  for (const [label, side] of [
    [a, sideA],
    [b, sideB],
  ] as const) {
    if (side.length === 0) {
      const present = [...new Set(done.map((row) => String(row[setting])))].join(', ') || 'none';
      throw new LayercutError(
        `no finished run has ${setting}=${label}`,
        `values of ${setting} among finished runs: ${present}`,
      );
    }
  }

  // Everything but the compared setting (and where it ran) must match for two runs to pair.
  const ignored = new Set<SettingKey>([...twins(setting), 'backend']);
  const pairingKeys = settingKeys.filter((key) => !ignored.has(key));
  const pairKey = (row: RunRow): string => JSON.stringify(pairingKeys.map((key) => row[key]));
  const partners = new Map<string, RunRow[]>();
  for (const row of sideB) partners.set(pairKey(row), [...(partners.get(pairKey(row)) ?? []), row]);
  const pairs: [RunRow, RunRow][] = [];
  for (const row of sideA) {
    const candidates = partners.get(pairKey(row));
    const partner = candidates?.shift();
    if (partner) pairs.push([row, partner]);
  }
  const unpaired = sideA.length + sideB.length - 2 * pairs.length;
  if (pairs.length === 0) {
    throw new LayercutError(
      `no run with ${setting}=${a} has a partner with ${setting}=${b} and otherwise the same settings`,
      'a paired comparison needs both conditions run on the same tasks, seeds and settings',
    );
  }

  const pairedRows = pairs.flat();
  // keptLayers only repeats layers; it still orders the groups.
  const groupKeys = varyingSettings(pairedRows).filter(
    (key) => !ignored.has(key) && key !== 'seed' && key !== 'keptLayers',
  );
  const table = aq.from(
    pairs.map(([ra, rb]) => ({
      group: JSON.stringify(groupKeys.map((key) => ra[key])),
      keptLayers: ra.keptLayers,
      a: ra[metric] as number,
      b: rb[metric] as number,
    })),
  );
  const groupsByKey = table
    .groupby('group')
    .rollup({ a: aq.op.array_agg('a'), b: aq.op.array_agg('b'), keptLayers: aq.op.min('keptLayers') })
    .objects() as { group: string; a: number[]; b: number[]; keptLayers: number | null }[];
  const groups = groupsByKey.map(({ group, a: valuesA, b: valuesB, keptLayers }) => {
    const values = JSON.parse(group) as SettingValue[];
    return {
      keptLayers,
      ...summarise(Object.fromEntries(groupKeys.map((key, i) => [key, values[i]])), valuesA, valuesB),
    };
  });
  groups.sort((x, y) => {
    for (const key of groupKeys) {
      const order =
        key === 'layers'
          ? compareValues(x.keptLayers, y.keptLayers) || compareValues(x.key[key], y.key[key])
          : compareValues(x.key[key], y.key[key]);
      if (order !== 0) return order;
    }
    return 0;
  });
  const overall =
    groups.length > 1
      ? summarise(
          {},
          pairs.map(([ra]) => ra[metric] as number),
          pairs.map(([, rb]) => rb[metric] as number),
        )
      : null;
  return {
    setting,
    a,
    b,
    metric,
    groupKeys,
    groups: groups.map(({ keptLayers: _kept, ...group }) => group),
    overall,
    unpaired,
  };
}

function summarise(key: Record<string, SettingValue>, a: number[], b: number[]): CompareGroup {
  return {
    key,
    meanA: mean(a),
    stdA: sampleStd(a),
    meanB: mean(b),
    stdB: sampleStd(b),
    test: pairedTTest(a, b),
  };
}

export function compareDisplay(view: CompareView): DisplayTable {
  const headers = [
    ...view.groupKeys,
    'pairs',
    `${view.setting}=${view.a}`,
    `${view.setting}=${view.b}`,
    'Δ (a - b)',
    't',
    'p',
  ];
  const line = (group: CompareGroup, label: string[]): string[] => [
    ...label,
    String(group.test.n),
    percentMeanStd(group.meanA, group.stdA),
    percentMeanStd(group.meanB, group.stdB),
    signedPercentMeanStd(group.test.meanDiff, group.test.stdDiff),
    group.test.t === null
      ? '–'
      : Number.isFinite(group.test.t)
        ? group.test.t.toFixed(2)
        : group.test.t > 0
          ? '∞'
          : '-∞',
    pValue(group.test.p),
  ];
  const rows = view.groups.map((group) =>
    line(
      group,
      view.groupKeys.map((key) => String(group.key[key] ?? '')),
    ),
  );
  if (view.overall) {
    rows.push(
      line(
        view.overall,
        view.groupKeys.map((_, i) => (i === 0 ? 'all pairs' : '')),
      ),
    );
  }
  const metricText = view.metric === 'accuracy' ? 'accuracy' : 'macro-F1';
  const notes = [
    `${metricText} in %, mean ± sample std; Δ = (${view.setting}=${view.a}) - (${view.setting}=${view.b}) per pair; p: two-sided paired t-test`,
  ];
  if (view.unpaired > 0) notes.push(`${view.unpaired} finished run(s) had no partner and are left out`);
  return {
    headers,
    rows: rows.map((cells) => cells.map((text) => ({ text }))),
    numeric: headers.map((_, i) => i >= view.groupKeys.length),
    notes,
  };
}
