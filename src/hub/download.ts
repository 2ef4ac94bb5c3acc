/**
 * `downloadRepoFiles`: fetch some files of a model or dataset repository into the
 * Hugging Face cache and return their local paths.
 *
 * What it does, in order:
 * 1. Cache first: when the revision's commit is known locally (a commit hash, or
 *    `refs/{revision}` in the cache) and every wanted file is in that snapshot, it returns
 *    without touching the network (pass `refresh: true` to ask the hub for a newer commit).
 * 2. Offline (`HF_HUB_OFFLINE=1`): anything missing is a `HubError` of kind `offline-miss`.
 * 3. Otherwise it resolves the revision to a commit, lists the repository (for patterns) or
 *    asks for the named paths' info, and downloads each missing blob to a temporary name,
 *    checking size and hash before renaming it into place. A failed, stalled or oversized
 *    download removes its temporary file: the cache holds only complete, verified blobs.
 *
 * What the hub answers is checked before it names anything on disk (see hub-api.ts), and
 * a cached file is only used when it resolves inside the repository's cache folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HubError } from './errors.js';
import { RepoCache, checkRepoPath, isCommitHash, repoFolderName } from './cache.js';
import type { RepoRef, RepoType } from './cache.js';
import {
  describeRepo,
  entryProblem,
  fileChunks,
  listRepoFiles,
  pathEntries,
  resolveCommit,
} from './hub-api.js';
import type { RepoFileEntry } from './hub-api.js';
import { matchPaths } from './patterns.js';
import { hubSettings } from './settings.js';
import type { HubSettings } from './settings.js';

/** Progress of one file; `loaded`/`total` in bytes. Sent at start, every 256 KiB, and at the end. */
export interface DownloadProgress {
  /** Path of the file inside the repository. */
  path: string;
  /** `cached`: already on disk, nothing fetched; `downloading`: bytes arriving; `done`: stored. */
  status: 'cached' | 'downloading' | 'done';
  loaded: number;
  total: number;
  /** Bytes received / to receive over all files of this call that are not cached. */
  overallLoaded: number;
  overallTotal: number;
}

export interface DownloadRepoFilesOptions {
  /** `org/name`. */
  repo: string;
  /** Default `model`. */
  repoType?: RepoType;
  /** Branch, tag, `refs/…` or commit hash; default `main`. */
  revision?: string;
  /** Exact repository paths to fetch. */
  files?: string[];
  /** fnmatch-style patterns (`*.json`, `data/train-*`); every matching file is fetched. */
  patterns?: string[];
  /** Called as bytes arrive. */
  onProgress?: (event: DownloadProgress) => void;
  /** Ask the hub for the revision's current commit even when the cache has a snapshot. */
  refresh?: boolean;
  /** Overrides of the environment's settings (endpoint, token, offline, cache dirs, fetch). */
  hub?: Partial<HubSettings>;
}

export interface DownloadedRepoFiles extends RepoRef {
  revision: string;
  /** The commit the files were taken from. */
  commit: string;
  /** `{cache}/…/snapshots/{commit}`: the files below it keep their repository paths. */
  snapshotDir: string;
  /** Repository path → local path, in the order asked for (sorted for patterns). */
  files: Record<string, string>;
  /** True when nothing was requested from the network. */
  fromCache: boolean;
}

/** Emit progress at most once per this many bytes, besides start and end. */
const PROGRESS_STEP = 256 * 1024;

/** The settings, repository and revision (default `main`) a call names, the ids checked. */
function repoAt(options: ListRepoOptions): { settings: HubSettings; ref: RepoRef; revision: string } {
  const settings = hubSettings(options.hub);
  const ref: RepoRef = { repo: options.repo, repoType: options.repoType ?? 'model' };
  checkRepoId(ref.repo);
  const revision = options.revision ?? 'main';
  checkRepoPath(revision, 'revision');
  return { settings, ref, revision };
}

