/**
 * The hub's HTTP API, as far as downloading needs it. Every request is made here, so that
 * errors name the repository, file and URL, bytes can be counted, and a hub (or a mirror at
 * HF_ENDPOINT) is trusted with nothing:
 *
 *   GET  /api/{type}s/{repo}/revision/{revision}        → { sha } (the commit)
 *   GET  /api/{type}s/{repo}/tree/{commit}?recursive=…  → file entries (paged by Link)
 *   POST /api/{type}s/{repo}/paths-info/{commit}        → entries for the given paths
 *   GET  /{datasets/}{repo}/resolve/{commit}/{path}     → the file's bytes
 *
 * - A metadata request gets `HF_HUB_ETAG_TIMEOUT` seconds for its whole answer and at most
 *   `MAX_METADATA_BYTES`; a file body may go `HF_HUB_DOWNLOAD_TIMEOUT` seconds without a byte.
 * - Listings follow `Link: rel="next"` only on the endpoint's origin, never to a page or
 *   cursor already seen, and for at most `maxListingPages` pages.
 * - Commits must be 40 hex digits, blob ids 40 (git) or 64 (LFS sha256) hex digits, file
 *   paths relative with no `.`/`..` segment, backslash or NUL: they become cache paths.
 */
import { HubError } from './errors.js';
import { isCommitHash, isGitOid, isSha256, repoPathProblem } from './cache.js';
import type { RepoRef } from './cache.js';
import type { HubSettings } from './settings.js';

