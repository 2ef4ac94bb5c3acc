// Accuracy vs layers with runs that differ in a setting not drawn otherwise (a healing option here):
// each setting gets its own panel and error band, and Vega-Lite warns about nothing.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { plotPoints } from '../../src/plots/plot-data.js';
import { renderSvg } from '../../src/plots/render.js';
import { layersSpec } from '../../src/plots/specs.js';
import { runRow } from '../../src/results/rows.js';
import type { StoredRun } from '../../src/results/store.js';
import type { RunPlan } from '../../src/plan/types.js';
import { fakePlan, fakeResult, keepFirst } from '../results/fake-runs.js';

it('a band per setting: a lone setting is not averaged with the others', async () => {
  const runs: StoredRun[] = [];
  for (const layers of [2, 4])
    for (const seed of [0, 1])
      for (const lora of [false, true]) {
        const plan: RunPlan = fakePlan({ layers: keepFirst(layers), seed });
        if (lora)
          plan.train = {
            ...plan.train,
            adapters: { kind: 'lora', rank: 8, alpha: 8, targets: 'all', dropout: 0 },
          };
        const result = fakeResult(plan, { accuracy: lora ? 0.6 + 0.02 * seed : 0.9 - 0.02 * seed });
        runs.push({
          id: result.id,
          plan,
          status: 'done',
          result,
          error: null,
          attempts: 1,
        } as unknown as StoredRun);
      }
  const spec = layersSpec(plotPoints(runs.map(runRow)));
  const warnings: string[] = [];
  const { warn, error } = console;
  console.warn = console.error = (...args: unknown[]) => void warnings.push(args.join(' '));
  let svg: string;
  try {
    svg = await renderSvg(spec);
  } finally {
    console.warn = warn;
    console.error = error;
  }
  assert.deepEqual(warnings, []);
  const areas = svg.match(/<g class="mark-area role-mark[^"]*"[^>]*>(?:<path[^>]*\/>)+/g) ?? [];
  assert.equal(
    areas.map((g) => g.match(/<path/g)!.length).reduce((a, b) => a + b, 0),
    2,
  );
});
