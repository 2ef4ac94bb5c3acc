/**
 * One place for layercut's environment variables (src/env.ts): every `LAYERCUT_` name that
 * src/ or docs/ mentions is declared there, docs/env.md's table is the one generated from the
 * declarations, no module but src/env.ts reads one from the environment, and the values read
 * as declared.
 * Also: no product code reads the test fixtures.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { envValue, layercutEnv, variables, variablesMarkdown } from '../src/env.js';
import { repoRoot } from './runner/helpers.js';

/** The text files under `dir` (relative to the repository), recursively. */
function filesUnder(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && extensions.some((ext) => entry.name.endsWith(ext)))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)));
}

const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');
const declared = new Set<string>(Object.values(variables).map((spec) => spec.name));

test('every LAYERCUT_ name in src/ and docs/ is declared in src/env.ts', () => {
  const undeclared = new Map<string, string[]>();
  for (const file of [...filesUnder('src', ['.ts']), ...filesUnder('docs', ['.md']), 'README.md']) {
    for (const [name] of read(file).matchAll(/LAYERCUT_[A-Z0-9_]*[A-Z0-9]/g)) {
      if (!declared.has(name)) undeclared.set(name, [...(undeclared.get(name) ?? []), file]);
    }
  }
  assert.deepEqual(Object.fromEntries(undeclared), {});
});

/** The rows of a Markdown table, each a list of trimmed cells (the separator row left out). */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

test('docs/env.md has the table generated from the declarations', () => {
  const doc = read('docs/env.md');
  const begin = '<!-- generated from src/env.ts: begin -->';
  const end = '<!-- generated from src/env.ts: end -->';
  const table = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end));
  assert.ok(doc.includes(begin) && doc.includes(end));
  assert.deepEqual(tableRows(table), tableRows(variablesMarkdown()));
  assert.equal(tableRows(table).length, declared.size + 1);
});

test('only src/env.ts reads LAYERCUT_ variables from the environment', () => {
  const readers: Record<string, string[]> = {};
  const reads = /(?:process\.env\.|process\.env\[['"]|env\[['"])(LAYERCUT_[A-Z0-9_]*[A-Z0-9])/g;
  for (const file of filesUnder('src', ['.ts'])) {
    if (file === path.join('src', 'env.ts')) continue;
    const names = [...new Set([...read(file).matchAll(reads)].map((match) => match[1]!))].sort();
    if (names.length > 0) readers[file.split(path.sep).join('/')] = names;
  }
  assert.deepEqual(readers, {});
});

test('values read as declared: defaults, paths, flags', () => {
  const none = layercutEnv({ HOME: '/home/u', XDG_CACHE_HOME: '/x/cache' });
  assert.equal(none.cache, '/x/cache/layercut');
  assert.deepEqual(none.models, []);
  assert.equal(none.db, undefined);
  assert.equal(none.verbose, false);
  assert.equal(none.plainOps, false);
  assert.equal(none.webgpuPoolMb, 32 * 1024);
  assert.equal(none.gpu, undefined);
  assert.equal(none.runProcess, false);

  const set = layercutEnv({
    LAYERCUT_CACHE: '/c',
    LAYERCUT_MODELS: ['/a', '', '/b'].join(path.delimiter),
    LAYERCUT_DB: 'runs.db',
    LAYERCUT_VERBOSE: '0',
    LAYERCUT_PLAIN_OPS: 'Yes',
    LAYERCUT_WEBGPU_POOL_MB: '512',
    LAYERCUT_GPU: '1',
    LAYERCUT_RUN_PROCESS: '1',
  });
  assert.equal(set.cache, '/c');
  assert.deepEqual(set.models, ['/a', '/b']);
  assert.equal(set.db, 'runs.db');
  assert.equal(set.verbose, false, "'0' is off");
  assert.equal(layercutEnv({ LAYERCUT_VERBOSE: '1' }).verbose, true);
  assert.equal(set.plainOps, true);
  assert.equal(set.webgpuPoolMb, 512);
  assert.equal(layercutEnv({ LAYERCUT_WEBGPU_POOL_MB: 'lots' }).webgpuPoolMb, 32 * 1024);
  assert.equal(set.gpu, 1);
  assert.equal(set.runProcess, true);

  // one variable read alone (the per-op checks of src/runtime/) gives what layercutEnv() gives
  assert.equal(envValue('plainOps', { LAYERCUT_PLAIN_OPS: ' On ' }), true);
  assert.equal(envValue('noFusedKernels', { LAYERCUT_NO_FUSED_KERNELS: '0' }), false);
  assert.equal(envValue('backend', { LAYERCUT_BACKEND: '  ' }), undefined, 'blank is unset');
  assert.equal(envValue('webgpuPoolMb', { LAYERCUT_WEBGPU_POOL_MB: '-1' }), 32 * 1024);
});

test('no product code reads the test fixtures', () => {
  // A path into test/: path.join(…, 'test', 'fixtures', …) or a string that starts with test/fixtures.
  const intoTests = /(['"`])test\1\s*,\s*(['"`])fixtures\2|(['"`])(\.\/)?test\/fixtures/;
  const readers = [...filesUnder('src', ['.ts']), ...filesUnder('dsl', ['.ts'])].filter((file) =>
    intoTests.test(read(file).replace(/\/\*[^]*?\*\/|\/\/.*$/gm, '')),
  );
  assert.deepEqual(readers, []);
});
