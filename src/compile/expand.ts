/**
 * Sweep expansion: a run set (experiment, override, sweep, concatenation) → drafts, one per
 * run, in order. A draft holds the run's options as written (defaults not yet filled in) and,
 * for each option, the path in the exported value it came from — so that a problem found
 * later points at the property that caused it.
 *
 * Order: a sweep's axes vary with the first axis outermost; `grid(a, b)` crosses a (outer)
 * with b; `zip` pairs its parts' values index by index; `concat` lists its items in turn;
 * `sample(n, axes, { seed })` keeps n points of its grid, drawn from the seed, in grid order.
 * Function axes see the run as chosen so far (the base and the axes before them).
 */
import { resolveDepthList } from '../../dsl/layers.js';
import { randomStream } from '../data/random.js';
import type { ModelFacts } from '../../dsl/sweep.js';
import { shortcutAxes, type ShortcutAxis } from '../plan/derived.js';
import { dataOptions, trainOptions } from '../plan/options.js';
import type { CompileIssue, ValuePath } from './issues.js';
import type { ModelCatalog } from './model-info.js';
import { isRecord, isRunSet, show } from './shape.js';

/** One run's options as written, and where each came from. */
export interface Draft {
  /** Experiment options: model, layers, task, method, prompt, words, data, train, seed, backend. */
  settings: Record<string, unknown>;
  /** Option key ('layers', 'train.optimizer.lr', …) → path of the value that set it. */
  origins: Record<string, ValuePath>;
}

/** Top-level options of an experiment that a sweep can vary. */
const settingKeys = [
  'model',
  'layers',
  'task',
  'method',
  'prompt',
  'words',
  'data',
  'train',
  'seed',
  'backend',
] as const;

/** Labels: experiment options that are no axis (a sweep names and tags its runs with its own). */
const labelKeys = ['name', 'tags'] as const;

/** Top-level options of an experiment. */
export const optionKeys: readonly string[] = [...settingKeys, ...labelKeys];

/** Axes that set an option inside `train` or `data` (`lr`, `epochs`, …), declared with the option (src/plan/options.ts). */
export const shortcuts: readonly ShortcutAxis[] = shortcutAxes({ train: trainOptions, data: dataOptions });

const shortcutByName = new Map(shortcuts.map((axis) => [axis.name, axis]));

/** Every experiment option but the labels, then the shortcuts. */
export const axisNames: readonly string[] = [...settingKeys, ...shortcuts.map((axis) => axis.name)];

export interface ExpandContext {
  catalog: ModelCatalog;
  /** Issues found while expanding are pushed here. */
  issues: CompileIssue[];
  exportName?: string;
}

/** Records the origin of `value` set at option key `key` and of its sub-options (records only). */
function recordOrigins(
  origins: Record<string, ValuePath>,
  key: string,
  value: unknown,
  path: ValuePath,
  depthLeft = 2,
): void {
  origins[key] = path;
  for (const other of Object.keys(origins)) {
    if (other.startsWith(`${key}.`)) delete origins[other];
  }
  if (depthLeft > 0 && isRecord(value)) {
    for (const [sub, subValue] of Object.entries(value))
      recordOrigins(origins, `${key}.${sub}`, subValue, [...path, sub], depthLeft - 1);
  }
}

function cloneDraft(draft: Draft): Draft {
  return { settings: { ...draft.settings }, origins: { ...draft.origins } };
}

/**
 * Sets `value` at the option path `where` (merging into train/data), remembering its origin.
 * Options objects on the way that the run does not set yet start as `blanks` says (a shortcut
 * axis's: lr's optimizer is { kind: 'adamw' }, the paper's, when none is set).
 */
function setAt(
  draft: Draft,
  where: readonly string[],
  value: unknown,
  path: ValuePath,
  blanks: readonly Record<string, unknown>[] = [],
): void {
  const [top, ...rest] = where as [string, ...string[]];
  if (rest.length === 0) {
    if ((top === 'train' || top === 'data') && isRecord(value) && isRecord(draft.settings[top])) {
      // train and data merge option by option
      draft.settings[top] = { ...(draft.settings[top] as Record<string, unknown>), ...value };
      for (const [sub, subValue] of Object.entries(value))
        recordOrigins(draft.origins, `${top}.${sub}`, subValue, [...path, sub], 1);
    } else {
      draft.settings[top] = value;
      recordOrigins(draft.origins, top, value, path);
    }
    return;
  }
  const within = (holder: unknown, keys: readonly string[], depth: number): Record<string, unknown> => {
    const copy = isRecord(holder) ? { ...holder } : { ...blanks[depth] };
    const [key, ...more] = keys as [string, ...string[]];
    copy[key] = more.length === 0 ? value : within(copy[key], more, depth + 1);
    return copy;
  };
  draft.settings[top] = within(draft.settings[top], rest, 0);
  recordOrigins(draft.origins, where.join('.'), value, path, 1);
}

