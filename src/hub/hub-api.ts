/**
 * The hub's HTTP API, as far as downloading needs it. Metadata calls go through
 * `@huggingface/hub` (`listFiles`, `pathsInfo`); the commit lookup and the file GET are
 * made here, so that errors name the repository and file, and bytes can be counted.
 *
 *   GET  /api/{type}s/{repo}/revision/{revision}        → { sha } (the commit)
 *   GET  /api/{type}s/{repo}/tree/{commit}?recursive=…  → file entries (paged by Link)
 *   POST /api/{type}s/{repo}/paths-info/{commit}        → entries for the given paths
 *   GET  /{datasets/}{repo}/resolve/{commit}/{path}     → the file's bytes
 */
import { HubApiError, listFiles, pathsInfo } from '@huggingface/hub';
import { HubError } from './errors.js';
import type { RepoRef } from './cache.js';
import type { HubSettings } from './settings.js';

/** One file of a repository at a commit. */
export interface RepoFileEntry {
  /** Path inside the repository, `/`-separated. */
  path: string;
  /** Size in bytes of the file's contents (of the real file for LFS files, not the pointer). */
  size: number;
  /** Content id: the LFS sha256 for LFS files, else the git blob sha1. Names the cache blob. */
  etag: string;
  /** True when `etag` is a sha256 of the contents (LFS), false when a git blob sha1. */
  lfs: boolean;
}

/** `model` → `models`, for API paths. */
function apiKind(ref: RepoRef): string {
  return `${ref.repoType}s`;
}

/** `dataset foo/bar` for messages. */
export function describeRepo(ref: RepoRef): string {
  return `${ref.repoType} repository '${ref.repo}'`;
}

function authHeaders(settings: HubSettings): Record<string, string> {
  return settings.token ? { Authorization: `Bearer ${settings.token}` } : {};
}

/** The URL that serves a file's bytes. */
export function resolveUrl(settings: HubSettings, ref: RepoRef, revision: string, path: string): string {
  const prefix = ref.repoType === 'dataset' ? 'datasets/' : '';
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${settings.endpoint}/${prefix}${ref.repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
}

/** A HubError for a failed HTTP answer, from its status and the hub's `X-Error-Code`. */
function errorForStatus(
  ref: RepoRef,
  revision: string,
  status: number,
  errorCode: string | null,
  what: string,
  path?: string,
): HubError {
  const repo = describeRepo(ref);
  if (errorCode === 'RepoNotFound' || (status === 404 && !errorCode && path === undefined)) {
    return new HubError(
      'repo-not-found',
      `${repo} was not found at ${what}`,
      'check the repository id and its type (model or dataset); a private or gated repository needs HF_TOKEN',
    );
  }
  if (errorCode === 'RevisionNotFound') {
    return new HubError(
      'revision-not-found',
      `${repo} has no revision '${revision}'`,
      'use a branch, tag or commit hash that exists',
    );
  }
  if (errorCode === 'EntryNotFound' || (status === 404 && path !== undefined)) {
    return new HubError(
      'file-not-found',
      `file '${path ?? '?'}' was not found in ${repo} at revision '${revision}'`,
      'check the file name, or list the repository files on the hub',
    );
  }
  if (status === 401 || status === 403 || errorCode === 'GatedRepo') {
    return new HubError(
      'unauthorized',
      `the hub refused access to ${repo} (HTTP ${status})`,
      'set HF_TOKEN to a token that can read it (accept the terms first for a gated repository)',
    );
  }
  return new HubError('bad-response', `the hub answered HTTP ${status} for ${what} (${repo})`);
}

/** Converts errors thrown by `@huggingface/hub` and by fetch into HubErrors. */
function fromLibraryError(error: unknown, ref: RepoRef, revision: string, what: string): HubError {
  if (error instanceof HubError) return error;
  if (error instanceof HubApiError) {
    const code = /not found/i.test(error.message) && /repo/i.test(error.message) ? 'RepoNotFound' : null;
    return errorForStatus(ref, revision, error.statusCode, code, what);
  }
  return networkError(error, ref, what);
}

function networkError(error: unknown, ref: RepoRef, what: string): HubError {
  const reason =
    error instanceof Error
      ? error.cause instanceof Error
        ? error.cause.message
        : error.message
      : String(error);
  return new HubError(
    'interrupted',
    `could not reach the hub for ${what} (${describeRepo(ref)}): ${reason}`,
    'check the network and HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only the local cache',
  );
}

/** The commit hash a revision (branch, tag, `refs/…`) currently points to. */
export async function resolveCommit(settings: HubSettings, ref: RepoRef, revision: string): Promise<string> {
  const url = `${settings.endpoint}/api/${apiKind(ref)}/${ref.repo}/revision/${encodeURIComponent(revision)}`;
  let response: Response;
  try {
    response = await settings.fetch(url, {
      headers: { Accept: 'application/json', ...authHeaders(settings) },
    });
  } catch (error) {
    throw networkError(error, ref, `revision '${revision}'`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw errorForStatus(
      ref,
      revision,
      response.status,
      response.headers.get('X-Error-Code'),
      `the hub at ${settings.endpoint}`,
    );
  }
  const body: unknown = await response.json().catch(() => undefined);
  const sha =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['sha'] : undefined;
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha)) {
    throw new HubError(
      'bad-response',
      `the hub's answer for revision '${revision}' of ${describeRepo(ref)} has no commit hash`,
    );
  }
  return sha;
}

