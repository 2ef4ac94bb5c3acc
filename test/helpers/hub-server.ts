/**
 * A loopback stand-in for the Hugging Face hub, for tests: `node:http` on 127.0.0.1 at a
 * random port, serving local directories as model and dataset repositories with the real
 * hub's URL layout, headers and error codes.
 *
 *   GET  /api/{models|datasets}/{repo}/revision/{rev}         { id, sha, siblings }
 *   GET  /api/{models|datasets}/{repo}/tree/{rev}[/{path}]    entries (?recursive=true)
 *   POST /api/{models|datasets}/{repo}/paths-info/{rev}       entries for {"paths": […]}
 *   GET|HEAD /{repo}/resolve/{rev}/{path}                     model file bytes
 *   GET|HEAD /datasets/{repo}/resolve/{rev}/{path}            dataset file bytes
 *
 * File answers carry `ETag`, `X-Repo-Commit`, `Content-Length`, `Accept-Ranges`; a
 * `Range: bytes=a-b` request gets 206 with `Content-Range: bytes a-b/size`. Unknown repos
 * answer 401 `X-Error-Code: RepoNotFound` (as the hub does for anonymous callers), unknown
 * revisions 404 `RevisionNotFound`, missing files 404 `EntryNotFound`.
 *
 * Files with weight-like extensions (.safetensors, .parquet, .bin, …) are presented as Git
 * LFS files (`lfs.oid` = sha256), others as plain git blobs (`oid` = git sha1). A revision's
 * commit hash is derived from its files, so editing a served directory changes the commit.
 *
 * Usage:
 *   const hub = await LoopbackHub.start();
 *   hub.serve({ repoType: 'model', repo: 'org/tiny', dir: '/tmp/tiny' });
 *   process.env.HF_ENDPOINT = hub.url;   // or pass { endpoint: hub.url } as hub settings
 *   hub.interrupt('model.safetensors', 100);   // next GET of it dies after 100 bytes
 *   hub.requests                                // every request seen, for "no network" checks
 *   await hub.close();                          // also ends stalled and open connections
 *
 * It also plays a hostile mirror, for the client's defences:
 *   hub.hostile.listing = (entries) => …        // lie in listings and paths-info (traversal oids, paths, sizes)
 *   hub.hostile.commit = '../x'                 // lie about the revision's commit
 *   hub.hostile.nextLink = 'self'               // page links to itself | 'endless' | 'same-cursor' | { origin }
 *   hub.stall('/tree/', 5)                      // next such request: headers, 5 body bytes, then silence
 *   hub.stall('/revision/')                     // next such request: not even headers
 *   hub.throttle('model.safetensors', 65536, 50) // next GET: the body 64 KiB every 50 ms
 *   hub.reset()                                 // honest again: lies, faults, paging, token, log cleared
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type LoopbackRepoType = 'model' | 'dataset';

export interface ServedRepo {
  repoType: LoopbackRepoType;
  /** `org/name` or a bare `name`. */
  repo: string;
  /** Local directory whose files (recursively) make up the revision. */
  dir: string;
  /** Branch or ref name, e.g. `main` (default) or `refs/convert/parquet`. */
  revision?: string;
}

/** How a hostile mirror lies; `reset()` makes it honest again. */
export interface HostileMirror {
  /** Rewrites the file entries of every tree listing and paths-info answer. */
  listing?: (entries: TreeEntry[]) => TreeEntry[];
  /** Sent by the revision API instead of the real commit hash. */
  commit?: string;
  /**
   * Tree pages' `Link: rel="next"`: `self` to the page itself; `endless` to ever new (empty)
   * pages; `same-cursor` to new URLs that repeat the cursor; `{ origin }` to the same page
   * on another origin.
   */
  nextLink?: 'self' | 'endless' | 'same-cursor' | { origin: string };
}

/** What happens to the body of the next `times` GET/POSTs whose URL contains `fragment`. */
interface BodyFault {
  fragment: string;
  times: number;
  /** `drop`: `afterBytes` bytes, then the connection is cut; `stall`: then silence; `throttle`: slowly. */
  kind: 'drop' | 'stall' | 'throttle';
  /** Bytes sent before dropping or stalling; for `stall`, undefined means not even the headers. */
  afterBytes?: number;
  chunkBytes?: number;
  delayMs?: number;
}

/** The fault applying to a response's body, set when its request arrives. */
const faultOfResponse = new WeakMap<ServerResponse, BodyFault>();

export interface LoggedRequest {
  method: string;
  /** Path and query as received (still URL-encoded). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

interface FileInfo {
  path: string;
  bytes: Buffer;
  lfs: boolean;
  /** git blob sha1 of the stored object (the pointer file for LFS files). */
  gitOid: string;
  sha256: string;
  pointerSize: number;
}

