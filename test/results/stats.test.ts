import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  logGamma,
  mean,
  pairedTTest,
  regularizedIncompleteBeta,
  sampleStd,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
  tInterval,
  wilsonInterval,
} from '../../src/results/stats.js';

const close = (actual: number, expected: number, tolerance: number, what = ''): void =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} is not within ${tolerance} of ${expected}`,
  );

describe('statistics', () => {
  test('mean and sample standard deviation', () => {
    close(mean([0.8, 0.9]), 0.85, 1e-15);
    // (0.05² + 0.05²) / (2 − 1) = 0.005 → √0.005
    close(sampleStd([0.8, 0.9])!, Math.sqrt(0.005), 1e-15);
    close(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])!, Math.sqrt(32 / 7), 1e-12);
    assert.equal(sampleStd([0.5]), null);
  });

  test('log Γ matches factorials and Γ(1/2) = √π', () => {
    for (const n of [1, 2, 5, 10, 20]) {
      let factorial = 1;
      for (let i = 2; i < n; i++) factorial *= i;
      close(logGamma(n), Math.log(factorial), 1e-12, `logΓ(${n})`);
    }
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
    close(logGamma(0.25), Math.log(3.625609908221908), 1e-12);
  });

  test('incomplete beta against closed forms', () => {
    // I_x(1, 1) = x;  I_x(a, 1) = x^a;  I_x(1, b) = 1 − (1 − x)^b
    close(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-14);
    close(regularizedIncompleteBeta(0.7, 3.5, 1), 0.7 ** 3.5, 1e-13);
    close(regularizedIncompleteBeta(0.2, 1, 4), 1 - 0.8 ** 4, 1e-13);
    // Integer a, b: a binomial tail, I_x(2, 3) = Σ_{j=2..4} C(4, j) x^j (1 − x)^(4 − j)
    close(regularizedIncompleteBeta(0.3, 2, 3), 6 * 0.09 * 0.49 + 4 * 0.027 * 0.7 + 0.0081, 1e-13);
    // Symmetry I_x(a, b) = 1 − I_{1−x}(b, a), on both sides of the switch point
    close(regularizedIncompleteBeta(0.9, 2.5, 7), 1 - regularizedIncompleteBeta(0.1, 7, 2.5), 1e-13);
    assert.equal(regularizedIncompleteBeta(0, 2, 3), 0);
    assert.equal(regularizedIncompleteBeta(1, 2, 3), 1);
    assert.throws(() => regularizedIncompleteBeta(1.5, 2, 3), RangeError);
  });

  test("Student's t: known p-values and closed forms", () => {
    close(studentTTwoSidedP(2.0, 5), 0.1019, 5e-5, 't=2, df=5');
    // Critical values from t tables: two-sided 5 % and 1 %.
    close(studentTTwoSidedP(2.571, 5), 0.05, 1e-4, 't=2.571, df=5');
    close(studentTTwoSidedP(12.706, 1), 0.05, 1e-4, 't=12.706, df=1');
    close(studentTTwoSidedP(2.228, 10), 0.05, 1e-4, 't=2.228, df=10');
    close(studentTTwoSidedP(3.169, 10), 0.01, 1e-4, 't=3.169, df=10');
    close(studentTTwoSidedP(2.042, 30), 0.05, 1e-4, 't=2.042, df=30');
    // Large df: the normal distribution, P(|Z| > 1.96) = 0.04999579
    close(studentTTwoSidedP(1.959964, 1e7), 0.05, 1e-5, 'normal limit');
    // df = 1 is Cauchy: P(T ≤ t) = 1/2 + atan(t)/π
    for (const t of [-3, -0.5, 0.7, 4])
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `Cauchy cdf(${t})`);
    // df = 2: P(T ≤ t) = 1/2 + t / (2 √(2 + t²))
    for (const t of [-2, 0.3, 1.5, 10])
      close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `df=2 cdf(${t})`);
    assert.equal(studentTCdf(0, 7), 0.5);
    assert.equal(studentTTwoSidedP(Infinity, 3), 0);
  });

  test('paired t-test on hand-computed differences', () => {
    // Differences a − b: 0.02, 0.04, 0.03, 0.05 → mean 0.035, sample std √(0.0005/3)
    const a = [0.82, 0.85, 0.8, 0.9];
    const b = [0.8, 0.81, 0.77, 0.85];
    const result = pairedTTest(a, b);
    const sd = Math.sqrt(0.0005 / 3);
    const t = 0.035 / (sd / 2);
    assert.equal(result.n, 4);
    assert.equal(result.df, 3);
    close(result.meanDiff, 0.035, 1e-12);
    close(result.stdDiff!, sd, 1e-12);
    close(result.t!, t, 1e-9);
    // t ≈ 5.422 with 3 df: p ≈ 0.012308 (numerical integration of the t density; tables put it
    // between t_0.02,3 = 4.541 and t_0.01,3 = 5.841)
    close(result.t!, 5.4222, 1e-3);
    assert.ok(result.p! > 0.01 && result.p! < 0.02, `p = ${result.p}`);
    close(result.p!, 0.0123076, 1e-6);
    // Swapping the sides flips the sign, not the p-value.
    const swapped = pairedTTest(b, a);
    close(swapped.t!, -t, 1e-9);
    close(swapped.p!, result.p!, 1e-15);
  });

  test('paired t-test edge cases', () => {
    const one = pairedTTest([0.9], [0.8]);
    assert.equal(one.t, null);
    assert.equal(one.p, null);
    close(one.meanDiff, 0.1, 1e-15);
    // Identical gaps up to rounding: no spread, so no doubt.
    const constant = pairedTTest([0.91, 0.81, 0.71], [0.9, 0.8, 0.7]);
    assert.equal(constant.p, 0);
    assert.equal(constant.stdDiff, 0);
    assert.equal(pairedTTest([0.5, 0.6], [0.5, 0.6]).p, 1);
    assert.throws(() => pairedTTest([1, 2], [1]), RangeError);
  });

  test("Student's t quantiles match the tables", () => {
    close(studentTQuantile(0.975, 1), 12.7062047, 1e-6, 'df=1');
    close(studentTQuantile(0.975, 2), 4.3026527, 1e-6, 'df=2');
    close(studentTQuantile(0.975, 10), 2.2281389, 1e-6, 'df=10');
    close(studentTQuantile(0.995, 30), 2.7499957, 1e-6, 'df=30, 99 %');
    close(studentTQuantile(0.025, 4), -2.7764451, 1e-6, 'lower tail');
    assert.equal(studentTQuantile(0.5, 3), 0);
    assert.throws(() => studentTQuantile(1, 3), RangeError);
  });

  test('95% intervals: Wilson for a proportion, t for a mean', () => {
    // 8 of 10: Wilson [0.4902, 0.9433] (the normal approximation would give [0.552, 1.048])
    const eight = wilsonInterval(0.8, 10);
    close(eight.low, 0.490162, 1e-6, 'low');
    close(eight.high, 0.943317, 1e-6, 'high');
    // 0 of 20 and 20 of 20 are not empty intervals
    const none = wilsonInterval(0, 20);
    assert.equal(none.low, 0);
    close(none.high, 0.161125, 1e-6, '0/20 high');
    close(wilsonInterval(1, 20).low, 1 - 0.161125, 1e-6, '20/20 low');
    // 0.80, 0.85, 0.90: mean 0.85, s = 0.05, t(0.975, 2) = 4.3027 → 0.85 ± 0.12421
    const t = tInterval([0.8, 0.85, 0.9])!;
    close(t.low, 0.85 - (4.3026527 * 0.05) / Math.sqrt(3), 1e-7, 't low');
    close(t.high, 0.85 + (4.3026527 * 0.05) / Math.sqrt(3), 1e-7, 't high');
    assert.equal(tInterval([0.8]), null);
  });
});
