/**
 * The on-disk layout of the Hugging Face hub cache, shared with the Python library:
 *
 *   {cacheDir}/{models|datasets}--{org}--{name}/
 *     refs/{revision}              text file: the commit hash the revision pointed to
 *     blobs/{etag}                 file contents, named by git blob sha1 or LFS sha256
 *     snapshots/{commit}/{path}    relative symlink to ../../blobs/{etag} (a copy where
 *                                  symlinks are unavailable)
 *
 * A blob only appears under its final name once complete (written under a temporary name,
 * then renamed), so an interrupted download never leaves a corrupt entry.
 *
 * Nothing the hub sends becomes a path unchecked: blob names must be hex digests, commits 40
 * hex digits, file paths relative without `.`/`..` segments; and a cached entry is only used
 * or linked once its real path (symlinks followed) is inside the repository's folder.
 */
import { copyFile, mkdir, readFile, readdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { HubError } from './errors.js';

export type RepoType = 'model' | 'dataset';

/** A repository on the hub: `org/name` plus its kind. */
export interface RepoRef {
  repo: string;
  repoType: RepoType;
}

/** 40 lowercase hex digits: a git commit hash (a revision that never moves). */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** `org/name` → the repository's folder name in the cache, e.g. `datasets--org--name`. */
export function repoFolderName(ref: RepoRef): string {
  return [`${ref.repoType}s`, ...ref.repo.split('/')].join('--');
}

/** 40 lowercase hex digits: a git blob id (the content id of a file not stored with LFS). */
export function isGitOid(value: string): boolean {
  return /^[0-9a-f]{40}$/.test(value);
}

/** 64 lowercase hex digits: a sha256 (the content id of an LFS file). */
export function isSha256(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/**
 * Why `path` is not a safe file path inside a repository (one that stays in the snapshot
 * folder once joined onto it, on any platform), or undefined when it is.
 */
export function repoPathProblem(path: string): string | undefined {
  if (path === '') return 'it is empty';
  if (path.includes('\0')) return 'it contains a NUL character';
  if (path.includes('\\')) return 'it contains a backslash';
  if (path.startsWith('/')) return 'it is absolute';
  if (/^[A-Za-z]:/.test(path)) return 'it starts with a drive letter';
  const segment = path.split('/').find((s) => s === '' || s === '.' || s === '..');
  if (segment === '') return 'it has an empty segment';
  if (segment !== undefined) return `it has a '${segment}' segment`;
  return undefined;
}

/** Rejects a repository path or revision the caller passed that would escape the cache. */
export function checkRepoPath(path: string, what = 'file path inside a repository'): void {
  const problem = repoPathProblem(path);
  if (problem) throw new HubError('bad-setting', `'${path}' is not a valid ${what}: ${problem}`);
}

/** Paths of one cached repository. */
export class RepoCache {
  /** The repository's folder, `{cacheDir}/{type}s--{org}--{name}`. */
  readonly dir: string;

  constructor(cacheDir: string, ref: RepoRef) {
    this.dir = join(cacheDir, repoFolderName(ref));
  }

  /** `blobs/{etag}`; `etag` must be a git blob id or a sha256 (the hub's answers are checked before). */
  blobPath(etag: string): string {
    if (!isGitOid(etag) && !isSha256(etag)) {
      throw new HubError('unsafe-path', `'${etag}' is not a blob name (40 or 64 hex digits) in ${this.dir}`);
    }
    return join(this.dir, 'blobs', etag);
  }

  snapshotDir(commit: string): string {
    if (!isCommitHash(commit)) {
      throw new HubError('unsafe-path', `'${commit}' is not a commit hash (40 hex digits) in ${this.dir}`);
    }
    return join(this.dir, 'snapshots', commit);
  }

  /** Where `path` of `commit` lives once cached. */
  filePath(commit: string, path: string): string {
    checkRepoPath(path);
    return join(this.snapshotDir(commit), ...path.split('/'));
  }

  /** `refs/{revision}`: the file naming the commit a branch or tag pointed to. */
  private refPath(revision: string): string {
    checkRepoPath(revision, 'revision');
    return join(this.dir, 'refs', ...revision.split('/'));
  }

  /** The commit `revision` pointed to when last downloaded, if the cache knows. */
  async readRef(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    const path = this.refPath(revision);
    try {
      const commit = (await readFile(path, 'utf8')).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (isCommitHash(revision)) return;
    const path = this.refPath(revision);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit);
  }

  /**
   * The local path of `path` of `commit` when it is cached, else undefined. A cached entry
   * that resolves outside the repository's folder (a link planted by a hostile mirror or
   * by hand) is an `unsafe-path` error, never read.
   */
  async cachedFile(commit: string, path: string): Promise<string | undefined> {
    const pointer = this.filePath(commit, path);
    if (!(await fileExists(pointer))) return undefined;
    await this.checkInside(pointer);
    return pointer;
  }

  /** `blobs/{etag}` when that blob is cached (and inside the repository's folder), else undefined. */
  async cachedBlob(etag: string): Promise<string | undefined> {
    const blob = this.blobPath(etag);
    if (!(await fileExists(blob))) return undefined;
    await this.checkInside(blob);
    return blob;
  }

  /** Throws unless `path`, symlinks followed, is the repository's folder or lies inside it. */
  private async checkInside(path: string): Promise<void> {
    const real = await realpath(path);
    const root = await realpath(this.dir);
    if (real === root || real.startsWith(root + sep)) return;
    throw new HubError(
      'unsafe-path',
      `the cache entry ${path} resolves to ${real}, outside ${this.dir}; it was not used`,
      `delete ${path} (or the folder ${this.dir}) and download again`,
    );
  }

  /** Links the snapshot entry for `path` to its (cached) blob (relative symlink, else a copy). */
  async link(commit: string, path: string, etag: string): Promise<string> {
    const pointer = this.filePath(commit, path);
    const blob = this.blobPath(etag);
    await this.checkInside(blob);
    // The folders on the way must not lead out of the cache (a planted directory link).
    let existing = dirname(pointer);
    while (!(await pathExists(existing))) existing = dirname(existing);
    await this.checkInside(existing);
    await mkdir(dirname(pointer), { recursive: true });
    await rm(pointer, { force: true });
    try {
      await symlink(relative(dirname(pointer), blob), pointer);
    } catch {
      await copyFile(blob, pointer);
    }
    return pointer;
  }

  /** All file paths (repo-relative, `/`-separated) present in a cached snapshot. */
  async snapshotFiles(commit: string): Promise<string[]> {
    const root = this.snapshotDir(commit);
    const found: string[] = [];
    async function walk(dir: string, prefix: string): Promise<void> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
        else if (await fileExists(join(dir, entry.name))) found.push(rel);
      }
    }
    await walk(root, '');
    return found.sort();
  }
}

/** True when something (a file, a folder, a working link) exists at `path`. */
async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `path` (following symlinks) is an existing regular file. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
