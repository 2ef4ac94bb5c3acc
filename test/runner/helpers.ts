/**
 * Shared by the runner tests: a tiny sweep on the built-in `tiny-gpt2` and the offline spam
 * task (about a second per run), as DSL values and as an experiment file on disk, and a
 * temporary layercut cache so the tests never touch the user's.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile/compile.js';
import { ModelCatalog as RunnerModelCatalog } from '../../src/compile/model-info.js';
import type { RunPlan } from '../../src/plan/types.js';
import '../helpers/fixtures.js'; // the fixture models as built-in models (LAYERCUT_MODELS)
import { adamw, experiment, keepFirst, lm, sweep, tasks, type BuiltinModel } from '../../dsl/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const layercutBin = path.join(repoRoot, 'bin', 'layercut.mjs');

/** A temporary folder; also layercut's cache for this process (and its children) from now on. */
export function testFolder(prefix: string): { dir: string; cache: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const cache = path.join(dir, 'cache');
  process.env['LAYERCUT_CACHE'] = cache;
  return { dir, cache };
}

const tinyGpt2: BuiltinModel = { kind: 'builtin', name: 'tiny-gpt2' };

/** The tiny sweep: kept layers 1..`layers`, seed 0; 8 training emails, 1 epoch, 20 test emails. */
export async function tinyPlans(layers = 3): Promise<RunPlan[]> {
  const base = experiment({
    model: tinyGpt2,
    task: tasks.spam,
    method: lm(),
    data: { trainPerClass: 4, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
    train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
    backend: 'wasm',
  });
  const value = sweep(base, { layers: Array.from({ length: layers }, (_, i) => keepFirst(i + 1)) });
  return compile(value, { catalog: new RunnerModelCatalog() });
}

/** The same kind of sweep as an experiment file in `dir`: `runs` cuts (1..4 layers) × `seeds` seeds. */
export function writeTinyExperiment(
  dir: string,
  options: { layers: number; seeds: number; epochs?: number },
): string {
  const file = path.join(dir, 'tiny-sweep.ts');
  const dsl = path.join(repoRoot, 'dsl', 'index.js');
  writeFileSync(
    file,
    `import { adamw, experiment, keepFirst, lm, sweep, tasks } from ${JSON.stringify(dsl)};
const base = experiment({
  model: { kind: 'builtin', name: 'tiny-gpt2' },
  task: tasks.spam,
  method: lm(),
  data: { trainPerClass: 8, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
  train: { optimizer: adamw({ lr: 1e-3 }), epochs: ${options.epochs ?? 1}, batchSize: 4 },
  backend: 'wasm',
});
export const tiny = sweep(base, {
  layers: [${Array.from({ length: options.layers }, (_, i) => i + 1).join(', ')}].map(keepFirst),
  seed: [${Array.from({ length: options.seeds }, (_, i) => i).join(', ')}],
});
`,
  );
  return file;
}