interface LibraryEntry {
  type?: string;
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

function toEntry(item: LibraryEntry): RepoFileEntry | undefined {
  if (item.type !== undefined && item.type !== 'file') return undefined;
  if (item.lfs) return { path: item.path, size: item.lfs.size, etag: item.lfs.oid, lfs: true };
  if (item.oid) return { path: item.path, size: item.size, etag: item.oid, lfs: false };
  return undefined;
}

/** Every file of the repository at `commit` (recursive listing). */
export async function listRepoFiles(
  settings: HubSettings,
  ref: RepoRef,
  commit: string,
): Promise<RepoFileEntry[]> {
  const entries: RepoFileEntry[] = [];
  try {
    for await (const item of listFiles({
      repo: { type: ref.repoType, name: ref.repo },
      revision: commit,
      recursive: true,
      hubUrl: settings.endpoint,
      accessToken: settings.token,
      fetch: settings.fetch,
    })) {
      const entry = toEntry(item);
      if (entry) entries.push(entry);
    }
  } catch (error) {
    throw fromLibraryError(error, ref, commit, 'the file listing');
  }
  return entries;
}

/** Entries for the given paths at `commit`; a path the repository lacks is a `file-not-found` error. */
export async function pathEntries(
  settings: HubSettings,
  ref: RepoRef,
  commit: string,
  revision: string,
  paths: string[],
): Promise<RepoFileEntry[]> {
  let items: LibraryEntry[];
  try {
    items = await pathsInfo({
      repo: { type: ref.repoType, name: ref.repo },
      revision: commit,
      paths,
      hubUrl: settings.endpoint,
      accessToken: settings.token,
      fetch: settings.fetch,
    });
  } catch (error) {
    throw fromLibraryError(error, ref, revision, `paths ${paths.join(', ')}`);
  }
  const byPath = new Map(items.map((item) => [item.path, item]));
  return paths.map((path) => {
    const item = byPath.get(path);
    const entry = item && toEntry(item);
    if (!entry) {
      throw new HubError(
        'file-not-found',
        `file '${path}' was not found in ${describeRepo(ref)} at revision '${revision}'`,
        'check the file name, or list the repository files on the hub',
      );
    }
    return entry;
  });
}

/** Starts the GET of a file's bytes; the caller reads `body`. */
export async function openFile(
  settings: HubSettings,
  ref: RepoRef,
  commit: string,
  revision: string,
  path: string,
): Promise<ReadableStream<Uint8Array>> {
  const url = resolveUrl(settings, ref, commit, path);
  let response: Response;
  try {
    response = await settings.fetch(url, { headers: authHeaders(settings) });
  } catch (error) {
    throw networkError(error, ref, `file '${path}'`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw errorForStatus(
      ref,
      revision,
      response.status,
      response.headers.get('X-Error-Code'),
      `file '${path}'`,
      path,
    );
  }
  return response.body;
}
