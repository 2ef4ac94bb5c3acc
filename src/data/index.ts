/**
 * Task data: the task registry, loaders (hub parquet, built-in corpora, CSV/JSONL/parquet
 * files, records and tables) and the seeded few-shot sampling protocol.
 */
export { getTask, taskNames } from './tasks.js';
export type { BuiltinTaskSource, FilesTaskSource, HubTaskSource, TaskSource, TaskSpec } from './tasks.js';
export type { DataInput, DataRecord, Dataset, Example, RecordTable } from './types.js';
export { DataError } from './errors.js';
export type { DataErrorKind } from './errors.js';
export { datasetFromRecords, loadDataset } from './load.js';
export type { LoadDatasetOptions } from './load.js';
export { recordsToExamples, labelIndex } from './records.js';
export type { ColumnMapping } from './records.js';
export { parseCsv, parseCsvRows } from './csv.js';
export type { CsvOptions } from './csv.js';
export { parseJsonArray, parseJsonl } from './jsonl.js';
export { readParquetFile } from './parquet.js';
export { dataFileExtensions, readRecordsFile } from './files.js';
export { PARQUET_CONVERSION_REVISION, loadHubSplit, selectSplitFiles } from './hub-dataset.js';
export { PAPER_PROTOCOL, PAPER_SEEDS, paperSample, sampleFewShot } from './sampling.js';
export type { FewShotSample, Overlap, SampleOptions, SamplePair, SamplePart } from './sampling.js';
export { mulberry32, randomStream, shuffled } from './random.js';
export type { Random } from './random.js';
export {
  buildPretrainingCorpus,
  packDocuments,
  DEFAULT_CORPUS_SOURCES,
  type CorpusSource,
  type PretrainingCorpus,
  type PretrainingCorpusOptions,
  type HeldOutOptions,
  type CorpusStats,
  type DocumentRef,
  type ExcludedDocument,
  type PackOptions,
} from './corpus.js';
