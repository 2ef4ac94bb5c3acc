/**
 * What `layercut plan` shows: the runs of a compiled file with what varies between them,
 * the size of each cut model, estimated tokens and FLOPs, and where each run stands in the
 * results store (done, failed, or still to do).
 */
import { modelLabel } from '../../dsl/models.js';
import type { RunPlan } from '../plan/types.js';
import { alignedColumns } from '../results/format.js';
import { estimateRun, type RunEstimate } from './estimate.js';
import type { CompiledFile } from './file.js';
import { formatIssue } from './issues.js';
import { layerText } from '../models/selection.js';
import { adapterLabel, replacementLabel, sublayerLabel } from '../plan/healing-labels.js';

/** A run's state in the results store: `todo` when it is not there, queued, or running. */
export type PlannedStatus = 'done' | 'failed' | 'todo';

export const plannedStatuses: readonly PlannedStatus[] = ['done', 'failed', 'todo'];

export interface PlannedRun {
  id: string;
  /** The exports that define it. */
  exports: string[];
  /** Column → value, for the columns that vary across the file's runs. */
  varies: Record<string, string>;
  status: PlannedStatus;
  estimate: RunEstimate;
  plan: RunPlan;
}

export interface PlanListing {
  file: string;
  exports: string[];
  runs: PlannedRun[];
  /** The columns that vary, in display order. */
  columns: string[];
  /** Settings that are the same for every run (column → value). */
  same: Record<string, string>;
  /** Runs per status. */
  counts: Record<PlannedStatus, number>;
  /** The results store the statuses come from (absent: none was read, every run is todo). */
  store?: string;
  /** Definitions that repeated a run (merged). */
  duplicates: number;
  /** Sum of the runs' FLOPs estimates (only runs with an estimate). */
  totalFlops: number;
  /** Runs without a FLOPs estimate (unknown model config or task lengths). */
  unestimated: number;
  /** Warnings from the compiler (unknown configs: depth checks then wait until run time). */
  notes: string[];
}

export interface ListingOptions {
  /** Each run's status in the results store (a run it does not name is todo). */
  statuses?: ReadonlyMap<string, PlannedStatus>;
  /** Where those came from, for the listing's header. */
  store?: string;
}

/** A number as people write hyperparameters: 5e-5, 0.001, 42. */
const num = (n: number): string => (n !== 0 && Math.abs(n) < 1e-3 ? n.toExponential() : String(n));

const words = (plan: RunPlan): string =>
  Object.values(plan.prompt.labelWords)
    .map((w) => w.map((x) => JSON.stringify(x)).join('|'))
    .join(' ');

function method(plan: RunPlan): string {
  const { kind, freezeEmbeddings, freezeLayers } = plan.method;
  const frozen = [
    freezeEmbeddings ? 'embeddings' : '',
    freezeLayers.length ? `layers ${freezeLayers.join(',')}` : '',
  ].filter(Boolean);
  return frozen.length ? `${kind} (frozen ${frozen.join(', ')})` : kind;
}

/** Every column a listing may show, in display order, and how a plan fills it. */
const columnValues: readonly [string, (plan: RunPlan) => string][] = [
  ['model', (p) => modelLabel(p.model)],
  ['layers', (p) => layerText(p.layers)],
  ['task', (p) => p.task],
  ['method', method],
  ['prompt', (p) => JSON.stringify(p.prompt.template)],
  ['words', words],
  ['scoring', (p) => p.prompt.scoring],
  ['seed', (p) => String(p.seed)],
  ['optimizer', (p) => p.train.optimizer.kind],
  ['lr', (p) => num(p.train.optimizer.lr)],
  [
    'schedule',
    (p) =>
      `${p.train.schedule.kind}${p.train.schedule.warmupSteps ? ` (warm-up ${p.train.schedule.warmupSteps})` : ''}`,
  ],
  ['epochs', (p) => String(p.train.epochs)],
  ['steps', (p) => (p.train.steps === undefined ? '-' : String(p.train.steps))],
  ['batchSize', (p) => String(p.train.batchSize)],
  ['gradientAccumulation', (p) => String(p.train.gradientAccumulation)],
  ['weightDecay', (p) => num(p.train.optimizer.weightDecay)],
  ['maxGradNorm', (p) => num(p.train.maxGradNorm)],
  ['evalEvery', (p) => String(p.train.evalEvery)],
  ['earlyStopPatience', (p) => String(p.train.earlyStopPatience)],
  ['precision', (p) => p.train.precision ?? 'fp32'],
  ['sublayers', (p) => sublayerLabel(p.sublayers)],
  ['adapters', (p) => adapterLabel(p.train.adapters)],
  ['replace', (p) => replacementLabel(p.train.replace)],
  ['trainPerClass', (p) => String(p.data.trainPerClass)],
  ['demosPerClass', (p) => String(p.data.demosPerClass)],
  ['validation', (p) => String(p.data.validation)],
  ['test', (p) => String(p.data.test)],
  ['maxLength', (p) => String(p.data.maxLength)],
  ['truncate', (p) => p.data.truncate],
  ['backend', (p) => p.backend ?? 'auto'],
  ['name', (p) => p.labels?.name ?? '-'],
  ['tags', (p) => p.labels?.tags?.join(', ') ?? '-'],
];

