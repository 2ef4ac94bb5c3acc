/**
 * Flattens stored runs into plain rows: one per run, the plan's settings as columns
 * (model, layers, task, method, template, seed, lr, …) plus the status and the headline
 * outcomes (accuracy, macro-F1, parameter count). Every view and plot starts from these rows.
 */
import { parseLayerText, resolveLayerRequest } from '../compile/layers.js';
import { columnsOf, type Column } from '../plan/derived.js';
import { sublayerLabel } from '../plan/healing-labels.js';
import { dataOptions, methodOptions, trainOptions } from '../plan/options.js';
import type { Cell } from '../plan/schema.js';
import { LayercutError } from '../errors.js';
import { layerText, resolveLayers, type LayerSelection } from '../models/selection.js';
import type { ModelSource, RunPlan } from '../plan/types.js';
import { oneLine } from './format.js';
import { errorMessage, type RunStatus, type StoredRun } from './store.js';

/** A setting's value in a row: text, a number, a flag, or absent. */
export type SettingValue = Cell;

/**
 * The columns of the options declared in src/plan/options.ts: one per option of `train` (its
 * optimizer's and schedule's kind and options among them), of the method and of `data`, unless
 * its declaration says otherwise. A new option there is a new column here.
 */
const trainColumns = columnsOf(trainOptions);
const methodColumns = columnsOf(methodOptions);
const dataColumns = columnsOf(dataOptions);

/**
 * The columns a plan flattens into: these, and one per declared option (lr, epochs,
 * freezeLayers, validation, …: `settingKeys`).
 */
export interface RunSettings {
  [option: string]: SettingValue;
  model: string;
  /** "first 2", "all", "0,5". */
  layers: string;
  /** How many layers the run kept (for 'all': the model's depth, once the run is done). */
  keptLayers: number | null;
  task: string;
  method: string;
  template: string;
  scoring: string;
  /** The label words, e.g. "negative: terrible | positive: great". */
  labelWords: string;
  seed: number;
  /** 'none' or 'attn 1,3' (src/plan/healing-labels.ts). */
  sublayers: string;
  backend: string | null;
}

/** What a run is (the model and its cut, the task, the method and the prompt): the first settings columns. */
const runIdentityKeys = ['model', 'layers', 'keptLayers', 'task', 'method', 'template'] as const;

const names = (columns: readonly Column[]): string[] => columns.map((column) => column.name);

/** Settings columns, in display order. */
export const settingKeys: readonly string[] = [
  ...runIdentityKeys,
  'scoring',
  'labelWords',
  'seed',
  ...names(trainColumns),
  'sublayers',
  ...names(methodColumns),
  ...names(dataColumns),
  'backend',
];

export type SettingKey = string;

/** Settings every runs table shows, varying or not. */
export const coreSettingKeys: readonly SettingKey[] = [...runIdentityKeys, 'seed', 'lr'];

/** One run, flattened. Fractions stay fractions (accuracy 0.85). */
export interface RunRow extends RunSettings {
  id: string;
  status: RunStatus;
  /** The run's name (DSL `name`; a label, not a setting), or null. */
  name: string | null;
  /** Its tags, comma-separated (a filter `tags=x` keeps runs with tag x among them), or null. */
  tags: string | null;
  /** Why it failed, the whole message without a stack (status 'failed'). */
  error: string | null;
  attempts: number;
  accuracy: number | null;
  macroF1: number | null;
  /** Best validation accuracy. */
  validationAccuracy: number | null;
  /** Parameters of the cut model, and of the full one. */
  params: number | null;
  paramsFull: number | null;
  wallSeconds: number | null;
  /** The layers a computed selection chose, e.g. "0,1,5,7" (null for fixed selections). */
  chosenLayers: string | null;
  /** Why the run's loss is judged to have exploded (its numbers are not to be trusted); null when it did not. */
  diverged: string | null;
  /** Examples in the run's test sample. */
  testExamples: number | null;
  /**
   * What always answering the test sample's most frequent label scores: its accuracy (that
   * label's share) and macro-F1 (2m / (1 + m) for that label, 0 for the others, over the classes).
   */
  majorityAccuracy: number | null;
  majorityMacroF1: number | null;
  /** Layers of the full model. */
  layersFull: number | null;
}

/** A column's name. */
export type RowKey = keyof RunRow & string;

/** The result columns of a row, after its settings. */
export const resultKeys: readonly RowKey[] = [
  'accuracy',
  'macroF1',
  'validationAccuracy',
  'params',
  'paramsFull',
  'wallSeconds',
  'attempts',
  'chosenLayers',
  'diverged',
  'testExamples',
  'majorityAccuracy',
  'majorityMacroF1',
  'layersFull',
];

