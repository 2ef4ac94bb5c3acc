/**
 * Do cheap layer scores predict fine-tuned accuracy? Spearman rank correlation (ties get the
 * average of their ranks) between the accuracy measured after fine-tuning at each kept depth
 * (runs of the results store, mean over seeds) and scores known before any training: the
 * depth preview's zero-shot accuracy, the block influence kept, the similarity to the last depth.
 */
import { LayercutError } from '../errors.js';

/** Ranks 1 … n of `values`, ties sharing the average of the ranks they span. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && order[end]!.value === order[start]!.value) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 … end
    for (let i = start; i < end; i++) ranks[order[i]!.index] = rank;
    start = end;
  }
  return ranks;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const [ma, mb] = [mean(a), mean(b)];
  let cov = 0;
  let va = 0;
  let vb = 0;
  a.forEach((x, i) => {
    const [da, db] = [x - ma, b[i]! - mb];
    cov += da * db;
    va += da * da;
    vb += db * db;
  });
  return va === 0 || vb === 0 ? Number.NaN : cov / Math.sqrt(va * vb);
}

/** Spearman's ρ: Pearson correlation of average ranks. NaN when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new LayercutError(`spearman needs two lists of one length, got ${a.length} and ${b.length}`);
  }
  if (a.length < 2) throw new LayercutError('spearman needs at least two pairs');
  return pearson(averageRanks(a), averageRanks(b));
}

/** A value at a kept depth (number of bottom layers kept). */
export interface DepthValue {
  depth: number;
  value: number;
}

/** The fields of a results row this module reads (RunRow from src/results/rows.ts has them). */
export interface AccuracyRow {
  status: string;
  keptLayers: number | null;
  accuracy: number | null;
}

/** Mean accuracy per kept depth over finished runs (rows with a depth and an accuracy), ascending depth. */
export function accuracyByDepth(rows: readonly AccuracyRow[]): DepthValue[] {
  const byDepth = new Map<number, number[]>();
  for (const row of rows) {
    if (row.status !== 'done' || row.keptLayers === null || row.accuracy === null) continue;
    byDepth.set(row.keptLayers, [...(byDepth.get(row.keptLayers) ?? []), row.accuracy]);
  }
  return [...byDepth]
    .sort(([a], [b]) => a - b)
    .map(([depth, values]) => ({ depth, value: values.reduce((s, v) => s + v, 0) / values.length }));
}

export interface DepthCorrelation {
  /** The score's name, as given. */
  score: string;
  rho: number;
  /** Depths measured and scored both, which the correlation is over. */
  depths: number[];
}

/**
 * Spearman's ρ between `measured` (e.g. `accuracyByDepth(rows)`) and each named score over
 * the depths both have. A score that should rise with accuracy gives ρ near +1 when it ranks
 * the depths as fine-tuning does.
 */
export function depthCorrelations(
  measured: readonly DepthValue[],
  scores: Readonly<Record<string, readonly DepthValue[]>>,
): DepthCorrelation[] {
  return Object.entries(scores).map(([score, values]) => {
    const byDepth = new Map(values.map((v) => [v.depth, v.value]));
    const pairs = measured.filter((m) => byDepth.has(m.depth));
    if (pairs.length < 2) {
      throw new LayercutError(
        `score '${score}' shares ${pairs.length} depth(s) with the measured accuracies; a correlation needs 2 or more`,
        'run more kept depths, or score the depths that were run',
      );
    }
    return {
      score,
      rho: spearman(
        pairs.map((p) => p.value),
        pairs.map((p) => byDepth.get(p.depth)!),
      ),
      depths: pairs.map((p) => p.depth),
    };
  });
}

/**
 * Scores of each kept depth k = 1 … L from a layer measurement (see report.ts):
 *   preview         the depth preview's zero-shot accuracy at k
 *   influenceKept   the block influence summed over the kept layers 0 … k−1
 *   similarityToTop 1 − angular distance between depth k and the full depth L
 */
export function depthScores(measurement: {
  influence: readonly number[];
  previewAccuracy: readonly number[];
  similarity: { angular: readonly (readonly number[])[] };
}): Record<'preview' | 'influenceKept' | 'similarityToTop', DepthValue[]> {
  const layers = measurement.influence.length;
  const depths = Array.from({ length: layers }, (_, i) => i + 1);
  let running = 0;
  const kept = measurement.influence.map((value) => (running += value));
  return {
    preview: depths.map((depth) => ({ depth, value: measurement.previewAccuracy[depth - 1]! })),
    influenceKept: depths.map((depth) => ({ depth, value: kept[depth - 1]! })),
    similarityToTop: depths.map((depth) => ({
      depth,
      value: 1 - measurement.similarity.angular[depth]![layers]!,
    })),
  };
}
