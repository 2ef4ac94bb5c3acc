/**
 * The stages import downwards only (docs/architecture.md): the experiment stage (src/experiment/)
 * assembles a run above train/ and select/, so train/ imports neither select/ nor the experiment
 * stage nor the hub or dataset loading, and select/ does not import the experiment stage.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from './runner/helpers.js';

/** For each .ts file under src/`folder`, the src/ modules it imports (paths relative to src/). */
function importsOf(folder: string): Map<string, string[]> {
  const dir = path.join(repoRoot, 'src', folder);
  const out = new Map<string, string[]>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const specifiers = [...readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => m[1]!);
    out.set(
      path.relative(path.join(repoRoot, 'src'), file),
      specifiers.map((s) => path.relative(path.join(repoRoot, 'src'), path.resolve(path.dirname(file), s))),
    );
  }
  return out;
}

/** The imports of src/`folder` that start with one of `forbidden` (e.g. 'select/'), by file. */
function forbiddenImports(folder: string, forbidden: readonly string[]): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const [file, targets] of importsOf(folder)) {
    const bad = targets.filter((target) => forbidden.some((prefix) => target.startsWith(prefix)));
    if (bad.length) found[file] = bad;
  }
  return found;
}

test('train/ imports neither select/, the experiment stage, the hub nor dataset loading', () => {
  assert.deepEqual(forbiddenImports('train', ['select/', 'experiment/', 'hub/', 'data/load']), {});
});

test('select/ does not import the experiment stage', () => {
  assert.deepEqual(forbiddenImports('select', ['experiment/']), {});
});

test('the check sees imports: the experiment stage imports train/ and select/', () => {
  const targets = [...importsOf('experiment').values()].flat();
  assert.ok(targets.some((target) => target.startsWith('train/')));
  assert.ok(targets.some((target) => target.startsWith('select/')));
});

test('one function computes gradients for training: train/step.ts (fine-tuning and pretraining step through it)', () => {
  const callers: string[] = [];
  for (const folder of ['train', 'pretrain', 'experiment', 'select', 'models']) {
    for (const file of importsOf(folder).keys()) {
      if (/\bvariableGrads\(/.test(readFileSync(path.join(repoRoot, 'src', file), 'utf8')))
        callers.push(file);
    }
  }
  assert.deepEqual(callers, ['train/step.ts']);
  for (const loop of ['train/trainer.ts', 'pretrain/train-loop.ts']) {
    assert.ok(
      importsOf(path.dirname(loop)).get(loop)!.includes('train/step.js'),
      `${loop} steps through train/step.ts`,
    );
  }
});