/** Columns a filter or a view may name. */
export const rowKeys: readonly RowKey[] = ['id', 'status', 'name', 'tags', ...settingKeys, ...resultKeys];

export function modelName(source: ModelSource): string {
  switch (source.kind) {
    case 'hub':
      return source.revision ? `${source.repo}@${source.revision}` : source.repo;
    case 'local':
      return source.path;
    case 'builtin':
      return source.name;
  }
}

/**
 * "tiny-gpt2 first 2 · spam · lm · seed 0": what tells the runs of a sweep apart, in progress
 * lines, the notebook's live output and `layercut status`.
 */
export function runLabel(plan: RunPlan): string {
  return `${modelName(plan.model)} ${layerText(plan.layers)} · ${plan.task} · ${plan.method.kind} · seed ${plan.seed}`;
}

function keptLayerCount(layers: LayerSelection, layersAfter: number | undefined): number | null {
  switch (layers.kind) {
    case 'all':
      return layersAfter ?? null;
    case 'first':
      return layers.count;
    case 'indices':
      return layers.indices.length;
    case 'computed':
      return layers.by === 'influence' ? layers.keep : (layersAfter ?? null);
  }
}

function cells(columns: readonly Column[], options: unknown): Record<string, SettingValue> {
  return Object.fromEntries(columns.map((column) => [column.name, column.cell(options)]));
}

/** The plan's settings as flat columns; `layersAfter` (from a result) fills keptLayers for 'all'. */
export function planSettings(plan: RunPlan, layersAfter?: number): RunSettings {
  const { train, data, method, prompt } = plan;
  return {
    model: modelName(plan.model),
    layers: layerText(plan.layers),
    keptLayers: keptLayerCount(plan.layers, layersAfter),
    task: plan.task,
    method: method.kind,
    template: prompt.template,
    scoring: prompt.scoring,
    labelWords: Object.entries(prompt.labelWords)
      .map(([label, words]) => `${label}: ${words.map((w) => w.trim()).join('/')}`)
      .join(' | '),
    seed: plan.seed,
    ...cells(trainColumns, train),
    sublayers: sublayerLabel(plan.sublayers),
    ...cells(methodColumns, method),
    ...cells(dataColumns, data),
    backend: plan.backend ?? null,
  };
}

export function runRow(run: StoredRun): RunRow {
  const result = run.result;
  return {
    id: run.id,
    status: run.status,
    name: run.plan.labels?.name ?? null,
    tags: run.plan.labels?.tags?.join(', ') ?? null,
    error: run.error === null ? null : errorMessage(run.error),
    attempts: run.attempts,
    ...planSettings(run.plan, result?.size.layersAfter),
    // Where it actually ran, once known.
    ...(result ? { backend: result.backend } : {}),
    accuracy: result?.test.accuracy ?? null,
    macroF1: result?.test.macroF1 ?? null,
    validationAccuracy: result?.validation.accuracy ?? null,
    params: result?.size.paramsAfter ?? null,
    paramsFull: result?.size.paramsBefore ?? null,
    wallSeconds: result?.timings.wallSeconds ?? null,
    chosenLayers: result?.keptLayers ? result.keptLayers.join(',') : null,
    diverged: result?.divergence ?? null,
    ...majorityBaseline(result?.test.perClass),
    layersFull: result?.size.layersBefore ?? null,
  };
}

/** The test sample's size and what answering its most frequent label scores. */
function majorityBaseline(
  perClass: readonly { support: number }[] | undefined,
): Pick<RunRow, 'testExamples' | 'majorityAccuracy' | 'majorityMacroF1'> {
  const total = perClass?.reduce((sum, c) => sum + c.support, 0) ?? 0;
  if (!perClass || total === 0) return { testExamples: null, majorityAccuracy: null, majorityMacroF1: null };
  const share = Math.max(...perClass.map((c) => c.support)) / total;
  return {
    testExamples: total,
    majorityAccuracy: share,
    majorityMacroF1: (2 * share) / (1 + share) / perClass.length,
  };
}

export function runRows(runs: readonly StoredRun[]): RunRow[] {
  return runs.map(runRow);
}

/**
 * Settings whose value differs between the rows, in display order. The backend counts only
 * where known: a queued run's "not chosen yet" does not differ from a finished run's "cpu".
 */
export function varyingSettings(rows: readonly RunRow[]): SettingKey[] {
  return settingKeys.filter((key) => {
    const values = rows.map((row) => row[key]);
    return new Set(key === 'backend' ? values.filter((v) => v !== null) : values).size > 1;
  });
}

/** `key=value` conditions; several values of one key mean any of them, different keys all of them. */
export type RowFilter = Map<RowKey, string[]>;