/** Downloads (or finds in the cache) the requested files of a repository. */
export async function downloadRepoFiles(options: DownloadRepoFilesOptions): Promise<DownloadedRepoFiles> {
  const { settings, ref, revision } = repoAt(options);
  const files = options.files ?? [];
  const patterns = options.patterns ?? [];
  if (files.length === 0 && patterns.length === 0) {
    throw new HubError(
      'bad-setting',
      `nothing to download from ${describeRepo(ref)}`,
      'pass `files` or `patterns`',
    );
  }
  for (const file of files) checkRepoPath(file);
  const cache = new RepoCache(settings.cacheDir, ref);
  const listings = new ListingCache(settings.layercutCacheDir, ref);

  // 1. Cache first.
  if (!options.refresh || settings.offline) {
    const commit = await cache.readRef(revision);
    if (commit) {
      const paths = await wantedPathsFromCache(cache, listings, commit, files, patterns, settings.offline);
      if (paths && (await allCached(cache, commit, paths))) {
        const result = resultFor(ref, revision, commit, cache, paths, true);
        for (const path of paths) {
          const size = (await stat(cache.filePath(commit, path))).size;
          report(options, path, 'cached', size, size, 0, 0);
        }
        return result;
      }
    }
    if (settings.offline) {
      throw offlineMiss(ref, revision, files, patterns, settings, commit !== undefined);
    }
  }

  // 2. Ask the hub.
  const commit = isCommitHash(revision) ? revision : await resolveCommit(settings, ref, revision);
  const entries = await wantedEntries(settings, ref, listings, commit, revision, files, patterns);
  const missing: RepoFileEntry[] = [];
  for (const entry of entries) {
    if (await cache.cachedFile(commit, entry.path)) continue;
    if (await cache.cachedBlob(entry.etag)) await cache.link(commit, entry.path, entry.etag);
    else missing.push(entry);
  }
  const overall = { loaded: 0, total: missing.reduce((sum, e) => sum + e.size, 0) };
  for (const entry of entries) {
    if (!missing.includes(entry))
      report(options, entry.path, 'cached', entry.size, entry.size, overall.loaded, overall.total);
  }
  for (const entry of missing) {
    await downloadBlob(settings, ref, cache, commit, revision, entry, options, overall);
    await cache.link(commit, entry.path, entry.etag);
  }
  await cache.writeRef(revision, commit);
  return resultFor(
    ref,
    revision,
    commit,
    cache,
    entries.map((e) => e.path),
    false,
  );
}

export interface ListRepoOptions {
  repo: string;
  repoType?: RepoType;
  revision?: string;
  refresh?: boolean;
  hub?: Partial<HubSettings>;
}

export interface RepoListing extends RepoRef {
  revision: string;
  commit: string;
  /** Every file path of the repository at `commit` (offline without a cached listing: the cached ones). */
  paths: string[];
  fromCache: boolean;
}

/**
 * All file paths of a repository revision, cache first like `downloadRepoFiles`: a listing
 * of a commit is stored under the layercut cache, since a commit's files never change.
 * Pass the returned `commit` as `revision` to `downloadRepoFiles` to fetch from the same snapshot.
 */
export async function listRepo(options: ListRepoOptions): Promise<RepoListing> {
  const { settings, ref, revision } = repoAt(options);
  const cache = new RepoCache(settings.cacheDir, ref);
  const listings = new ListingCache(settings.layercutCacheDir, ref);
  if (!options.refresh || settings.offline) {
    const commit = await cache.readRef(revision);
    if (commit) {
      const listing = await listings.read(commit);
      if (listing) return { ...ref, revision, commit, paths: listing.map((e) => e.path), fromCache: true };
      const present = settings.offline ? await cache.snapshotFiles(commit) : [];
      if (present.length > 0) return { ...ref, revision, commit, paths: present, fromCache: true };
    }
    if (settings.offline) {
      throw new HubError(
        'offline-miss',
        `HF_HUB_OFFLINE is set and revision '${revision}' of ${describeRepo(ref)} is not in the cache (cache: ${settings.cacheDir})`,
        'unset HF_HUB_OFFLINE (or set it to 0) and run once online to fill the cache',
      );
    }
  }
  const commit = isCommitHash(revision) ? revision : await resolveCommit(settings, ref, revision);
  const listing = await listings.readOrFetch(settings, ref, commit);
  await cache.writeRef(revision, commit);
  return { ...ref, revision, commit, paths: listing.map((e) => e.path), fromCache: false };
}