/** Extensions the hub's default `.gitattributes` stores with Git LFS. */
const LFS_EXTENSIONS = [
  '.safetensors',
  '.parquet',
  '.bin',
  '.h5',
  '.msgpack',
  '.onnx',
  '.pt',
  '.arrow',
  '.zip',
];

function gitBlobSha1(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
}

function readTree(dir: string): FileInfo[] {
  const files: FileInfo[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      if (statSync(childAbs).isDirectory()) walk(childAbs, childRel);
      else {
        const bytes = readFileSync(childAbs);
        const lfs = LFS_EXTENSIONS.some((ext) => name.endsWith(ext));
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const pointer = lfsPointer(sha256, bytes.length);
        files.push({
          path: childRel,
          bytes,
          lfs,
          gitOid: gitBlobSha1(lfs ? pointer : bytes),
          sha256,
          pointerSize: pointer.length,
        });
      }
    }
  };
  walk(dir, '');
  return files;
}

export class LoopbackHub {
  /** Every request received, in order. */
  readonly requests: LoggedRequest[] = [];
  private readonly repos: (ServedRepo & { revision: string })[] = [];
  private bodyFaults: BodyFault[] = [];
  /** Lies this hub tells (a hostile mirror); empty for an honest hub. */
  hostile: HostileMirror = {};
  /** When set, every request must carry `Authorization: Bearer {token}`, else 401. */
  requiredToken: string | undefined;
  /** When set, tree listings are paged with this many entries per page (Link: rel="next"). */
  pageSize: number | undefined;

  private constructor(
    private readonly server: Server,
    /** Base URL, e.g. `http://127.0.0.1:41234`: use as HF_ENDPOINT. */
    readonly url: string,
  ) {}

