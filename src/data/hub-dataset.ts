/**
 * Loads one split of a Hugging Face dataset from its parquet files. It lists the
 * repository (at the task's revision, then at `refs/convert/parquet` — the hub's automatic
 * parquet conversion — when the first has none), picks the files of the split, downloads
 * them into the hub cache and reads them with hyparquet.
 *
 * Split files are recognised in the layouts the hub uses:
 *   data/train-00000-of-00001.parquet    (pushed with `datasets`)
 *   {config}/train/0000.parquet           (refs/convert/parquet)
 *   {config}/train-00000-of-00001.parquet, train.parquet
 *   {config}/{name}-train.parquet, {config}/{name}-train-00000-of-00002.parquet  (older conversions)
 */
import { HubError, downloadRepoFiles, listRepo } from '../hub/index.js';
import type { DownloadProgress, HubSettings } from '../hub/index.js';
import { DataError } from './errors.js';
import { readParquetFile } from './parquet.js';
import type { DataRecord } from './types.js';

/** The revision holding the hub's automatic parquet conversion of every dataset. */
export const PARQUET_CONVERSION_REVISION = 'refs/convert/parquet';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isSplitFile(path: string, split: string): boolean {
  const segments = path.split('/');
  const file = segments[segments.length - 1]!;
  const dirs = segments.slice(0, -1);
  return (
    dirs.includes(split) ||
    file === `${split}.parquet` ||
    file.startsWith(`${split}-`) ||
    file.startsWith(`${split}_`) ||
    file.startsWith(`${split}.`) ||
    // The older conversion layout: {config}/{name}-{split}[-00000-of-00002].parquet
    file.endsWith(`-${split}.parquet`) ||
    new RegExp(`-${escapeRegExp(split)}-\\d{5}-of-\\d{5}\\.parquet$`).test(file)
  );
}

/**
 * The parquet files of `split` among a repository's paths, sorted (shard order). When the
 * split's files lie under several top-level folders (configs), `config` picks one; without
 * it, `default` is used if present, else it is an error listing them.
 */
export function selectSplitFiles(
  paths: readonly string[],
  split: string,
  config?: string,
  repo = 'the dataset',
): string[] {
  let matches = paths.filter((p) => p.endsWith('.parquet') && isSplitFile(p, split));
  if (config !== undefined) {
    matches = matches.filter((p) => p.split('/').slice(0, -1).includes(config));
  }
  const groups = new Set(matches.map((p) => (p.includes('/') ? p.split('/')[0]! : '')));
  if (config === undefined && groups.size > 1) {
    if (groups.has('default')) matches = matches.filter((p) => p.startsWith('default/'));
    else {
      throw new DataError(
        'no-split',
        `${repo} has split '${split}' in several configs: ${[...groups].join(', ')}`,
        'choose one with the `config` option',
      );
    }
  }
  return matches.sort();
}

export interface HubSplitOptions {
  repo: string;
  revision: string;
  config?: string;
  split: string;
  /** Columns to read (others are skipped); missing ones are reported by the record mapper. */
  columns?: string[];
  hub?: Partial<HubSettings>;
  onProgress?: (event: DownloadProgress) => void;
}

/** The rows of one split of a hub dataset, and all the columns its files have. */
export async function loadHubSplit(
  options: HubSplitOptions,
): Promise<{ rows: DataRecord[]; columns: string[] }> {
  const tried: string[] = [];
  let parquetSeen: string[] = [];
  for (const revision of unique([options.revision, PARQUET_CONVERSION_REVISION])) {
    const fallback = revision !== options.revision;
    let listing;
    try {
      listing = await listRepo({ repo: options.repo, repoType: 'dataset', revision, hub: options.hub });
    } catch (error) {
      // A repository without the conversion branch simply has no converted files.
      if (
        fallback &&
        error instanceof HubError &&
        (error.kind === 'revision-not-found' || error.kind === 'offline-miss')
      )
        continue;
      throw error;
    }
    tried.push(revision);
    const files = selectSplitFiles(listing.paths, options.split, options.config, `dataset '${options.repo}'`);
    parquetSeen = parquetSeen.concat(listing.paths.filter((p) => p.endsWith('.parquet')));
    if (files.length === 0) continue;
    const downloaded = await downloadRepoFiles({
      repo: options.repo,
      repoType: 'dataset',
      revision: listing.commit,
      files,
      hub: options.hub,
      onProgress: options.onProgress,
    });
    const rows: DataRecord[] = [];
    const columns = new Set<string>();
    for (const file of files) {
      const read = await readParquetFile(downloaded.files[file]!, options.columns);
      for (const row of read.rows) rows.push(row);
      for (const column of read.columns) columns.add(column);
    }
    return { rows, columns: [...columns] };
  }
  throw new DataError(
    'no-split',
    `dataset '${options.repo}' has no parquet files for split '${options.split}'${options.config ? ` in config '${options.config}'` : ''} (looked at revisions ${tried.join(', ')})`,
    parquetSeen.length > 0
      ? `its parquet files: ${parquetSeen.slice(0, 12).join(', ')}`
      : 'the repository has no parquet files; download the data and pass local files instead',
  );
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
