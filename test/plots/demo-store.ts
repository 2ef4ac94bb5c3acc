/**
 * A results store full of made-up but plausible-looking runs, for plot tests and for looking at
 * the plots by eye. Model names end in "(synthetic)"; no number here was measured.
 *
 * Two models (48 and 24 layers, GPT2-XL- and OPT-1.3B-like sizes), four tasks, two methods,
 * several layer counts, three seeds; accuracy peaks at 2 kept layers as in the paper's story.
 */
import { keepAll, keepFirst } from '../../src/models/selection.js';
import type { MethodName } from '../../src/plan/types.js';
import type { ResultsStore } from '../../src/results/store.js';
import { fakePlan, fakeResult } from '../results/fake-runs.js';

const models = [
  {
    name: 'gpt2-xl (synthetic)',
    depth: 48,
    embeddingParams: 82_000_000,
    paramsPerLayer: 30_700_000,
    offset: 0,
  },
  {
    name: 'opt-1.3b (synthetic)',
    depth: 24,
    embeddingParams: 107_000_000,
    paramsPerLayer: 50_400_000,
    offset: -0.02,
  },
];
const taskBase: Record<string, number> = { sst2: 0.88, agnews: 0.86, trec: 0.8, emoc: 0.72 };

/** A deterministic wiggle in [-1, 1] (no Math.random: the same store every time). */
const wiggle = (n: number): number => Math.sin(n * 12.9898) * 0.5 + Math.sin(n * 78.233) * 0.5;

export interface DemoOptions {
  models?: number;
  tasks?: string[];
  methods?: MethodName[];
  seeds?: number[];
  /** Layer counts; the model's depth means 'all'. */
  layers?: (depth: number) => number[];
  steps?: number;
}

/** Enqueues and finishes the demo runs; returns how many. */
export function fillDemoStore(store: ResultsStore, options: DemoOptions = {}): number {
  const tasks = options.tasks ?? Object.keys(taskBase);
  const methods = options.methods ?? ['lm', 'prompt-cls'];
  const seeds = options.seeds ?? [1, 2, 3];
  const layerCounts =
    options.layers ?? ((depth: number) => [1, 2, 4, 8, 16, depth].filter((k) => k <= depth));
  let count = 0;
  for (const model of models.slice(0, options.models ?? models.length)) {
    for (const task of tasks) {
      for (const method of methods) {
        for (const k of layerCounts(model.depth)) {
          for (const seed of seeds) {
            const plan = fakePlan({
              model: model.name,
              task,
              method,
              seed,
              layers: k === model.depth ? keepAll : keepFirst(k),
            });
            // Best near 2 layers, slowly worse with depth; prompt-cls a little behind lm.
            const accuracy =
              (taskBase[task] ?? 0.75) +
              model.offset -
              0.025 * Math.abs(Math.log2(k) - 1) +
              (method === 'lm' ? 0 : -0.015) +
              0.012 * wiggle(seed * 101 + k * 7 + task.length);
            store.enqueue([plan]);
            store.markRunning(fakeResult(plan, { accuracy }).id);
            store.finish(
              fakeResult(plan, { accuracy }).id,
              fakeResult(plan, {
                accuracy,
                depth: model.depth,
                embeddingParams: model.embeddingParams,
                paramsPerLayer: model.paramsPerLayer,
                steps: options.steps ?? 200,
              }),
            );
            count++;
          }
        }
      }
    }
  }
  return count;
}