  static async start(): Promise<LoopbackHub> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const hub = new LoopbackHub(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      hub.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(error));
      });
    });
    return hub;
  }

  /** Serves `dir` as a revision of a repository (replacing an earlier one of the same name). */
  serve(repo: ServedRepo): void {
    const revision = repo.revision ?? 'main';
    const i = this.repos.findIndex(
      (r) => r.repoType === repo.repoType && r.repo === repo.repo && r.revision === revision,
    );
    if (i >= 0) this.repos.splice(i, 1);
    this.repos.push({ ...repo, revision });
  }

  /** The next `times` GETs of a file named `path` (any repo) send `afterBytes` bytes, then drop the connection. */
  interrupt(path: string, afterBytes: number, times = 1): void {
    this.bodyFaults.push({ fragment: path, times, kind: 'drop', afterBytes });
  }

  /**
   * The next `times` requests whose URL contains `fragment` get their headers and the first
   * `afterBytes` bytes of the body, then nothing (until `close()`); without `afterBytes`,
   * not even the headers.
   */
  stall(fragment: string, afterBytes?: number, times = 1): void {
    this.bodyFaults.push({ fragment, times, kind: 'stall', afterBytes });
  }

  /** The next `times` requests whose URL contains `fragment` get their body `chunkBytes` every `delayMs`. */
  throttle(fragment: string, chunkBytes: number, delayMs: number, times = 1): void {
    this.bodyFaults.push({ fragment, times, kind: 'throttle', chunkBytes, delayMs });
  }

  /** An honest hub again: no lies, faults, paging or token; the request log emptied. */
  reset(): void {
    this.hostile = {};
    this.bodyFaults = [];
    this.pageSize = undefined;
    this.requiredToken = undefined;
    this.requests.length = 0;
  }

  /** The commit hash the hub reports for a served revision. */
  commitOf(repoType: LoopbackRepoType, repo: string, revision = 'main'): string {
    const served = this.find(repoType, repo, revision);
    if (!served) throw new Error(`not served: ${repoType} ${repo}@${revision}`);
    return this.commitFor(served, readTree(served.dir));
  }

  /** Requests whose URL contains `fragment` (e.g. '/resolve/'). */
  requestsMatching(fragment: string): LoggedRequest[] {
    return this.requests.filter((r) => r.url.includes(fragment));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -- routing --------------------------------------------------------------------

  private find(
    repoType: LoopbackRepoType,
    repo: string,
    revision: string,
  ): (ServedRepo & { revision: string }) | undefined {
    const candidates = this.repos.filter((r) => r.repoType === repoType && r.repo === repo);
    return (
      candidates.find((r) => r.revision === revision) ??
      candidates.find((r) => this.commitFor(r, readTree(r.dir)) === revision)
    );
  }

  private commitFor(repo: ServedRepo & { revision: string }, files: FileInfo[]): string {
    const hash = createHash('sha1').update(`${repo.repoType}:${repo.repo}@${repo.revision}\n`);
    for (const f of files) hash.update(`${f.path}:${f.gitOid}\n`);
    return hash.digest('hex');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    this.requests.push({ method, url: rawUrl, headers: { ...req.headers } });
    const body = method === 'POST' ? await readBody(req) : '';
    const fault =
      method === 'HEAD' ? undefined : this.bodyFaults.find((f) => f.times > 0 && rawUrl.includes(f.fragment));
    if (fault) {
      fault.times--;
      if (fault.kind === 'stall' && fault.afterBytes === undefined) return; // never answered
      faultOfResponse.set(res, fault);
    }
    if (this.requiredToken !== undefined && req.headers.authorization !== `Bearer ${this.requiredToken}`) {
      return sendJson(res, 401, { error: 'Invalid credentials in Authorization header' });
    }
    const url = new URL(rawUrl, this.url);
    const segments = url.pathname.split('/').slice(1);

    if (segments[0] === 'api' && (segments[1] === 'models' || segments[1] === 'datasets')) {
      const repoType: LoopbackRepoType = segments[1] === 'models' ? 'model' : 'dataset';
      const rest = segments.slice(2);
      const actionAt = rest.findIndex(
        (s, i) => i >= 1 && i <= 2 && ['revision', 'tree', 'paths-info'].includes(s),
      );
      if (actionAt < 0) return sendJson(res, 404, { error: 'Not found' });
      const repo = rest.slice(0, actionAt).join('/');
      const action = rest[actionAt]!;
      const after = rest.slice(actionAt + 1).map(decodeURIComponent);
      return this.api(res, repoType, repo, action, after, url, body);
    }
    const resolveAt = segments.indexOf('resolve');
    if (resolveAt >= 1) {
      const isDataset = segments[0] === 'datasets';
      const repo = segments.slice(isDataset ? 1 : 0, resolveAt).join('/');
      const after = segments.slice(resolveAt + 1).map(decodeURIComponent);
      return this.resolve(req, res, isDataset ? 'dataset' : 'model', repo, after, method);
    }
    return sendJson(res, 404, { error: 'Not found' });
  }

  /** Splits `[rev..., path...]` (revision possibly containing slashes) by the served revisions. */
  private splitRevision(
    repoType: LoopbackRepoType,
    repo: string,
    parts: string[],
  ): { served: (ServedRepo & { revision: string }) | undefined; path: string; known: boolean } {
    const candidates = this.repos.filter((r) => r.repoType === repoType && r.repo === repo);
    for (let n = parts.length; n >= 1; n--) {
      const served = this.find(repoType, repo, parts.slice(0, n).join('/'));
      if (served) return { served, path: parts.slice(n).join('/'), known: true };
    }
    return { served: undefined, path: parts.slice(1).join('/'), known: candidates.length > 0 };
  }

  private notFound(res: ServerResponse, repoKnown: boolean): void {
    if (!repoKnown) {
      res.setHeader('X-Error-Code', 'RepoNotFound');
      return sendJson(res, 401, { error: 'Repository not found' });
    }
    res.setHeader('X-Error-Code', 'RevisionNotFound');
    return sendJson(res, 404, { error: 'Invalid rev id' });
  }

  private api(
    res: ServerResponse,
    repoType: LoopbackRepoType,
    repo: string,
    action: string,
    parts: string[],
    url: URL,
    body: string,
  ): void {
    const { served, path, known } = this.splitRevision(repoType, repo, parts);
    if (!served) return this.notFound(res, known);
    const files = readTree(served.dir);
    const commit = this.commitFor(served, files);
    const lastCommit = { id: commit, title: 'loopback commit', date: '2024-01-01T00:00:00.000Z' };

    if (action === 'revision') {
      return sendJson(res, 200, {
        id: repo,
        sha: this.hostile.commit ?? commit,
        siblings: files.map((f) => ({ rfilename: f.path })),
      });
    }
    const expand = url.searchParams.get('expand') === 'true';
    if (action === 'tree') {
      const recursive = url.searchParams.get('recursive') === 'true';
      const entries = this.lie(treeEntries(files, path, recursive)).map((e) =>
        expand ? { ...e, lastCommit } : e,
      );
      if (entries.length === 0 && path !== '') {
        res.setHeader('X-Error-Code', 'EntryNotFound');
        return sendJson(res, 404, { error: `${path} does not exist on "${served.revision}"` });
      }
      const cursor = Number(url.searchParams.get('cursor') ?? '0');
      const step = this.pageSize ?? Math.max(1, entries.length);
      const next = new URL(url.toString());
      next.searchParams.set('cursor', String(cursor + step));
      const lie = this.hostile.nextLink;
      if (lie === 'self') next.href = url.href;
      if (lie === 'same-cursor' && url.searchParams.has('cursor')) {
        // The second page on, every next link repeats this page's cursor under a new URL.
        next.searchParams.set('cursor', String(cursor));
        next.searchParams.set('page', String(Number(url.searchParams.get('page') ?? '0') + 1));
      }
      const origin = typeof lie === 'object' ? lie.origin : this.url;
      if (lie !== undefined || cursor + step < entries.length) {
        res.setHeader('Link', `<${origin}${next.pathname}${next.search}>; rel="next"`);
      }
      const page = entries.slice(cursor, cursor + step);
      return sendJson(res, 200, page);
    }
    // paths-info
    let wanted: string[] = [];
    let expandBody = false;
    try {
      const parsed = JSON.parse(body) as { paths?: unknown; expand?: unknown };
      wanted = Array.isArray(parsed.paths) ? parsed.paths.map(String) : [];
      expandBody = parsed.expand === true;
    } catch {
      return sendJson(res, 400, { error: 'body must be JSON' });
    }
    const all = this.lie(treeEntries(files, '', true));
    const found = all
      .filter((e) => wanted.includes(e.path))
      .map((e) => (expandBody ? { ...e, lastCommit, securityFileStatus: { status: 'safe' } } : e));
    return sendJson(res, 200, found);
  }

  private resolve(
    req: IncomingMessage,
    res: ServerResponse,
    repoType: LoopbackRepoType,
    repo: string,
    parts: string[],
    method: string,
  ): void {
    const { served, path, known } = this.splitRevision(repoType, repo, parts);
    if (!served) return this.notFound(res, known);
    const files = readTree(served.dir);
    const commit = this.commitFor(served, files);
    const file = files.find((f) => f.path === path);
    res.setHeader('X-Repo-Commit', commit);
    if (!file) {
      res.setHeader('X-Error-Code', 'EntryNotFound');
      return sendJson(res, 404, { error: 'Entry not found' });
    }
    const size = file.bytes.length;
    const etag = file.lfs ? file.sha256 : file.gitOid;
    res.setHeader('ETag', `"${etag}"`);
    if (file.lfs) res.setHeader('X-Linked-Etag', `"${etag}"`);
    if (file.lfs) res.setHeader('X-Linked-Size', String(size));
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');

    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` });
        return void res.end();
      }
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    }
    const slice = file.bytes.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, { 'Content-Length': String(slice.length) });
    if (method === 'HEAD') return void res.end();
    sendBody(res, slice);
  }

  /** The file entries as the hostile mirror presents them (folders untouched). */
  private lie(entries: TreeEntry[]): TreeEntry[] {
    if (!this.hostile.listing) return entries;
    const folders = entries.filter((e) => e.type === 'directory');
    return [...folders, ...this.hostile.listing(entries.filter((e) => e.type === 'file'))];
  }
}

/** An entry of the tree and paths-info APIs, as the hub sends it. */
export interface TreeEntry {
  type: 'file' | 'directory';
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

/** Tree entries under `prefix` (files and directories), like the hub's tree API. */
function treeEntries(files: FileInfo[], prefix: string, recursive: boolean): TreeEntry[] {
  const base = prefix === '' ? '' : `${prefix.replace(/\/$/, '')}/`;
  const out = new Map<string, TreeEntry>();
  for (const f of files) {
    if (!f.path.startsWith(base)) continue;
    const rest = f.path.slice(base.length).split('/');
    // Directories on the way (only the first level unless recursive).
    for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth++) {
      const dir = base + rest.slice(0, depth).join('/');
      if (!out.has(dir))
        out.set(dir, { type: 'directory', oid: gitBlobSha1(Buffer.from(dir)), size: 0, path: dir });
    }
    if (rest.length > 1 && !recursive) continue;
    out.set(f.path, {
      type: 'file',
      oid: f.gitOid,
      size: f.bytes.length,
      path: f.path,
      ...(f.lfs ? { lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: f.pointerSize } } : {}),
    });
  }
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  sendBody(res, body);
}

/** Sends a body whose headers are written, honouring the response's fault (drop, stall, throttle). */
function sendBody(res: ServerResponse, body: Buffer): void {
  const fault = faultOfResponse.get(res);
  if (!fault) return void res.end(body);
  if (fault.kind === 'drop') {
    res.write(body.subarray(0, fault.afterBytes), () => {
      // Drop the connection mid-body, as a network failure would.
      setTimeout(() => res.socket?.destroy(), 10);
    });
  } else if (fault.kind === 'stall') {
    res.write(body.subarray(0, fault.afterBytes)); // and then nothing, until close()
  } else {
    const chunk = fault.chunkBytes ?? body.length;
    const sendFrom = (offset: number): void => {
      if (res.destroyed) return;
      if (offset + chunk >= body.length) return void res.end(body.subarray(offset));
      res.write(body.subarray(offset, offset + chunk));
      setTimeout(() => sendFrom(offset + chunk), fault.delayMs ?? 0);
    };
    sendFrom(0);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
