// Runs that differ only in a healing option (LoRA, a block replacement, sublayer drops) are
// different rows of the paper table, never seeds of one cell.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { paperView } from '../../src/results/paper-view.js';
import { planSettings, runRow, varyingSettings } from '../../src/results/rows.js';
import type { StoredRun } from '../../src/results/store.js';
import type { RunPlan } from '../../src/plan/types.js';
import { fakePlan, fakeResult } from './fake-runs.js';

function stored(plan: RunPlan, accuracy: number): StoredRun {
  const result = fakeResult(plan, { accuracy });
  return { id: result.id, plan, status: 'done', result, error: null, attempts: 1 } as unknown as StoredRun;
}

it('full fine-tuning, LoRA, a replacement and sublayer drops are rows of their own', () => {
  const full = fakePlan({ seed: 1 });
  const lora: RunPlan = {
    ...full,
    train: { ...full.train, adapters: { kind: 'lora', rank: 8, alpha: 16, targets: 'all', dropout: 0 } },
  };
  const replaced: RunPlan = {
    ...full,
    train: { ...full.train, replace: { kind: 'replace', fit: 'linear', calibration: 64 } },
  };
  const dropped: RunPlan = { ...full, sublayers: { attention: [1], mlp: [] } };
  assert.equal(planSettings(lora).adapters, 'lora r8 a16');
  assert.equal(planSettings(replaced).replace, 'linear (64 examples)');
  assert.equal(planSettings(dropped).sublayers, 'attn 1');
  assert.deepEqual(
    [planSettings(full).adapters, planSettings(full).replace, planSettings(full).sublayers],
    ['none', 'none', 'none'],
  );
  const rows = [stored(full, 0.8), stored(lora, 0.7), stored(replaced, 0.6), stored(dropped, 0.5)].map(
    runRow,
  );
  assert.deepEqual(varyingSettings(rows), ['adapters', 'replace', 'sublayers']);
  const view = paperView(rows);
  assert.equal(view.rows.length, 4);
  assert.deepEqual(view.rows.map((r) => r.cells['sst2']!.n).sort(), [1, 1, 1, 1]);
  assert.deepEqual(view.rows.map((r) => r.cells['sst2']!.mean).sort(), [0.5, 0.6, 0.7, 0.8]);
});
