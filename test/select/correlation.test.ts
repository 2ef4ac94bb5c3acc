// Spearman rank correlation with average ranks for ties, against values computed by hand.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  accuracyByDepth,
  averageRanks,
  depthCorrelations,
  depthScores,
  spearman,
} from '../../src/select/correlation.js';

const near = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} vs ${expected}`);

it('ranks: ties share the average of the ranks they span', () => {
  assert.deepEqual(averageRanks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
  assert.deepEqual(averageRanks([3, 1, 3, 3, 2]), [4, 1, 4, 4, 2]);
  assert.deepEqual(averageRanks([0.5]), [1]);
});

it('spearman: hand-computed values', () => {
  near(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  near(spearman([1, 2, 3, 4], [9, 7, 5, 1]), -1);
  // ranks of b: 1, 2, 3.5, 5, 3.5; deviations a −2 −1 0 1 2, b −2 −1 .5 2 .5:
  // Σ da·db = 8, Σ da² = 10, Σ db² = 9.5 → ρ = 8 / √95
  near(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / Math.sqrt(95));
  // no ties: ρ = 1 − 6 Σd² / (n (n² − 1)); ranks a 3 1 4 2, b 4 2 3 1 → Σd² = 1+1+1+1 = 4 → 1 − 24/60 = 0.6
  near(spearman([0.3, 0.1, 0.9, 0.2], [8, 3, 5, 1]), 0.6);
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  assert.throws(() => spearman([1, 2], [1]), /two lists of one length, got 2 and 1/);
});

it('fine-tuned accuracy per depth from result rows: finished runs only, mean over seeds', () => {
  const rows = [
    { status: 'done', keptLayers: 2, accuracy: 0.8 },
    { status: 'done', keptLayers: 1, accuracy: 0.6 },
    { status: 'done', keptLayers: 2, accuracy: 0.9 },
    { status: 'failed', keptLayers: 4, accuracy: null },
    { status: 'done', keptLayers: 4, accuracy: 0.7 },
    { status: 'queued', keptLayers: 3, accuracy: null },
    { status: 'done', keptLayers: null, accuracy: 0.5 },
  ];
  const measured = accuracyByDepth(rows);
  assert.deepEqual(
    measured.map((m) => m.depth),
    [1, 2, 4],
  );
  near(measured[0]!.value, 0.6);
  near(measured[1]!.value, 0.85);
  near(measured[2]!.value, 0.7);
});

it('correlations of depth scores with measured accuracy, over the depths both have', () => {
  // measured: depth 1 0.60, 2 0.85, 3 0.80, 4 0.70 → ranks 1 4 3 2
  const measured = [
    { depth: 1, value: 0.6 },
    { depth: 2, value: 0.85 },
    { depth: 3, value: 0.8 },
    { depth: 4, value: 0.7 },
  ];
  const scores = depthScores({
    influence: [0.4, 0.1, 0.2, 0.3],
    previewAccuracy: [0.5, 0.75, 0.75, 0.5],
    similarity: {
      // angular[k][4] for k = 1…4: 0.3, 0.2, 0.1, 0 → similarity to the top 0.7, 0.8, 0.9, 1
      angular: [
        [0, 0, 0, 0, 0.4],
        [0, 0, 0, 0, 0.3],
        [0, 0, 0, 0, 0.2],
        [0, 0, 0, 0, 0.1],
        [0.4, 0.3, 0.2, 0.1, 0],
      ],
    },
  });
  assert.deepEqual(
    scores.influenceKept.map((s) => Math.round(s.value * 100) / 100),
    [0.4, 0.5, 0.7, 1],
  );
  assert.deepEqual(
    scores.similarityToTop.map((s) => Math.round(s.value * 100) / 100),
    [0.7, 0.8, 0.9, 1],
  );
  const result = depthCorrelations(measured, {
    ...scores,
    partial: [
      { depth: 2, value: 1 },
      { depth: 4, value: 3 },
      { depth: 9, value: 0 },
    ],
  });
  const rho = Object.fromEntries(result.map((r) => [r.score, r.rho]));
  // preview ranks 1.5 3.5 3.5 1.5 against 1 4 3 2: deviations −1 1 1 −1 and −1.5 1.5 .5 −.5 → 4 / √(4 · 5) = 2/√5
  near(rho['preview']!, 2 / Math.sqrt(5));
  // influenceKept and similarityToTop rise with depth: ranks 1 2 3 4 against 1 4 3 2 → Σd² = 0+4+0+4 = 8 → 1 − 48/60 = 0.2
  near(rho['influenceKept']!, 0.2);
  near(rho['similarityToTop']!, 0.2);
  // only depths 2 and 4 are shared: 0.85 > 0.70 while 1 < 3
  near(rho['partial']!, -1);
  assert.deepEqual(result.find((r) => r.score === 'partial')!.depths, [2, 4]);
  assert.throws(
    () => depthCorrelations(measured, { lonely: [{ depth: 3, value: 1 }] }),
    /score 'lonely' shares 1 depth\(s\) with the measured accuracies/,
  );
});