/** Applies experiment options (an experiment's or an override's) to a draft. */
function applyOptions(
  draft: Draft,
  options: unknown,
  path: ValuePath,
  ctx: ExpandContext,
): Draft | undefined {
  if (!isRecord(options)) {
    ctx.issues.push({
      severity: 'error',
      message: `experiment options must be an object, got ${show(options)}`,
      exportName: ctx.exportName,
      path,
    });
    return undefined;
  }
  const next = cloneDraft(draft);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!optionKeys.includes(key)) {
      ctx.issues.push({
        severity: 'error',
        message: `unknown experiment option '${key}': the options are ${optionKeys.join(', ')}`,
        exportName: ctx.exportName,
        path: [...path, key],
      });
      continue;
    }
    setAt(next, [key], key === 'tags' ? addedTags(next, value) : value, [...path, key]);
  }
  return next;
}

/** Tags add up: the draft's so far, then `value` (left as it is when it is not a list: the compiler reports it). */
function addedTags(draft: Draft, value: unknown): unknown {
  const before = draft.settings['tags'];
  return Array.isArray(before) && Array.isArray(value) ? [...before, ...value] : value;
}

/** A sweep's name (replacing the base's) and tags (added) on one of its runs. */
function applySweepLabels(draft: Draft, set: Record<string, unknown>, path: ValuePath): Draft {
  const next = cloneDraft(draft);
  if (set['name'] !== undefined) setAt(next, ['name'], set['name'], [...path, 'name']);
  if (set['tags'] !== undefined) setAt(next, ['tags'], addedTags(next, set['tags']), [...path, 'tags']);
  return next;
}

/** One axis assignment of a choice. */
interface Assignment {
  axis: string;
  value: unknown;
  path: ValuePath;
}

function apply(draft: Draft, choice: readonly Assignment[]): Draft {
  const next = cloneDraft(draft);
  for (const { axis, value, path } of choice) {
    const shortcut = shortcutByName.get(axis);
    setAt(next, shortcut?.path ?? [axis], value, path, shortcut?.blanks);
  }
  return next;
}

/** The run so far as function axes see it: method and seed defaulted. */
function currentRun(draft: Draft): Record<string, unknown> {
  return {
    ...draft.settings,
    method: draft.settings['method'] ?? { kind: 'lm' },
    seed: draft.settings['seed'] ?? 0,
  };
}

async function depthOf(model: unknown, ctx: ExpandContext): Promise<{ depth?: number; why?: string }> {
  if (!isRecord(model) || typeof model['kind'] !== 'string') return { why: 'the run has no model' };
  try {
    const description = await ctx.catalog.describe(model as Parameters<ModelCatalog['describe']>[0]);
    return description.known ? { depth: description.depth } : { why: description.reason };
  } catch (error) {
    return { why: (error as Error).message };
  }
}

/** The values of one axis for `draft`, or undefined after pushing an issue. */
async function axisValues(
  axis: string,
  spec: unknown,
  path: ValuePath,
  draft: Draft,
  ctx: ExpandContext,
): Promise<unknown[] | undefined> {
  const fail = (message: string): undefined => {
    ctx.issues.push({ severity: 'error', message, exportName: ctx.exportName, path });
    return undefined;
  };
  if (!axisNames.includes(axis)) {
    return fail(`unknown sweep axis '${axis}': the axes are ${axisNames.join(', ')}`);
  }
  if (Array.isArray(spec)) {
    if (spec.length === 0)
      return fail(`sweep axis '${axis}' has no values: a sweep over nothing has no runs`);
    return spec;
  }
  if (typeof spec === 'function') {
    const { depth, why } = await depthOf(draft.settings['model'], ctx);
    const facts: ModelFacts = {
      get depth(): number {
        if (depth === undefined) throw new Error(`the depth of the run's model is unknown: ${why}`);
        return depth;
      },
    };
    let values: unknown;
    try {
      values = (spec as (current: unknown, model: ModelFacts) => unknown)(currentRun(draft), facts);
    } catch (error) {
      return fail(`sweep axis '${axis}' failed: ${(error as Error).message}`);
    }
    if (!Array.isArray(values))
      return fail(`sweep axis '${axis}' must return a list of values, got ${show(values)}`);
    if (values.length === 0)
      return fail(`sweep axis '${axis}' gave no values for this run: a sweep over nothing has no runs`);
    return values;
  }
  if (isRecord(spec) && spec['kind'] === 'depth-list' && Array.isArray(spec['steps'])) {
    const model = spec['model'] ?? draft.settings['model'];
    const { depth, why } = await depthOf(model, ctx);
    if (depth === undefined) return fail(`depth() needs the model's depth, which is not known here: ${why}`);
    try {
      return resolveDepthList(spec as { steps: Parameters<typeof resolveDepthList>[0]['steps'] }, depth);
    } catch (error) {
      return fail(`sweep axis '${axis}' failed: ${(error as Error).message}`);
    }
  }
  return fail(
    `sweep axis '${axis}' must be a list of values, a function of the run, or depth(…), got ${show(spec)}`,
  );
}

