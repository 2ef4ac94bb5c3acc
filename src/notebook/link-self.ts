/**
 * Makes `node_modules/layercut` a link to the repository itself, so that notebooks inside the
 * repository can `import { … } from 'layercut'`. Node alone would resolve the package's own
 * name (self-reference through `exports`), but tslab type-checks cells with TypeScript's old
 * module resolution, which only looks in `node_modules/`. Also links the package's own commands
 * (`bin` in package.json) into `node_modules/.bin/`, which npm does not do for the root package:
 * without `node_modules/.bin/layercut`, `npx layercut` inside the repository asks the registry.
 * Run by `npm run build` (and so by `npm ci` / `npm install`, through `prepare`):
 *
 *   tsx src/notebook/link-self.ts [root]
 *
 * Leaves alone a `node_modules/layercut` that is a real folder (layercut installed as a
 * dependency of something else) and does nothing where there is no `node_modules`.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
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
  return linkTo(link, target, 'dir');
}

/** Links each command of root's package.json `bin` as `<root>/node_modules/.bin/<command>`. */
export function linkOwnBins(root: string): Record<string, LinkOutcome> {
  const { name, bin } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    bin?: string | Record<string, string>;
  };
  const modules = path.join(root, 'node_modules');
  const commands = typeof bin === 'string' ? { [name]: bin } : (bin ?? {});
  const outcomes: Record<string, LinkOutcome> = {};
  for (const [command, file] of Object.entries(commands)) {
    if (!existsSync(modules)) {
      outcomes[command] = 'no node_modules';
      continue;
    }
    const binDir = path.join(modules, '.bin');
    mkdirSync(binDir, { recursive: true });
    outcomes[command] = linkTo(path.join(binDir, command), path.relative(binDir, path.join(root, file)));
  }
  return outcomes;
}

/** Makes `link` a symlink to `target` (relative): an existing link elsewhere is replaced, a real file left alone. */
function linkTo(link: string, target: string, type: 'dir' | 'file' = 'file'): LinkOutcome {
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
  symlinkSync(target, link, type);
  return 'linked';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? '.');
  const outcome = linkPackageToItself(root);
  if (outcome === 'linked') console.log(`linked node_modules/layercut → ${root}`);
  if (outcome === 'left alone') console.log('node_modules/layercut is a folder: left alone');
  for (const [command, linked] of Object.entries(linkOwnBins(root))) {
    if (linked === 'linked') console.log(`linked node_modules/.bin/${command}`);
  }
}
