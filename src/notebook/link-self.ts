/**
 * Makes `node_modules/layercut` a link to the repository itself, so that notebooks inside the
 * repository can `import { … } from 'layercut'`. Node alone would resolve the package's own
 * name (self-reference through `exports`), but tslab type-checks cells with TypeScript's old
 * module resolution, which only looks in `node_modules/`. Run by `npm run build` (and so by
 * `npm ci` / `npm install`, through `prepare`):
 *
 *   tsx src/notebook/link-self.ts [root]
 *
 * Leaves alone a `node_modules/layercut` that is a real folder (layercut installed as a
 * dependency of something else) and does nothing where there is no `node_modules`.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type LinkOutcome = 'linked' | 'already linked' | 'no node_modules' | 'left alone';

/** Links `<root>/node_modules/<name>` → `..` (`name` from root's package.json). */
export function linkPackageToItself(root: string): LinkOutcome {
  const { name } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string };
  const modules = path.join(root, 'node_modules');
  if (!existsSync(modules)) return 'no node_modules';
  const link = path.join(modules, name);
  // Relative, so the link survives moving or copying the repository.
  const target = path.relative(path.dirname(link), root) || '.';
  let stat;
  try {
    stat = lstatSync(link);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink()) {
    if (readlinkSync(link) === target) return 'already linked';
    rmSync(link);
  } else if (stat) {
    return 'left alone';
  }
  symlinkSync(target, link, 'dir');
  return 'linked';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? '.');
  const outcome = linkPackageToItself(root);
  if (outcome === 'linked') console.log(`linked node_modules/layercut → ${root}`);
  if (outcome === 'left alone') console.log('node_modules/layercut is a folder: left alone');
}