/** Columns always listed under "same for all" when they do not vary (the rest only when they vary). */
const headline = new Set([
  'model',
  'layers',
  'task',
  'method',
  'seed',
  'optimizer',
  'lr',
  'epochs',
  'batchSize',
  'trainPerClass',
]);

/** Columns that change with the task (its default template and label words): listed only when they vary otherwise. */
const followsTask = new Set(['prompt', 'words']);

/** True when every task has one value of the column: it varies only because the task does. */
function determinedByTask(plans: readonly RunPlan[], value: (plan: RunPlan) => string): boolean {
  const byTask = new Map<string, string>();
  for (const plan of plans) {
    const seen = byTask.get(plan.task);
    if (seen !== undefined && seen !== value(plan)) return false;
    byTask.set(plan.task, value(plan));
  }
  return true;
}

/** The listing of a compiled file. */
export function listPlan(compiled: CompiledFile, options: ListingOptions = {}): PlanListing {
  const plans = compiled.runs.map((run) => run.plan);
  const columns: string[] = [];
  const same: Record<string, string> = {};
  for (const [name, value] of columnValues) {
    const distinct = new Set(plans.map(value));
    if (distinct.size > 1 && !(followsTask.has(name) && determinedByTask(plans, value))) columns.push(name);
    else if (distinct.size === 1 && headline.has(name)) same[name] = [...distinct][0]!;
  }
  if (new Set(compiled.runs.map((r) => r.exports.join('+'))).size > 1) columns.unshift('export');
  const runs = compiled.runs.map((run): PlannedRun => {
    const varies: Record<string, string> = {};
    for (const [name, value] of columnValues) if (columns.includes(name)) varies[name] = value(run.plan);
    if (columns.includes('export')) varies['export'] = run.exports.join('+');
    return {
      id: run.id,
      exports: run.exports,
      varies,
      status: options.statuses?.get(run.id) ?? 'todo',
      estimate: estimateRun(run),
      plan: run.plan,
    };
  });
  const estimated = runs.filter((r) => r.estimate.flops);
  return {
    file: compiled.file,
    exports: compiled.exports,
    runs,
    columns,
    same,
    counts: Object.fromEntries(
      plannedStatuses.map((status) => [status, runs.filter((r) => r.status === status).length]),
    ) as Record<PlannedStatus, number>,
    ...(options.store !== undefined ? { store: options.store } : {}),
    duplicates: compiled.duplicates,
    totalFlops: estimated.reduce((sum, r) => sum + r.estimate.flops!.total, 0),
    unestimated: runs.length - estimated.length,
    notes: compiled.issues.filter((i) => i.severity === 'warning').map((i) => formatIssue(i)),
  };
}

/** 1234567 → "1.23M". */
export function humanCount(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toPrecision(3)}${unit}`;
  return String(n);
}

/** 1.8e15 → "1.8e15". */
export const humanFlops = (n: number): string => n.toExponential(1).replace('e+', 'e');

/** `2 done, 1 failed, 5 to do (in layercut.db)`, or `no results store read` when none was. */
export function statusSummary(listing: PlanListing): string {
  const { done, failed, todo } = listing.counts;
  return listing.store === undefined
    ? 'no results store read'
    : `${done} done, ${failed} failed, ${todo} to do (in ${listing.store})`;
}

/** The plan table's header and one row per run: id, the settings that vary, params, tokens, FLOPs, status. */
export function planCells(listing: PlanListing): [header: string[], ...rows: string[][]] {
  const header = ['id', ...listing.columns, 'params', 'tokens', 'FLOPs', 'status'];
  const rows = listing.runs.map((run) => [
    run.id,
    ...listing.columns.map((column) => run.varies[column] ?? ''),
    run.estimate.params
      ? `${humanCount(run.estimate.params.after)} (${run.estimate.params.layersAfter}/${run.estimate.params.layersBefore} layers)`
      : '?',
    run.estimate.tokens ? humanCount(run.estimate.tokens.train + run.estimate.tokens.eval) : '?',
    run.estimate.flops ? humanFlops(run.estimate.flops.total) : '?',
    run.status,
  ]);
  return [header, ...rows];
}

/** The listing as a text table. */
export function formatListing(listing: PlanListing, fileLabel = listing.file): string {
  const perExport = listing.exports.map(
    (name) => `${name} ${listing.runs.filter((r) => r.exports.includes(name)).length}`,
  );
  const lines = [
    `${fileLabel}: ${listing.runs.length} run${listing.runs.length === 1 ? '' : 's'} (${perExport.join(', ')}), ${statusSummary(listing)}` +
      (listing.duplicates
        ? `, ${listing.duplicates} repeated definition${listing.duplicates === 1 ? '' : 's'} merged`
        : ''),
  ];
  const same = Object.entries(listing.same).map(([k, v]) => `${k} ${v}`);
  if (same.length) lines.push(`same for all: ${same.join(' · ')}`);
  lines.push(alignedColumns(planCells(listing)));
  lines.push(
    `estimated total: ${humanFlops(listing.totalFlops)} FLOPs (upper bound: every epoch, no early stop)` +
      (listing.unestimated
        ? `; ${listing.unestimated} run${listing.unestimated === 1 ? '' : 's'} without an estimate`
        : ''),
  );
  for (const note of listing.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