/** Largest metadata answer read (a listing page of the hub is some 300 KB). */
const MAX_METADATA_BYTES = 64 * 1024 * 1024;
/** Longest delay `setTimeout` honours (larger ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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

/** A HubError for a failed HTTP answer to `url`, from its status and the hub's `X-Error-Code`. */
function errorForStatus(
  ref: RepoRef,
  revision: string,
  response: Response,
  url: string,
  what: string,
  path?: string,
): HubError {
  const repo = describeRepo(ref);
  const status = response.status;
  const errorCode = response.headers.get('X-Error-Code');
  if (errorCode === 'RepoNotFound' || (status === 404 && !errorCode && path === undefined)) {
    return new HubError(
      'repo-not-found',
      `${repo} was not found at ${url}`,
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
  return new HubError('bad-response', `the hub answered HTTP ${status} at ${url} for ${what} (${repo})`);
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

/** An AbortSignal that fires `seconds` after the last `restart()` (or its creation). */
class Watchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly seconds: number) {
    this.restart();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the time ran out. */
  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  restart(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(), Math.min(this.seconds * 1000, MAX_TIMER_MS));
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** The answer to a metadata request: its headers and parsed JSON body. */
interface MetadataAnswer {
  headers: Headers;
  body: unknown;
}

/**
 * One metadata request (JSON answer), all of it within `HF_HUB_ETAG_TIMEOUT`. A failed
 * status is a HubError from `errorForStatus`; `what` names the request in messages.
 */
async function requestMetadata(
  settings: HubSettings,
  ref: RepoRef,
  revision: string,
  url: string,
  init: RequestInit,
  what: string,
): Promise<MetadataAnswer> {
  const watchdog = new Watchdog(settings.etagTimeoutSeconds);
  try {
    const response = await settings.fetch(url, {
      ...init,
      headers: { Accept: 'application/json', ...authHeaders(settings), ...init.headers },
      signal: watchdog.signal,
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw errorForStatus(ref, revision, response, url, what);
    }
    const text = await readLimited(response, url, ref);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HubError('bad-response', `the hub's answer at ${url} (${describeRepo(ref)}) is not JSON`);
    }
    return { headers: response.headers, body };
  } catch (error) {
    if (error instanceof HubError) throw error;
    if (watchdog.fired) {
      throw new HubError(
        'timeout',
        `the hub did not answer ${url} within ${settings.etagTimeoutSeconds} s (HF_HUB_ETAG_TIMEOUT), for ${what} of ${describeRepo(ref)}`,
        'raise HF_HUB_ETAG_TIMEOUT (seconds) for a slow hub, check HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only the cache',
      );
    }
    throw networkError(error, ref, what);
  } finally {
    watchdog.stop();
  }
}

/** The body as text, refusing more than `MAX_METADATA_BYTES`. */
async function readLimited(response: Response, url: string, ref: RepoRef): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    if (bytes > MAX_METADATA_BYTES) {
      throw new HubError(
        'bad-response',
        `the hub's answer at ${url} (${describeRepo(ref)}) is larger than ${MAX_METADATA_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The commit hash a revision (branch, tag, `refs/…`) currently points to. */
export async function resolveCommit(settings: HubSettings, ref: RepoRef, revision: string): Promise<string> {
  const url = `${settings.endpoint}/api/${apiKind(ref)}/${ref.repo}/revision/${encodeURIComponent(revision)}`;
  const { body } = await requestMetadata(settings, ref, revision, url, {}, `revision '${revision}'`);
  const sha =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['sha'] : undefined;
  if (typeof sha !== 'string' || !isCommitHash(sha)) {
    throw new HubError(
      typeof sha === 'string' ? 'unsafe-path' : 'bad-response',
      `the hub's answer at ${url} for revision '${revision}' of ${describeRepo(ref)} has no commit hash (40 hex digits)${typeof sha === 'string' ? `: ${JSON.stringify(sha)}` : ''}`,
      'the hub at HF_ENDPOINT sent a malformed answer; nothing was cached. Check that HF_ENDPOINT is a hub you trust',
    );
  }
  return sha;
}

/**
 * One file entry of a tree or paths-info answer (at `url`), checked: undefined for folders,
 * else its path, size and content id, each safe to use in the cache.
 */
function fileEntry(item: unknown, url: string, ref: RepoRef): RepoFileEntry | undefined {
  if (typeof item !== 'object' || item === null) {
    throw new HubError(
      'bad-response',
      `the hub's answer at ${url} (${describeRepo(ref)}) has a non-object entry`,
    );
  }
  const { type, path, size, oid, lfs } = item as Record<string, unknown>;
  if (type !== undefined && type !== 'file') return undefined;
  const lfsInfo = typeof lfs === 'object' && lfs !== null ? (lfs as Record<string, unknown>) : undefined;
  const entry = {
    path,
    size: lfsInfo ? lfsInfo['size'] : size,
    etag: lfsInfo ? lfsInfo['oid'] : oid,
    lfs: lfsInfo !== undefined,
  };
  const problem = entryProblem(entry);
  if (problem) {
    throw new HubError(
      problem.unsafe ? 'unsafe-path' : 'bad-response',
      `the hub's answer at ${url} (${describeRepo(ref)}) has a file entry ${problem.message}; nothing was cached`,
      'the hub at HF_ENDPOINT sent a malformed or hostile answer. Check that HF_ENDPOINT is a hub you trust',
    );
  }
  return entry as RepoFileEntry;
}

/**
 * What is wrong with a file entry (from the hub or from a cached listing), or undefined
 * when its path and content id are safe cache names and its size a byte count.
 */
export function entryProblem(entry: {
  path: unknown;
  size: unknown;
  etag: unknown;
  lfs: unknown;
}): { message: string; unsafe: boolean } | undefined {
  const { path, size, etag, lfs } = entry;
  if (typeof path !== 'string') return { message: 'without a path', unsafe: false };
  const pathProblem = repoPathProblem(path);
  if (pathProblem) return { message: `with path ${JSON.stringify(path)}: ${pathProblem}`, unsafe: true };
  if (typeof etag !== 'string' || !(lfs === true ? isSha256(etag) : isGitOid(etag))) {
    const wanted =
      lfs === true ? 'lfs.oid must be a sha256 (64 hex digits)' : 'oid must be a git blob id (40 hex digits)';
    return { message: `'${path}' with content id ${JSON.stringify(etag)}: ${wanted}`, unsafe: true };
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    return { message: `'${path}' with size ${JSON.stringify(size)}: not a byte count`, unsafe: false };
  }
  return undefined;
}

/** The `rel="next"` target of a `Link` header, if any. */
function nextLinkTarget(link: string | null): string | undefined {
  for (const part of (link ?? '').split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(match[2]!)) return match[1];
  }
  return undefined;
}

/** Every file of the repository at `commit` (recursive listing, all pages). */
export async function listRepoFiles(
  settings: HubSettings,
  ref: RepoRef,
  commit: string,
): Promise<RepoFileEntry[]> {
  const origin = new URL(settings.endpoint).origin;
  const entries = new Map<string, RepoFileEntry>();
  const seenPages = new Set<string>();
  const seenCursors = new Set<string>();
  const refuse = (url: string, why: string): HubError =>
    new HubError(
      'bad-response',
      `the listing of ${describeRepo(ref)} at commit ${commit} was refused at ${url}: ${why}`,
      'the hub at HF_ENDPOINT pages its listing wrongly. Check that HF_ENDPOINT is a hub you trust',
    );
  let url: string | undefined =
    `${settings.endpoint}/api/${apiKind(ref)}/${ref.repo}/tree/${commit}?recursive=true&expand=false`;
  for (let page = 1; url !== undefined; page++) {
    seenPages.add(url);
    const { headers, body } = await requestMetadata(settings, ref, commit, url, {}, 'the file listing');
    if (!Array.isArray(body)) throw refuse(url, 'the page is not a list of entries');
    for (const item of body) {
      const entry = fileEntry(item, url, ref);
      if (!entry) continue;
      if (entries.has(entry.path)) throw refuse(url, `file '${entry.path}' is listed twice`);
      entries.set(entry.path, entry);
    }
    const target = nextLinkTarget(headers.get('Link'));
    if (target === undefined) break;
    let next: URL;
    try {
      next = new URL(target, url);
    } catch {
      throw refuse(url, `its next-page link ${JSON.stringify(target)} is not a URL`);
    }
    if (next.origin !== origin)
      throw refuse(url, `its next page ${next.href} is on another origin than ${origin}`);
    if (seenPages.has(next.href)) throw refuse(url, `its next page ${next.href} was already listed`);
    const cursor = next.searchParams.get('cursor');
    if (cursor !== null && seenCursors.has(cursor))
      throw refuse(url, `its next page repeats cursor ${cursor}`);
    if (cursor !== null) seenCursors.add(cursor);
    if (page >= settings.maxListingPages) {
      throw refuse(url, `the listing goes on past ${settings.maxListingPages} pages`);
    }
    url = next.href;
  }
  return [...entries.values()];
}

/** Entries for the given paths at `commit`; a path the repository lacks is a `file-not-found` error. */
export async function pathEntries(
  settings: HubSettings,
  ref: RepoRef,
  commit: string,
  revision: string,
  paths: string[],
): Promise<RepoFileEntry[]> {
  const url = `${settings.endpoint}/api/${apiKind(ref)}/${ref.repo}/paths-info/${commit}`;
  const { body } = await requestMetadata(
    settings,
    ref,
    revision,
    url,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ paths, expand: false }),
    },
    `paths ${paths.join(', ')}`,
  );
  if (!Array.isArray(body)) {
    throw new HubError(
      'bad-response',
      `the hub's answer at ${url} (${describeRepo(ref)}) is not a list of entries`,
    );
  }
  const byPath = new Map<string, RepoFileEntry>();
  for (const item of body) {
    const entry = fileEntry(item, url, ref);
    if (entry) byPath.set(entry.path, entry);
  }
  return paths.map((path) => {
    const entry = byPath.get(path);
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

/**
 * The bytes of a file, chunk by chunk. Waiting for the answer or for the next chunk longer
 * than `HF_HUB_DOWNLOAD_TIMEOUT` seconds is a `timeout` HubError; a slow but steady body is
 * never cut off.
 */
export async function* fileChunks(
  settings: HubSettings,
  ref: RepoRef,
  commit: string,
  revision: string,
  path: string,
): AsyncGenerator<Uint8Array> {
  const url = resolveUrl(settings, ref, commit, path);
  const watchdog = new Watchdog(settings.downloadTimeoutSeconds);
  let loaded = 0;
  try {
    let response: Response;
    try {
      response = await settings.fetch(url, { headers: authHeaders(settings), signal: watchdog.signal });
    } catch (error) {
      if (watchdog.fired) throw error;
      throw networkError(error, ref, `file '${path}'`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw errorForStatus(ref, revision, response, url, `file '${path}'`, path);
    }
    for await (const chunk of response.body) {
      watchdog.restart();
      loaded += chunk.byteLength;
      yield chunk;
    }
  } catch (error) {
    if (!watchdog.fired || error instanceof HubError) throw error;
    throw new HubError(
      'timeout',
      `download of '${path}' from ${describeRepo(ref)} stalled: nothing arrived for ${settings.downloadTimeoutSeconds} s (HF_HUB_DOWNLOAD_TIMEOUT) after ${loaded} bytes of ${url}; nothing was cached`,
      'raise HF_HUB_DOWNLOAD_TIMEOUT (seconds without data) for a slow hub, or run again',
    );
  } finally {
    watchdog.stop();
  }
}
