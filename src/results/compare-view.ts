/**
 * Paired comparison of two conditions, e.g. method lm vs prompt-cls, or layers "first 2" vs
 * "all". Two runs pair when every setting but the compared one is the same — same task, seed,
 * data protocol, so the same splits — except settings that follow the compared one (each
 * method's own learning rate) and those the caller ignores; or exactly the settings of
 * `pairOn`. A run with two candidate partners is an error, never a guess. Per group of pairs
 * (each task, each layer count, …): the mean of each side, the mean difference a − b ± its
 * sample std, and a paired t-test. Pairs holding a diverged run are marked †.
 */
import * as aq from 'arquero';

import { LayercutError } from '../errors.js';
import { oneLine, percentMeanStd, pValue, signedPercentMeanStd, type DisplayTable } from './format.js';
import { followers } from './followers.js';
import { DIVERGED_MARK, type MetricName } from './paper-view.js';
import { cellMatches, compareValues, settingKeys, varyingSettings } from './rows.js';
import type { RunRow, SettingKey, SettingValue } from './rows.js';
import { mean, pairedTTest, sampleStd, type PairedTTest } from './stats.js';

export interface CompareOptions {
  /** The setting that differs between the two conditions. */
  setting: SettingKey;
  /** Its value in condition a and in condition b (as written on the command line). */
  a: string;
  b: string;
  metric?: MetricName;
  /** Settings two runs must share to pair (default: every setting but the compared one and its followers). */
  pairOn?: SettingKey[];
  /** Settings two runs need not share (added to the default's exceptions). */
  ignore?: SettingKey[];
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
  /** Pairs with a run whose loss exploded (either side). */
  diverged: number;
}

