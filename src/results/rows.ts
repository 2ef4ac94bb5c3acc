/**
 * Flattens stored runs into plain rows: one per run, the plan's settings as columns
 * (model, layers, task, method, template, seed, lr, …) plus the status and the headline
 * outcomes (accuracy, macro-F1, parameter count). Every view and plot starts from these rows.
 */
import { adapterLabel, replacementLabel, sublayerLabel } from '../plan/healing-labels.js';
import { LayercutError } from '../errors.js';
import { computedSelectionText, type LayerSelection } from '../models/selection.js';
import type { ModelSource, RunPlan } from '../plan/types.js';
import { errorMessage, type RunStatus, type StoredRun } from './store.js';

/** A setting's value in a row: text, a number, or absent. */
export type SettingValue = string | number | boolean | null;

/** The columns a plan flattens into. */
export interface RunSettings {
  model: string;
  /** "first 2", "all", "indices 0,5". */
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
  optimizer: string;
  lr: number;
  weightDecay: number;
  schedule: string;
  warmupSteps: number;
  batchSize: number;
  gradientAccumulation: number;
  epochs: number;
  steps: number | null;
  maxGradNorm: number;
  evalEvery: string;
  earlyStopPatience: number;
  /** 'fp32' or 'mixed'. */
  precision: string;
  /** Healing (src/plan/healing-labels.ts): 'none' or 'lora r8 a8'; 'none' or the replacement; 'none' or 'attn 1,3'. */
  adapters: string;
  replace: string;
  sublayers: string;
  freezeEmbeddings: boolean;
  freezeLayers: string;
  validation: number;
  demosPerClass: number;
  trainPerClass: string;
  test: number;
  maxLength: number;
  truncate: string;
  backend: string | null;
}

/** Settings columns, in display order. */
export const settingKeys = [
  'model',
  'layers',
  'keptLayers',
  'task',
  'method',
  'template',
  'scoring',
  'labelWords',
  'seed',
  'optimizer',
  'lr',
  'weightDecay',
  'schedule',
  'warmupSteps',
  'batchSize',
  'gradientAccumulation',
  'epochs',
  'steps',
  'maxGradNorm',
  'evalEvery',
  'earlyStopPatience',
  'precision',
  'adapters',
  'replace',
  'sublayers',
  'freezeEmbeddings',
  'freezeLayers',
  'validation',
  'demosPerClass',
  'trainPerClass',
  'test',
  'maxLength',
  'truncate',
  'backend',
] as const satisfies readonly (keyof RunSettings)[];

export type SettingKey = (typeof settingKeys)[number];

/** Settings every runs table shows, varying or not. */
export const coreSettingKeys: readonly SettingKey[] = [
  'model',
  'layers',
  'keptLayers',
  'task',
  'method',
  'template',
  'seed',
  'lr',
];

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
}

/** The result columns of a row, after its settings. */
export const resultKeys: readonly (keyof RunRow)[] = [
  'accuracy',
  'macroF1',
  'validationAccuracy',
  'params',
  'paramsFull',
  'wallSeconds',
  'attempts',
  'chosenLayers',
  'diverged',
];

/** Columns a filter or a view may name. */
export const rowKeys: readonly (keyof RunRow)[] = [
  'id',
  'status',
  'name',
  'tags',
  ...settingKeys,
  ...resultKeys,
];

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

export function layersText(layers: LayerSelection): string {
  switch (layers.kind) {
    case 'all':
      return 'all';
    case 'first':
      return `first ${layers.count}`;
    case 'indices':
      return `indices ${layers.indices.join(',')}`;
    case 'computed':
      return computedSelectionText(layers);
  }
}

/**
 * "tiny-gpt2 first 2 · spam · lm · seed 0": what tells the runs of a sweep apart, in progress
 * lines, the notebook's live output and `layercut status`.
 */
export function runLabel(plan: RunPlan): string {
  return `${modelName(plan.model)} ${layersText(plan.layers)} · ${plan.task} · ${plan.method.kind} · seed ${plan.seed}`;
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

/** The plan's settings as flat columns; `layersAfter` (from a result) fills keptLayers for 'all'. */
export function planSettings(plan: RunPlan, layersAfter?: number): RunSettings {
  const { train, data, method, prompt } = plan;
  return {
    model: modelName(plan.model),
    layers: layersText(plan.layers),
    keptLayers: keptLayerCount(plan.layers, layersAfter),
    task: plan.task,
    method: method.kind,
    template: prompt.template,
    scoring: prompt.scoring,
    labelWords: Object.entries(prompt.labelWords)
      .map(([label, words]) => `${label}: ${words.map((w) => w.trim()).join('/')}`)
      .join(' | '),
    seed: plan.seed,
    optimizer: train.optimizer.kind,
    lr: train.optimizer.lr,
    weightDecay: train.optimizer.weightDecay,
    schedule: train.schedule.kind,
    warmupSteps: train.schedule.warmupSteps,
    batchSize: train.batchSize,
    gradientAccumulation: train.gradientAccumulation,
    epochs: train.epochs,
    steps: train.steps ?? null,
    maxGradNorm: train.maxGradNorm,
    evalEvery: String(train.evalEvery),
    earlyStopPatience: train.earlyStopPatience,
    precision: train.precision ?? 'fp32',
    adapters: adapterLabel(train.adapters),
    replace: replacementLabel(train.replace),
    sublayers: sublayerLabel(plan.sublayers),
    freezeEmbeddings: method.freezeEmbeddings,
    freezeLayers: method.freezeLayers.join(','),
    validation: data.validation,
    demosPerClass: data.demosPerClass,
    trainPerClass: String(data.trainPerClass),
    test: data.test,
    maxLength: data.maxLength,
    truncate: data.truncate,
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
export type RowFilter = Map<keyof RunRow, string[]>;

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

export function isRowKey(key: string): key is keyof RunRow {
  return (rowKeys as readonly string[]).includes(key);
}

/** Whether a cell equals the text a user wrote: numbers compare as numbers (5e-5 = 0.00005). */
export function cellMatches(cell: unknown, wanted: string): boolean {
  if (cell === null || cell === undefined) return wanted === '' || wanted === 'null';
  if (typeof cell === 'number') return wanted.trim() !== '' && Number(wanted) === cell;
  return String(cell) === wanted;
}

export function filterRows(rows: readonly RunRow[], filter: RowFilter): RunRow[] {
  return rows.filter((row) =>
    [...filter].every(([key, values]) =>
      values.some((v) =>
        key === 'tags' ? (row.tags?.split(', ') ?? []).includes(v) : cellMatches(row[key], v),
      ),
    ),
  );
}
