/**
 * A small training-loss chart as hand-written SVG (an inline `<svg>` element for HTML), for
 * the live progress output of `run()`: cheap enough to redraw every second while training (a
 * Vega render takes ~0.2 s), and synchronous. Finished runs are drawn in grey, the run in
 * progress in blue on top.
 *
 *   ┌──────────────────────────┐
 *   │ 0.93 ╲                   │   y: loss, from the lowest to the highest point drawn
 *   │       ╲__  ___           │   x: optimizer step, from 0 to the longest run
 *   │ 0.41     ╲/   ╲____      │
 *   └──────────────────────────┘
 */
import { escapeHtml } from './tables.js';

export interface LossSeries {
  label: string;
  points: readonly { step: number; loss: number }[];
  /** The run in progress: drawn last, in colour. */
  current?: boolean;
}

export interface LossChartOptions {
  width?: number;
  height?: number;
  /** Points kept per series at most (longer series are thinned evenly). Default 200. */
  maxPoints?: number;
}

/** Every k-th point so that at most `max` remain, always keeping the last. */
function thin<P>(points: readonly P[], max: number): readonly P[] {
  if (points.length <= max) return points;
  const every = Math.ceil(points.length / max);
  const kept = points.filter((_, i) => i % every === 0);
  if (kept[kept.length - 1] !== points[points.length - 1]) kept.push(points[points.length - 1]!);
  return kept;
}

function short(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** The chart as an `<svg>` element; one `<path class="loss-line">` per series with points. */
export function lossChartSvg(series: readonly LossSeries[], options: LossChartOptions = {}): string {
  const width = options.width ?? 360;
  const height = options.height ?? 110;
  const margin = { left: 40, right: 8, top: 8, bottom: 18 };
  const drawn = series
    .map((s) => ({
      ...s,
      points: thin(
        s.points.filter((p) => Number.isFinite(p.loss)),
        options.maxPoints ?? 200,
      ),
    }))
    .filter((s) => s.points.length > 0)
    .sort((a, b) => Number(a.current ?? false) - Number(b.current ?? false));
  const open = `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`;
  const frame = `<rect x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${height - margin.top - margin.bottom}" fill="none" stroke="#ccc"/>`;
  if (drawn.length === 0) {
    return `${open}${frame}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#888">no training steps yet</text></svg>`;
  }
  const all = drawn.flatMap((s) => s.points);
  const maxStep = Math.max(1, ...all.map((p) => p.step));
  let low = Math.min(...all.map((p) => p.loss));
  let high = Math.max(...all.map((p) => p.loss));
  if (high - low < 1e-9) [low, high] = [low - 0.5, high + 0.5];
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const x = (step: number): number => margin.left + (step / maxStep) * plotWidth;
  const y = (loss: number): number => margin.top + (1 - (loss - low) / (high - low)) * plotHeight;
  const lines = drawn.map((s) => {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`);
    const stroke = s.current ? '#1f77b4' : '#bbb';
    return `<path class="loss-line" d="${d.join('')}" fill="none" stroke="${stroke}" stroke-width="${s.current ? 1.5 : 1}"><title>${escapeHtml(s.label)}</title></path>`;
  });
  const labels = [
    `<text x="${margin.left - 4}" y="${margin.top + 8}" text-anchor="end">${short(high)}</text>`,
    `<text x="${margin.left - 4}" y="${height - margin.bottom}" text-anchor="end">${short(low)}</text>`,
    `<text x="${margin.left}" y="${height - 4}">step 0</text>`,
    `<text x="${width - margin.right}" y="${height - 4}" text-anchor="end">${maxStep}</text>`,
    `<text x="${margin.left + plotWidth / 2}" y="${height - 4}" text-anchor="middle" fill="#666">training loss</text>`,
  ];
  return `${open}${frame}${lines.join('')}${labels.join('')}</svg>`;
}
