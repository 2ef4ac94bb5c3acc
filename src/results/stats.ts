/**
 * The statistics the result views need: mean, sample standard deviation, Student's t
 * distribution (through the regularized incomplete beta function) and the paired t-test, and
 * 95 % confidence intervals: Wilson's for one run's accuracy on n test examples, Student's t
 * for a mean over seeds.
 */

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Sample standard deviation (divides by n − 1); null for fewer than two values. */
export function sampleStd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values);
  const squares = values.reduce((sum, v) => sum + (v - m) ** 2, 0);
  return Math.sqrt(squares / (values.length - 1));
}

/** Lanczos coefficients (g = 7, 9 terms): log Γ to about 15 significant digits. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Continued fraction for the incomplete beta function, evaluated with the modified Lentz
 * method; converges fast for x < (a + 1) / (a + b + 2).
 */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const epsilon = 1e-15;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let fraction = d;
  for (let m = 1; m <= 10_000; m++) {
    // Even step: d_{2m} = m (b − m) x / ((a + 2m − 1)(a + 2m)).
    let numerator = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    fraction *= d * c;
    // Odd step: d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    numerator = (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    fraction *= step;
    if (Math.abs(step - 1) < epsilon) break;
  }
  return fraction;
}

/** The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`incomplete beta needs a, b > 0 (got a=${a}, b=${b})`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`incomplete beta needs 0 ≤ x ≤ 1 (got ${x})`);
  if (x === 0 || x === 1) return x;
  // x^a (1 − x)^b / B(a, b)
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: the two-sided p-value. */
export function studentTTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = studentTTwoSidedP(t, df) / 2;
  return t >= 0 ? 1 - tail : tail;
}

export interface PairedTTest {
  /** Number of pairs. */
  n: number;
  /** Mean and sample standard deviation of a − b. */
  meanDiff: number;
  stdDiff: number | null;
  /** t statistic and degrees of freedom (n − 1); null with fewer than two pairs. */
  t: number | null;
  df: number | null;
  /** Two-sided p-value; null with fewer than two pairs. */
  p: number | null;
}

/** Paired t-test of a[i] against b[i]: do the differences have mean zero? */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedTTest {
  if (a.length !== b.length)
    throw new RangeError(`paired t-test needs equal lengths (got ${a.length} and ${b.length})`);
  const diffs = a.map((value, i) => value - b[i]);
  const n = diffs.length;
  const meanDiff = mean(diffs);
  const stdDiff = sampleStd(diffs);
  if (stdDiff === null) return { n, meanDiff, stdDiff, t: null, df: null, p: null };
  const df = n - 1;
  // Equal differences leave rounding noise (~1e-17) in the std; that is no spread at all.
  if (stdDiff <= 1e-12 * Math.max(1, Math.abs(meanDiff))) {
    // Every pair differs by the same amount: no doubt left unless that amount is zero.
    return Math.abs(meanDiff) <= 1e-12
      ? { n, meanDiff, stdDiff: 0, t: 0, df, p: 1 }
      : { n, meanDiff, stdDiff: 0, t: Math.sign(meanDiff) * Infinity, df, p: 0 };
  }
  const t = meanDiff / (stdDiff / Math.sqrt(n));
  return { n, meanDiff, stdDiff, t, df, p: studentTTwoSidedP(t, df) };
}

/** The 97.5 % point of the standard normal distribution: a two-sided 95 % interval is ± this. */
export const Z_95 = 1.959963984540054;

/** The t with P(T ≤ t) = p for Student's t with `df` degrees of freedom (0 < p < 1), by bisection. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile needs 0 < p < 1 (got ${p})`);
  if (!(df > 0)) throw new RangeError(`t quantile needs df > 0 (got ${df})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) high *= 2;
  // 200 halvings leave an interval far below double precision.
  for (let i = 0; i < 200 && high - low > 1e-15 * high; i++) {
    const middle = (low + high) / 2;
    if (studentTCdf(middle, df) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** A confidence interval (fractions, like the values it is for) and how it was computed. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson's 95 % score interval for a proportion: `fraction` of `n` trials (one run's accuracy
 * on its n test examples). Unlike the normal approximation it stays inside [0, 1] and is not
 * empty at 0 % or 100 %.
 */
export function wilsonInterval(fraction: number, n: number, z = Z_95): Interval {
  if (!(n > 0)) throw new RangeError(`a Wilson interval needs n > 0 trials (got ${n})`);
  const z2 = z * z;
  const centre = (fraction + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((fraction * (1 - fraction)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Student's t 95 % interval for the mean of `values` (n ≥ 2): mean ± t(0.975, n − 1) · s / √n. */
export function tInterval(values: readonly number[]): Interval | null {
  const std = sampleStd(values);
  if (std === null) return null;
  const m = mean(values);
  const half = studentTQuantile(0.975, values.length - 1) * (std / Math.sqrt(values.length));
  return { low: m - half, high: m + half };
}