/** The choices an axes part makes for `draft`: each a list of assignments. Zip mode pairs plain-object keys. */
async function choices(
  part: unknown,
  path: ValuePath,
  draft: Draft,
  ctx: ExpandContext,
  zipKeys = false,
): Promise<Assignment[][] | undefined> {
  if (!isRecord(part)) {
    ctx.issues.push({
      severity: 'error',
      message: `sweep axes must be an object, grid(…) or zip(…), got ${show(part)}`,
      exportName: ctx.exportName,
      path,
    });
    return undefined;
  }
  const kind = part['kind'];
  if (kind === 'sample') return sampleChoices(part, path, draft, ctx);
  if (kind === 'grid' || kind === 'zip') {
    const parts = Array.isArray(part['parts']) ? (part['parts'] as unknown[]) : [];
    if (kind === 'grid') {
      let out: Assignment[][] = [[]];
      for (const [i, sub] of parts.entries()) {
        const next: Assignment[][] = [];
        for (const choice of out) {
          const more = await choices(sub, [...path, 'parts', i], apply(draft, choice), ctx);
          if (!more) return undefined;
          for (const extra of more) next.push([...choice, ...extra]);
        }
        out = next;
      }
      return out;
    }
    const lists: Assignment[][][] = [];
    for (const [i, sub] of parts.entries()) {
      const list = await choices(sub, [...path, 'parts', i], draft, ctx, true);
      if (!list) return undefined;
      lists.push(list);
    }
    return zipLists(
      lists,
      parts.map((_, i) => `part ${i + 1}`),
      path,
      ctx,
    );
  }
  if (kind !== undefined) {
    ctx.issues.push({
      severity: 'error',
      message: `sweep axes of kind ${show(kind)} are not known: use an object, grid(…), zip(…) or sample(…)`,
      exportName: ctx.exportName,
      path,
    });
    return undefined;
  }
  const axes = Object.entries(part).filter(([, spec]) => spec !== undefined);
  if (zipKeys) {
    const lists: Assignment[][][] = [];
    for (const [axis, spec] of axes) {
      const values = await axisValues(axis, spec, [...path, axis], draft, ctx);
      if (!values) return undefined;
      lists.push(values.map((value, i) => [{ axis, value, path: valuePath(spec, [...path, axis], i) }]));
    }
    return zipLists(
      lists,
      axes.map(([axis]) => `'${axis}'`),
      path,
      ctx,
    );
  }
  let out: Assignment[][] = [[]];
  for (const [axis, spec] of axes) {
    const next: Assignment[][] = [];
    for (const choice of out) {
      const values = await axisValues(axis, spec, [...path, axis], apply(draft, choice), ctx);
      if (!values) return undefined;
      values.forEach((value, i) =>
        next.push([...choice, { axis, value, path: valuePath(spec, [...path, axis], i) }]),
      );
    }
    out = next;
  }
  return out;
}

/**
 * `count` distinct indices of [0, total), sorted, drawn from `seed` (Floyd's algorithm: `count`
 * draws, whatever `total` is). The same for the same (count, total, seed).
 */
