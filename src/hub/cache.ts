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
 */
import { copyFile, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
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

/** Rejects repository paths that would escape the snapshot folder once joined onto it. */
export function checkRepoPath(path: string): void {
  const segments = path.split('/');
  if (
    path === '' ||
    path.startsWith('/') ||
    path.includes('\\') ||
    segments.some((s) => s === '..' || s === '')
  ) {
    throw new HubError('bad-setting', `'${path}' is not a valid file path inside a repository`);
  }
}

/** Paths of one cached repository. */
export class RepoCache {
  /** The repository's folder, `{cacheDir}/{type}s--{org}--{name}`. */
  readonly dir: string;

  constructor(cacheDir: string, ref: RepoRef) {
    this.dir = join(cacheDir, repoFolderName(ref));
  }

  blobPath(etag: string): string {
    return join(this.dir, 'blobs', etag);
  }

  snapshotDir(commit: string): string {
    return join(this.dir, 'snapshots', commit);
  }

  /** Where `path` of `commit` lives once cached. */
  filePath(commit: string, path: string): string {
    checkRepoPath(path);
    return join(this.snapshotDir(commit), ...path.split('/'));
  }

  /** The commit `revision` pointed to when last downloaded, if the cache knows. */
  async readRef(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = (await readFile(join(this.dir, 'refs', ...revision.split('/')), 'utf8')).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (isCommitHash(revision)) return;
    const path = join(this.dir, 'refs', ...revision.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit);
  }

  /** Links the snapshot entry for `path` to its blob (relative symlink, else a copy). */
  async link(commit: string, path: string, etag: string): Promise<string> {
    const pointer = this.filePath(commit, path);
    const blob = this.blobPath(etag);
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

/** True when `path` (following symlinks) is an existing regular file. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
