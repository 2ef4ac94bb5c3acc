/** Classification metrics from predicted and true class indices. */
import type { EvalMetrics } from '../plan/types.js';

export function classificationMetrics(
  predicted: readonly number[],
  truth: readonly number[],
  labels: readonly string[],
): EvalMetrics {
  const classes = labels.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  truth.forEach((t, i) => (confusion[t]![predicted[i]!]! += 1));
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedAsC = confusion.reduce((sum, row) => sum + row[c]!, 0);
    const precision = predictedAsC ? tp / predictedAsC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const correct = truth.filter((t, i) => t === predicted[i]).length;
  return {
    accuracy: truth.length ? correct / truth.length : 0,
    macroF1: perClass.reduce((sum, c) => sum + c.f1, 0) / classes,
    perClass,
    confusion,
  };
}
