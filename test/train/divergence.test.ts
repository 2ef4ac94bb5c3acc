/**
 * divergence(curves): a loss that exploded or became NaN is caught; a healthy, noisy one is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RunResult } from '../../src/plan/types.js';
import { divergence } from '../../src/train/divergence.js';

/** Curves from a list of training losses (one per step) and of validation losses. */
function curves(train: number[], evalLosses: number[] = []): RunResult['curves'] {
  return {
    train: train.map((loss, i) => ({ step: i + 1, epoch: 0, loss, lr: 1e-3 })),
    eval: evalLosses.map((loss, i) => ({ step: (i + 1) * 10, epoch: i, accuracy: 0.5, loss })),
  };
}

/** A seeded noisy curve: falls from `from` towards `to`, each step ± `noise` × its value. */
function falling(steps: number, from: number, to: number, noise: number): number[] {
  let state = 12345;
  const random = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: steps }, (_, i) => {
    const clean = to + (from - to) * Math.exp((-5 * i) / steps);
    return clean * (1 + noise * random());
  });
}

test('healthy curves are not flagged: falling, flat, noisy at batch size 4, short', () => {
  assert.equal(divergence(curves(falling(320, 0.7, 0.05, 0.5), [0.6, 0.4, 0.3])), null);
  assert.equal(divergence(curves(falling(40, 10.8, 3, 0.3))), null);
  assert.equal(divergence(curves(Array(50).fill(0.69))), null);
  assert.equal(divergence(curves([0.7, 0.9, 1.2, 0.5, 0.4, 0.6, 0.3, 0.2])), null, 'one bad batch');
  assert.equal(divergence(curves([0.7])), null);
  assert.equal(divergence(curves([])), null, 'icl: no training');
});

test('a loss that ends far above its start is flagged with the numbers', () => {
  // AdamW at lr 1e6 on tiny-gpt2 (measured): 0.745, then 1e13 and on.
  const exploded = [0.745, 3.1e12, 8.4e12, 6.0e12, 1.9e13, 1.1e12, 2.4e11, 1.8e11];
  assert.equal(
    divergence(curves(exploded)),
    'training loss rose from 0.745 at the first step to 5.1e+11 at the end (mean of 3 steps)',
  );
  // Twice the start is not enough on its own when the start is small: also 1 nat above it.
  assert.equal(divergence(curves([0.1, 0.15, 0.2, 0.25, 0.3, 0.3])), null);
  assert.match(
    divergence(curves([0.1, 0.5, 0.9, 1.2, 1.3, 1.4]))!,
    /rose from 0\.100 .* to 1\.30 at the end/,
  );
  // A large start must double.
  assert.equal(divergence(curves([10, 12, 15, 18, 19, 19.5])), null);
  assert.match(divergence(curves([10, 14, 18, 21, 22, 23]))!, /rose from 10\.0 .* to 22\.0 at the end/);
});

test('a loss that blew up and came down again is flagged at its peak', () => {
  const spike = [0.745, 0.7, 4752, 3100, 800, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
  assert.equal(
    divergence(curves(spike)),
    'training loss rose from 0.745 at the first step to 2884 by step 5 (mean of 3 steps)',
  );
});

test('any non-finite training or validation loss is flagged, with where', () => {
  assert.equal(divergence(curves([0.7, 0.6, NaN, 0.5])), 'training loss became NaN at step 3');
  assert.equal(divergence(curves([0.7, Infinity])), 'training loss became Infinity at step 2');
  assert.equal(
    divergence(curves([0.7, 0.6, 0.5], [0.6, -Infinity])),
    'validation loss became -Infinity at step 20',
  );
});