function checkRepoId(repo: string): void {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || repo.includes('..')) {
    throw new HubError(
      'bad-setting',
      `'${repo}' is not a repository id`,
      'write it as org/name, e.g. the id shown on the hub page',
    );
  }
}

function report(
  options: DownloadRepoFilesOptions,
  path: string,
  status: DownloadProgress['status'],
  loaded: number,
  total: number,
  overallLoaded: number,
  overallTotal: number,
): void {
  options.onProgress?.({ path, status, loaded, total, overallLoaded, overallTotal });
}

function resultFor(
  ref: RepoRef,
  revision: string,
  commit: string,
  cache: RepoCache,
  paths: string[],
  fromCache: boolean,
): DownloadedRepoFiles {
  return {
    ...ref,
    revision,
    commit,
    snapshotDir: cache.snapshotDir(commit),
    files: Object.fromEntries(paths.map((path) => [path, cache.filePath(commit, path)])),
    fromCache,
  };
}

async function allCached(cache: RepoCache, commit: string, paths: string[]): Promise<boolean> {
  for (const path of paths) if (!(await cache.cachedFile(commit, path))) return false;
  return true;
}

/**
 * The paths wanted, decided from local knowledge only: the explicit files, plus pattern
 * matches against the cached listing of the commit (or, offline and without a listing, the
 * files present in the snapshot). Undefined when patterns cannot be resolved locally.
 */
async function wantedPathsFromCache(
  cache: RepoCache,
  listings: ListingCache,
  commit: string,
  files: string[],
  patterns: string[],
  offline: boolean,
): Promise<string[] | undefined> {
  if (patterns.length === 0) return files;
  const listing = await listings.read(commit);
  const available = listing
    ? listing.map((e) => e.path)
    : offline
      ? await cache.snapshotFiles(commit)
      : undefined;
  if (!available) return undefined;
  const matched = matchPaths(available, patterns);
  if (matched.length === 0) return undefined;
  return unique([...files, ...matched]);
}

