/**
 * Shared by the notebook tests: the repository root, a build of `dist/` that is not older than
 * the sources (tslab loads the package from there), and the Python with Jupyter's client.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runToEnd, type Owner } from '../helpers/spawn.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Newest modification time (ms) of the files under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` when dist/ is missing or older than src/, dsl/ or grammar/ (as a process of `owner`). */
export async function ensureBuilt(owner: Owner): Promise<void> {
  const entry = path.join(repoRoot, 'dist', 'src', 'index.js');
  const sources = Math.max(...['src', 'dsl', 'grammar'].map((dir) => newestMtime(path.join(repoRoot, dir))));
  const link = path.join(repoRoot, 'node_modules', 'layercut');
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources && existsSync(link)) return;
  const build = await runToEnd(owner, 'npm', ['run', 'build'], { cwd: repoRoot, timeoutMs: 600_000 });
  if (build.code !== 0)
    throw new Error(`npm run build failed (${build.code}):\n${build.stdout}\n${build.stderr}`);
}

/** The Python that has nbclient (Debian's, not a pyenv one first on PATH). */
export const python = '/usr/bin/python3';

/** Why the notebook test cannot run here, or undefined when it can. */
export async function jupyterMissing(owner: Owner): Promise<string | undefined> {
  const probe = await runToEnd(owner, python, ['-c', 'import nbclient, nbformat, jupyter_client'], {
    cwd: repoRoot,
    timeoutMs: 60_000,
  });
  if (probe.code === 0) return undefined;
  return `${python} lacks nbclient (apt-get install python3-nbclient python3-nbformat python3-jupyter-client python3-ipykernel)`;
}