/** Parses `--filter key=value` options. */
export function parseFilters(specs: readonly string[]): RowFilter {
  const filter: RowFilter = new Map();
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at <= 0)
      throw new LayercutError(`cannot read filter '${spec}'`, 'write key=value, e.g. --filter task=sst2');
    const key = spec.slice(0, at).trim();
    if (!isRowKey(key)) {
      throw new LayercutError(`unknown filter key '${key}'`, `use one of: ${rowKeys.join(', ')}`);
    }
    filter.set(key, [...(filter.get(key) ?? []), spec.slice(at + 1).trim()]);
  }
  return filter;
}

export function isRowKey(key: string): key is RowKey {
  return (rowKeys as readonly string[]).includes(key);
}

/**
 * Whether a cell equals the text a user wrote: numbers compare as numbers (5e-5 = 0.00005), and
 * text as the tables print it too (a newline as the two characters \n).
 */
export function cellMatches(cell: unknown, wanted: string): boolean {
  if (cell === null || cell === undefined) return wanted === '' || wanted === 'null';
  if (typeof cell === 'number') return wanted.trim() !== '' && Number(wanted) === cell;
  return String(cell) === wanted || oneLine(String(cell)) === wanted;
}

/** The original indices of the layers a row's run kept, when known: "first 2" → [0, 1]. */
export function keptIndices(row: Pick<RunRow, 'layers' | 'layersFull' | 'chosenLayers'>): number[] | null {
  const listed = (text: string): number[] => text.split(',').map(Number);
  if (row.chosenLayers !== null) return listed(row.chosenLayers);
  if (row.layers === 'all') return row.layersFull === null ? null : range(row.layersFull);
  // the rest is layer text (layerText prints it): 'first 2', '0,5,7', '5..5'
  try {
    const { selection } = resolveLayerRequest(parseLayerText(row.layers), undefined, 'the model');
    return selection.kind === 'first'
      ? range(selection.count)
      : selection.kind === 'indices'
        ? selection.indices
        : null;
  } catch {
    return null; // a computed selection's rule, or 'none'
  }
}

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/**
 * Whether a row kept the layers that `wanted` names in the experiment files' layer text
 * ('last 4', 'drop 2..5', '0..3'), resolved against the row's model depth.
 */
function layersMatch(row: RunRow, wanted: string): boolean {
  if (row.layersFull === null) return false;
  const kept = keptIndices(row);
  if (kept === null) return false;
  try {
    const { selection } = resolveLayerRequest(parseLayerText(wanted), row.layersFull, row.model);
    if (selection.kind === 'computed') return false;
    const indices = resolveLayers(selection, row.layersFull);
    return indices.length === kept.length && indices.every((index, i) => index === kept[i]);
  } catch {
    return false; // not layer text, or not a selection this model can make
  }
}

/** Whether a row passes the filter: for `layers`, the text as shown or any layer text that selects the same layers. */
export function filterRows(rows: readonly RunRow[], filter: RowFilter): RunRow[] {
  return rows.filter((row) =>
    [...filter].every(([key, values]) =>
      values.some((v) =>
        key === 'tags'
          ? (row.tags?.split(', ') ?? []).includes(v)
          : cellMatches(row[key], v) || (key === 'layers' && layersMatch(row, v)),
      ),
    ),
  );
}

/**
 * The error for filters no row passes: each filtered key with the values it takes among `rows`
 * (so 'last 4' shows up as the "4,5,6,7" the tables print).
 */
export function noRowsMatch(rows: readonly RunRow[], filter: RowFilter, what = 'runs'): LayercutError {
  const wanted = [...filter].map(([key, values]) => values.map((v) => `${key}=${v}`).join(' or ')).join(', ');
  const present = [...filter.keys()].map((key) => {
    const values = [...new Set(rows.map((row) => displayFilterValue(row[key])))];
    const shown = values.slice(0, 12).join(' | ');
    return `${key}: ${shown}${values.length > 12 ? ` | … (${values.length} values)` : ''}`;
  });
  return new LayercutError(
    `no ${what} match ${wanted}`,
    rows.length === 0 ? 'the store has none' : `values in the store — ${present.join('; ')}`,
  );
}

function displayFilterValue(value: unknown): string {
  return value === null || value === undefined ? '(none)' : oneLine(String(value));
}

/** Orders setting values: numbers numerically, text naturally ("first 2" before "first 10"), null last. */
export function compareValues(a: SettingValue, b: SettingValue): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/** Fewer kept layers first; among equal counts, named forms ('all', 'first k', rules) before index lists ('0,5'). */
export function compareLayers(
  keptA: number | null,
  textA: string,
  keptB: number | null,
  textB: string,
): number {
  const isList = (text: string) => (/^\d/.test(text) ? 1 : 0);
  return compareValues(keptA, keptB) || isList(textA) - isList(textB) || compareValues(textA, textB);
}