export interface CompareView {
  setting: SettingKey;
  a: string;
  b: string;
  metric: MetricName;
  /** Settings that split the pairs into groups. */
  groupKeys: SettingKey[];
  /** Settings two paired runs share. */
  pairOn: SettingKey[];
  groups: CompareGroup[];
  /** All pairs pooled; null when there is a single group. */
  overall: CompareGroup | null;
  /** Finished runs of either condition that found no partner. */
  unpaired: number;
  /** What was not required to match, and why. */
  notes: string[];
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
      const present = [...new Set(done.map((row) => shown(row[setting])))].join(', ') || 'none';
      throw new LayercutError(
        `no finished run has ${setting}=${label}`,
        `values of ${setting} among finished runs: ${present}`,
      );
    }
  }

  const { pairingKeys, notes } = pairingSettings(sideA, sideB, options);
  const pairKey = (row: RunRow): string => JSON.stringify(pairingKeys.map((key) => row[key]));
  const partners = new Map<string, RunRow[]>();
  for (const row of sideB) partners.set(pairKey(row), [...(partners.get(pairKey(row)) ?? []), row]);
  const taken = new Map<string, RunRow>();
  const pairs: [RunRow, RunRow][] = [];
  for (const row of sideA) {
    const candidates = partners.get(pairKey(row)) ?? [];
    if (candidates.length > 1) throw ambiguous(row, candidates, options);
    const partner = candidates[0];
    if (!partner) continue;
    const other = taken.get(partner.id);
    if (other) throw ambiguous(partner, [other, row], options);
    taken.set(partner.id, row);
    pairs.push([row, partner]);
  }
  const unpaired = sideA.length + sideB.length - 2 * pairs.length;
  if (pairs.length === 0) throw noPairs(sideA, sideB, pairingKeys, options);

  const pairedRows = pairs.flat();
  // keptLayers only repeats layers; it still orders the groups.
  const groupKeys = varyingSettings(pairedRows).filter(
    (key) => pairingKeys.includes(key) && key !== 'seed' && key !== 'keptLayers',
  );
  const table = aq.from(
    pairs.map(([ra, rb]) => ({
      group: JSON.stringify(groupKeys.map((key) => ra[key])),
      keptLayers: ra.keptLayers,
      a: ra[metric] as number,
      b: rb[metric] as number,
      diverged: ra.diverged !== null || rb.diverged !== null ? 1 : 0,
    })),
  );
  const groupsByKey = table
    .groupby('group')
    .rollup({
      a: aq.op.array_agg('a'),
      b: aq.op.array_agg('b'),
      keptLayers: aq.op.min('keptLayers'),
      diverged: aq.op.sum('diverged'),
    })
    .objects() as { group: string; a: number[]; b: number[]; keptLayers: number | null; diverged: number }[];
  const groups = groupsByKey.map(({ group, a: valuesA, b: valuesB, keptLayers, diverged }) => {
    const values = JSON.parse(group) as SettingValue[];
    return {
      keptLayers,
      ...summarise(
        Object.fromEntries(groupKeys.map((key, i) => [key, values[i]])),
        valuesA,
        valuesB,
        diverged,
      ),
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
          groups.reduce((sum, group) => sum + group.diverged, 0),
        )
      : null;
  return {
    setting,
    a,
    b,
    metric,
    groupKeys,
    pairOn: pairingKeys,
    groups: groups.map(({ keptLayers: _kept, ...group }) => group),
    overall,
    unpaired,
    notes,
  };
}

/**
 * The settings two runs must share to pair: `pairOn` as given, else every setting but the
 * compared one (with its twin), where the runs ran, the settings that follow the compared one
 * (a learning rate per method) and those in `ignore`.
 */
function pairingSettings(
  sideA: readonly RunRow[],
  sideB: readonly RunRow[],
  options: CompareOptions,
): { pairingKeys: SettingKey[]; notes: string[] } {
  const { setting } = options;
  for (const key of [...(options.pairOn ?? []), ...(options.ignore ?? [])]) {
    if (!(settingKeys as readonly string[]).includes(key))
      throw new LayercutError(
        `unknown setting '${key}' to pair on or ignore`,
        `use: ${settingKeys.join(', ')}`,
      );
  }
  if (options.pairOn) {
    const clash = options.pairOn.filter((key) => twins(setting).includes(key));
    if (clash.length)
      throw new LayercutError(
        `cannot pair on ${clash.join(', ')}: it is the compared setting`,
        `leave ${clash.join(', ')} out of --pair-on`,
      );
    return { pairingKeys: [...new Set(options.pairOn)], notes: [`pairs share ${options.pairOn.join(', ')}`] };
  }
  const following = [...followers([...sideA, ...sideB], [setting])].map(([key]) => key);
  const ignored = new Set<SettingKey>([
    ...twins(setting),
    'backend',
    ...following,
    ...(options.ignore ?? []),
  ]);
  const notes = [
    ...(following.length
      ? [
          `${following.join(', ')} follow${following.length === 1 ? 's' : ''} the ${setting}: not required to match`,
        ]
      : []),
    ...(options.ignore?.length ? [`not required to match (ignored): ${options.ignore.join(', ')}`] : []),
  ];
  return { pairingKeys: settingKeys.filter((key) => !ignored.has(key)), notes };
}

/** A run with several candidate partners: which settings tell them apart. */
function ambiguous(row: RunRow, candidates: readonly RunRow[], options: CompareOptions): LayercutError {
  const differing = settingKeys.filter(
    (key) => key !== 'backend' && new Set(candidates.map((c) => c[key])).size > 1,
  );
  const values = differing.map((key) => `${key} ${candidates.map((c) => shown(c[key])).join(' vs ')}`);
  return new LayercutError(
    `run ${row.id} (${options.setting}=${shown(row[options.setting])}) pairs with ${candidates.length} runs that differ only in ${values.join('; ') || 'settings not paired on'}`,
    differing.length
      ? `pair on them too (${options.pairOn ? `add ${differing.join(', ')} to --pair-on` : `take ${differing.join(', ')} out of --ignore`}), or --filter one value`
      : 'add settings to --pair-on',
  );
}

/** No run found a partner: which settings kept the closest two apart. */
function noPairs(
  sideA: readonly RunRow[],
  sideB: readonly RunRow[],
  pairingKeys: readonly SettingKey[],
  options: CompareOptions,
): LayercutError {
  const { setting, a, b } = options;
  let closest: { keys: SettingKey[]; ra: RunRow; rb: RunRow } | undefined;
  for (const ra of sideA) {
    for (const rb of sideB) {
      const keys = pairingKeys.filter((key) => ra[key] !== rb[key]);
      if (!closest || keys.length < closest.keys.length) closest = { keys, ra, rb };
    }
  }
  const differ = closest!.keys.map(
    (key) => `${key} ${shown(closest!.ra[key])} vs ${shown(closest!.rb[key])}`,
  );
  return new LayercutError(
    `no run with ${setting}=${a} has a partner with ${setting}=${b} and otherwise the same settings (the closest differ in ${differ.join('; ')})`,
    `a paired comparison needs both conditions run on the same tasks, seeds and settings; to pair across ${closest!.keys.join(', ')}, pass --ignore ${closest!.keys.join(',')} (or choose what must match with --pair-on)`,
  );
}

const shown = (value: SettingValue): string => (value === null ? '(none)' : oneLine(String(value)));

function summarise(
  key: Record<string, SettingValue>,
  a: number[],
  b: number[],
  diverged: number,
): CompareGroup {
  return {
    key,
    diverged,
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
    group.diverged ? `${group.test.n} ${DIVERGED_MARK}` : String(group.test.n),
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
  notes.push(...view.notes);
  const diverged = view.groups.reduce((sum, group) => sum + group.diverged, 0);
  if (diverged > 0)
    notes.push(
      `${DIVERGED_MARK} ${diverged} pair(s) hold a run that diverged (its training loss exploded): not to be trusted; layercut results --view runs shows which`,
    );
  return {
    headers,
    rows: rows.map((cells) => cells.map((text) => ({ text }))),
    numeric: headers.map((_, i) => i >= view.groupKeys.length),
    notes,
  };
}
