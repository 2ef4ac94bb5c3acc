/**
 * Divergence: a run whose loss exploded trained nothing worth trusting, even when its test
 * accuracy looks like a number. Judged from the run's curves after training:
 *
 *   - any training or validation loss is NaN or ±Infinity, or
 *   - the smoothed training loss ends above max(2 × its start, start + 1): the mean of the last
 *     tenth of the steps against the mean of the first tenth (at least 3 steps, or half of a
 *     shorter curve; at most 50).
 *
 * A healthy run's loss falls; noise at batch size 4 moves a tenth's mean by far less than
 * that. Cross-entropy above start + 1 nat is worse than where training began on any task.
 */
import type { RunResult } from '../plan/types.js';

/** How far the smoothed loss may end above its start: `start × RISE_FACTOR` and `start + RISE_MARGIN`. */
const RISE_FACTOR = 2;
const RISE_MARGIN = 1;

/** Why the run diverged ("training loss rose from 0.69 to 5.0e+13"), or null when it did not. */
export function divergence(curves: RunResult['curves']): string | null {
  const badTrain = curves.train.find((point) => !Number.isFinite(point.loss));
  if (badTrain) return `training loss became ${badTrain.loss} at step ${badTrain.step}`;
  const badEval = curves.eval.find((point) => !Number.isFinite(point.loss));
  if (badEval) return `validation loss became ${badEval.loss} at step ${badEval.step}`;
  const losses = curves.train.map((point) => point.loss);
  if (losses.length < 2) return null;
  // a tenth of the steps, but at least 3 (or half of a shorter curve) and at most 50
  const window = Math.min(
    50,
    Math.max(Math.min(3, Math.floor(losses.length / 2)), Math.floor(losses.length / 10)),
  );
  const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
  const start = mean(losses.slice(0, window));
  const end = mean(losses.slice(-window));
  if (end > Math.max(RISE_FACTOR * start, start + RISE_MARGIN)) {
    return `training loss rose from ${lossText(start)} to ${lossText(end)} (mean of the first and last ${window} step${window === 1 ? '' : 's'})`;
  }
  return null;
}

function lossText(loss: number): string {
  return Math.abs(loss) >= 1e4 ? loss.toExponential(1) : loss.toPrecision(3);
}
