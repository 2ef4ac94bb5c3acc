/**
 * Processed forms of the built-in corpora, cached as JSON under the layercut cache
 * (`{LAYERCUT_CACHE}/datasets/{name}.json`) so a task loads in well under a second after
 * the first time. The file records a key (package version + processing version); a
 * different key rebuilds it. Writes go to a temporary name first, then rename.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Examples of a built-in corpus before they meet a TaskSpec: text and class index. */
export interface BuiltinExample {
  text: string;
  label: number;
}

export interface BuiltinSplits {
  train: BuiltinExample[];
  test: BuiltinExample[];
}

const require = createRequire(import.meta.url);

/** Loads a CommonJS npm package (the @stdlib corpora are CommonJS). */
export function requirePackage(name: string): unknown {
  return require(name);
}

/** The installed version of an npm package. */
export function packageVersion(name: string): string {
  const manifest = require(`${name}/package.json`) as { version?: unknown };
  return String(manifest.version ?? 'unknown');
}

function isSplits(value: unknown): value is BuiltinSplits & { key: string } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['key'] === 'string' && Array.isArray(v['train']) && Array.isArray(v['test']);
}

/** The cached splits for `name` if their key matches, else `build()`'s result (then cached). */
export async function cachedSplits(
  cacheDir: string,
  name: string,
  key: string,
  build: () => BuiltinSplits,
): Promise<BuiltinSplits> {
  const path = join(cacheDir, 'datasets', `${name}.json`);
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (isSplits(parsed) && parsed.key === key) return { train: parsed.train, test: parsed.test };
  } catch {
    // absent or unreadable: rebuild
  }
  const splits = build();
  try {
    await mkdir(join(cacheDir, 'datasets'), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify({ key, ...splits }));
    await rename(temporary, path);
  } catch {
    // A read-only cache only costs speed.
  }
  return splits;
}

/** Whitespace collapsed to single spaces, trimmed. */
export function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** At most `maxChars` characters, cut at a word boundary when one is near. */
export function truncateWords(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  return (space > maxChars * 0.6 ? cut.slice(0, space) : cut).trim();
}
