/**
 * Divergence: a run whose loss exploded trained nothing worth trusting, even when its test
 * accuracy looks like a number. Judged from the run's curves after training, against the loss
 * of the first step (the weights before any update):
 *
 *   - any training or validation loss is NaN or ±Infinity, or
 *   - the smoothed training loss ends above max(2 × first, first + 1), or
 *   - the smoothed training loss rose anywhere above max(10 × first, first + 10): the weights
 *     blew up, even if the loss came down again after.
 *
 * Smoothed: the mean over a window of a tenth of the steps (at least 3, or half of a shorter
 * curve; at most 50). A healthy run's loss falls; batch noise moves a window's mean far less
 * than that, and a cross-entropy 1 nat above where training began is worse than the start.
 */
import type { RunResult } from '../plan/types.js';

/** Why the run diverged ("training loss rose from 0.745 to 1.8e+11 …"), or null when it did not. */
export function divergence(curves: RunResult['curves']): string | null {
  const badTrain = curves.train.find((point) => !Number.isFinite(point.loss));
  if (badTrain) return `training loss became ${badTrain.loss} at step ${badTrain.step}`;
  const badEval = curves.eval.find((point) => !Number.isFinite(point.loss));
  if (badEval) return `validation loss became ${badEval.loss} at step ${badEval.step}`;
  const losses = curves.train.map((point) => point.loss);
  if (losses.length < 2) return null;
  const first = losses[0]!;
  const window = Math.min(
    50,
    Math.max(Math.min(3, Math.floor(losses.length / 2)), Math.floor(losses.length / 10)),
  );
  const smoothed = losses.slice(window - 1).map((_, i) => mean(losses.slice(i, i + window)));
  const end = smoothed.at(-1)!;
  const steps = `mean of ${window} steps`;
  if (end > Math.max(2 * first, first + 1)) {
    return `training loss rose from ${lossText(first)} at the first step to ${lossText(end)} at the end (${steps})`;
  }
  const peak = Math.max(...smoothed);
  if (peak > Math.max(10 * first, first + 10)) {
    const at = curves.train[smoothed.indexOf(peak) + window - 1]!.step;
    return `training loss rose from ${lossText(first)} at the first step to ${lossText(peak)} by step ${at} (${steps})`;
  }
  return null;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** 0.745, 22.0, 2884, 5.1e+11. */
function lossText(loss: number): string {
  const size = Math.abs(loss);
  return size >= 1e4 ? loss.toExponential(1) : size >= 100 ? loss.toFixed(0) : loss.toPrecision(3);
}