function sampleIndices(count: number, total: number, seed: number): number[] {
  const random = randomStream(seed, 'sweep sample');
  const picked = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = random.int(j + 1);
    picked.add(picked.has(t) ? j : t);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * The choices of `sample(count, axes, { seed })`: `count` points of the grid of `axes`. A plain
 * object of list axes is sampled by index, without listing its grid (any size up to 2^53
 * points); anything else (function axes, zips, nested grids) is listed, then sampled — both
 * ways pick the same points.
 */
async function sampleChoices(
  part: Record<string, unknown>,
  path: ValuePath,
  draft: Draft,
  ctx: ExpandContext,
): Promise<Assignment[][] | undefined> {
  const fail = (key: string, message: string): undefined => {
    ctx.issues.push({ severity: 'error', message, exportName: ctx.exportName, path: [...path, key] });
    return undefined;
  };
  const { count, seed, axes } = part;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)
    return fail('count', `sample needs a whole number of points ≥ 1, got ${show(count)}`);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    return fail(
      'seed',
      `sample needs a seed (a whole number ≥ 0): sample(${count}, axes, { seed: 0 }), got ${show(seed)}`,
    );
  const inner = [...path, 'axes'];
  const lists =
    isRecord(axes) && axes['kind'] === undefined
      ? Object.entries(axes).filter(([, spec]) => spec !== undefined)
      : undefined;
  if (
    lists &&
    lists.every(([axis, spec]) => Array.isArray(spec) && spec.length > 0 && axisNames.includes(axis))
  ) {
    const lengths = lists.map(([, spec]) => (spec as unknown[]).length);
    const total = lengths.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(total))
      return fail('axes', `sample: the grid has more than 2^53 points (${total})`);
    return sampleIndices(Math.min(count, total), total, seed).map((index) => {
      // mixed radix, first axis most significant: the grid's own order
      const digits: number[] = [];
      for (let a = lengths.length - 1, rest = index; a >= 0; a--) {
        digits[a] = rest % lengths[a]!;
        rest = Math.floor(rest / lengths[a]!);
      }
      return lists.map(([axis, spec], a) => ({
        axis,
        value: (spec as unknown[])[digits[a]!],
        path: valuePath(spec, [...inner, axis], digits[a]!),
      }));
    });
  }
  const all = await choices(axes, inner, draft, ctx);
  if (!all) return undefined;
  return sampleIndices(Math.min(count, all.length), all.length, seed).map((index) => all[index]!);
}

/** Where the i-th value of an axis was written: the list element, or the axis itself when computed. */
function valuePath(spec: unknown, axisPath: ValuePath, index: number): ValuePath {
  return Array.isArray(spec) ? [...axisPath, index] : axisPath;
}

function zipLists(
  lists: Assignment[][][],
  names: string[],
  path: ValuePath,
  ctx: ExpandContext,
): Assignment[][] | undefined {
  if (lists.length === 0) return [[]];
  const length = lists[0]!.length;
  const mismatch = lists.findIndex((list) => list.length !== length);
  if (mismatch >= 0) {
    ctx.issues.push({
      severity: 'error',
      message: `zip needs lists of one length: ${names[0]} has ${length} values, ${names[mismatch]} has ${lists[mismatch]!.length}`,
      exportName: ctx.exportName,
      path,
    });
    return undefined;
  }
  return Array.from({ length }, (_, i) => lists.flatMap((list) => list[i]!));
}

/** Every run of `set`, in order, starting from `draft` (an empty one for an exported value). */
export async function expandRunSet(
  set: unknown,
  path: ValuePath,
  ctx: ExpandContext,
  draft: Draft = { settings: {}, origins: {} },
): Promise<Draft[]> {
  if (!isRunSet(set)) {
    ctx.issues.push({
      severity: 'error',
      message: `expected an experiment, override, sweep or concat, got ${show(set)}`,
      exportName: ctx.exportName,
      path,
    });
    return [];
  }
  switch (set.kind) {
    case 'experiment': {
      const applied = applyOptions(draft, set.options, [...path, 'options'], ctx);
      return applied ? [applied] : [];
    }
    case 'override': {
      const bases = await expandRunSet(set.base, [...path, 'base'], ctx, draft);
      return bases.flatMap((base) => applyOptions(base, set.changes, [...path, 'changes'], ctx) ?? []);
    }
    case 'sweep': {
      const bases = await expandRunSet(set.base, [...path, 'base'], ctx, draft);
      const out: Draft[] = [];
      for (const base of bases) {
        const made = await choices(set.axes, [...path, 'axes'], base, ctx);
        if (!made) return out;
        for (const choice of made)
          out.push(applySweepLabels(apply(base, choice), set as unknown as Record<string, unknown>, path));
      }
      return out;
    }
    case 'concat': {
      const items = Array.isArray(set.items) ? set.items : [];
      const out: Draft[] = [];
      for (const [i, item] of items.entries())
        out.push(...(await expandRunSet(item, [...path, 'items', i], ctx, draft)));
      return out;
    }
  }
}

/** The path of the value that set option `key` (the nearest recorded parent when the key itself was not set). */
export function originOf(draft: Draft, key: string): ValuePath | undefined {
  for (let probe = key; probe; probe = probe.includes('.') ? probe.slice(0, probe.lastIndexOf('.')) : '') {
    const found = draft.origins[probe];
    if (found) return found;
  }
  return undefined;
}