async function wantedEntries(
  settings: HubSettings,
  ref: RepoRef,
  listings: ListingCache,
  commit: string,
  revision: string,
  files: string[],
  patterns: string[],
): Promise<RepoFileEntry[]> {
  const entries: RepoFileEntry[] =
    files.length > 0 ? await pathEntries(settings, ref, commit, revision, files) : [];
  if (patterns.length > 0) {
    const listing = await listings.readOrFetch(settings, ref, commit);
    const matched = new Set(
      matchPaths(
        listing.map((e) => e.path),
        patterns,
      ),
    );
    if (matched.size === 0) {
      const sample = listing
        .slice(0, 20)
        .map((e) => e.path)
        .join(', ');
      throw new HubError(
        'no-match',
        `no file of ${describeRepo(ref)} at revision '${revision}' matches ${patterns.join(', ')}`,
        `its files include: ${sample || '(none)'}`,
      );
    }
    for (const entry of listing) {
      if (matched.has(entry.path) && !entries.some((e) => e.path === entry.path)) entries.push(entry);
    }
  }
  return entries;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function offlineMiss(
  ref: RepoRef,
  revision: string,
  files: string[],
  patterns: string[],
  settings: HubSettings,
  knownRevision: boolean,
): HubError {
  const wanted = [...files, ...patterns].join(', ');
  const why = knownRevision
    ? `the cached snapshot lacks ${wanted}`
    : `revision '${revision}' was never downloaded`;
  return new HubError(
    'offline-miss',
    `HF_HUB_OFFLINE is set and ${describeRepo(ref)} is not fully in the cache (${why}; cache: ${settings.cacheDir})`,
    'unset HF_HUB_OFFLINE (or set it to 0) and run once online to fill the cache, or point HF_HUB_CACHE at a cache that has it',
  );
}

/** Streams one file into `blobs/{etag}` via a temporary file, checking size and hash. */
async function downloadBlob(
  settings: HubSettings,
  ref: RepoRef,
  cache: RepoCache,
  commit: string,
  revision: string,
  entry: RepoFileEntry,
  options: DownloadRepoFilesOptions,
  overall: { loaded: number; total: number },
): Promise<void> {
  const blobPath = cache.blobPath(entry.etag);
  const temporary = `${blobPath}.${randomBytes(6).toString('hex')}.incomplete`;
  await mkdir(dirname(blobPath), { recursive: true });
  const hash = entry.lfs ? createHash('sha256') : createHash('sha1').update(`blob ${entry.size}\0`);
  let loaded = 0;
  const overallStart = overall.loaded;
  const handle = await open(temporary, 'w');
  try {
    report(options, entry.path, 'downloading', 0, entry.size, overall.loaded, overall.total);
    let lastReport = 0;
    try {
      for await (const chunk of fileChunks(settings, ref, commit, revision, entry.path)) {
        if (loaded + chunk.byteLength > entry.size) {
          throw new HubError(
            'integrity',
            `file '${entry.path}' of ${describeRepo(ref)} is longer than the ${entry.size} bytes the hub announced; nothing was cached`,
            'run again; if it persists, the mirror at HF_ENDPOINT may serve stale files',
          );
        }
        hash.update(chunk);
        await handle.write(chunk);
        loaded += chunk.byteLength;
        overall.loaded = overallStart + loaded;
        if (loaded - lastReport >= PROGRESS_STEP) {
          lastReport = loaded;
          report(options, entry.path, 'downloading', loaded, entry.size, overall.loaded, overall.total);
        }
      }
    } catch (error) {
      throw interrupted(ref, entry, loaded, error);
    }
    if (loaded !== entry.size) throw interrupted(ref, entry, loaded, undefined);
    const digest = hash.digest('hex');
    if (digest !== entry.etag) {
      throw new HubError(
        'integrity',
        `file '${entry.path}' of ${describeRepo(ref)} arrived with ${entry.lfs ? 'sha256' : 'git sha1'} ${digest}, but the hub announced ${entry.etag}; nothing was cached`,
        'run again; if it persists, the mirror at HF_ENDPOINT may serve stale files',
      );
    }
    await handle.close();
    await rename(temporary, blobPath);
    report(options, entry.path, 'done', loaded, entry.size, overall.loaded, overall.total);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    overall.loaded = overallStart;
    throw error;
  }
}

function interrupted(ref: RepoRef, entry: RepoFileEntry, loaded: number, error: unknown): HubError {
  const reason =
    error instanceof Error ? `: ${error.cause instanceof Error ? error.cause.message : error.message}` : '';
  if (error instanceof HubError) return error;
  return new HubError(
    'interrupted',
    `download of '${entry.path}' from ${describeRepo(ref)} stopped after ${loaded} of ${entry.size} bytes${reason}; nothing was cached`,
    'run again to restart the download',
  );
}

/** Cached recursive listings of repository commits (a commit's files never change). */
class ListingCache {
  private readonly dir: string;

  constructor(layercutCacheDir: string, ref: RepoRef) {
    this.dir = join(layercutCacheDir, 'hub-listings', repoFolderName(ref));
  }

  async read(commit: string): Promise<RepoFileEntry[] | undefined> {
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.dir, `${commit}.json`), 'utf8'));
      // A listing is trusted no more than the hub that sent it: one bad entry and it is fetched again.
      const valid =
        Array.isArray(parsed) &&
        parsed.every(
          (e: unknown) => typeof e === 'object' && e !== null && !entryProblem(e as RepoFileEntry),
        );
      return valid ? (parsed as RepoFileEntry[]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The listing from the cache, else from the hub (then cached). */
  async readOrFetch(settings: HubSettings, ref: RepoRef, commit: string): Promise<RepoFileEntry[]> {
    const cached = await this.read(commit);
    if (cached) return cached;
    const listing = await listRepoFiles(settings, ref, commit);
    await this.write(commit, listing);
    return listing;
  }

  async write(commit: string, entries: RepoFileEntry[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${commit}.json`);
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(entries));
    await rename(temporary, path);
  }
}
