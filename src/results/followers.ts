/**
 * Settings that follow another: each task's own template and label words, a learning rate per
 * method. Such a setting differs only because a compared one does, so it is no condition of its
 * own: the paper table, the plots and the paired comparison treat it as part of its leader (one
 * behaviour for the command line and notebooks, all through `followers` / `mergeFollowers`).
 */
import { settingKeys, type RunRow, type SettingKey } from './rows.js';

/** Settings that say what is compared, and so may lead others. */
export const leaderKeys: readonly SettingKey[] = ['model', 'task', 'method', 'layers'];
/** Never merged: what the views lay out themselves. */
const laidOutKeys: readonly SettingKey[] = [
  'model',
  'task',
  'method',
  'layers',
  'keptLayers',
  'seed',
  'backend',
];

/**
 * Each setting that varies between `rows` but takes one value per value of a leader in `by`,
 * with that leader (the first in `by` that determines it).
 */
export function followers(
  rows: readonly RunRow[],
  by: readonly SettingKey[] = leaderKeys,
): Map<SettingKey, SettingKey> {
  const found = new Map<SettingKey, SettingKey>();
  for (const key of settingKeys) {
    if (laidOutKeys.includes(key) || by.includes(key)) continue;
    if (new Set(rows.map((row) => row[key])).size < 2) continue;
    const leader = by.find((lead) => {
      const seen = new Map<unknown, unknown>();
      return rows.every((row) => {
        if (seen.has(row[lead]) && seen.get(row[lead]) !== row[key]) return false;
        seen.set(row[lead], row[key]);
        return true;
      });
    });
    if (leader) found.set(key, leader);
  }
  return found;
}

export interface MergedRows {
  rows: RunRow[];
  /** "template, labelWords follow the task" — one line per leader that others follow. */
  notes: string[];
}

/**
 * Rows where each follower (see `followers`) is set to one placeholder, "per method": views then
 * show one condition per depth rather than one per template or learning rate. A sweep over tasks
 * with their default templates is a table with a row per depth and a column per task.
 */
export function mergeFollowers(rows: readonly RunRow[], by: readonly SettingKey[] = leaderKeys): MergedRows {
  const found = followers(rows, by);
  if (found.size === 0) return { rows: [...rows], notes: [] };
  const merged = rows.map((row) => {
    const copy: RunRow = { ...row };
    for (const [key, leader] of found) (copy as unknown as Record<string, unknown>)[key] = `per ${leader}`;
    return copy;
  });
  return { rows: merged, notes: followerNotes(found) };
}

/** "lr follows the method (each run's value: --view runs)". */
export function followerNotes(found: ReadonlyMap<SettingKey, SettingKey>): string[] {
  return [...new Set(found.values())].map((leader) => {
    const keys = [...found].filter(([, l]) => l === leader).map(([key]) => key);
    return `${keys.join(', ')} follow${keys.length === 1 ? 's' : ''} the ${leader} (each run's value: the runs view)`;
  });
}
