/**
 * The training curve of a pretraining job: training loss per step (thin line) and validation
 * loss at each evaluation (points joined by a line), in nats per token, with a second layer of
 * labels giving the validation perplexity. Input: the `training.json` report of `layercut pretrain`.
 */
import type { PretrainReport } from '../pretrain/plan.js';
import { downsample } from './plot-data.js';
import { plotConfig, type PlotOptions, type PlotSpec } from './specs.js';

export function pretrainCurveSpec(
  report: Pick<PretrainReport, 'curve' | 'evals' | 'plan'>,
  options: PlotOptions = {},
): PlotSpec {
  const train = downsample(report.curve, 400).map((p) => ({
    step: p.step,
    loss: p.loss,
    series: 'training',
  }));
  const validation = report.evals.map((p) => ({
    step: p.step,
    loss: p.loss,
    series: 'validation',
    label: `ppl ${p.perplexity.toFixed(1)}`,
  }));
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: ['training', 'validation'], range: ['#9ecae9', '#d62728'] },
  };
  const x = { field: 'step', type: 'quantitative', title: 'Optimizer step' };
  const y = { field: 'loss', type: 'quantitative', title: 'Loss (nats per token)', scale: { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? `Pretraining ${report.plan.name}`,
    width: options.width ?? 520,
    height: options.height ?? 300,
    config: plotConfig,
    layer: [
      { data: { values: train }, mark: { type: 'line', strokeWidth: 1 }, encoding: { x, y, color } },
      {
        data: { values: validation },
        mark: { type: 'line', point: true },
        encoding: { x, y, color },
      },
      {
        data: { values: validation.slice(-1) },
        mark: { type: 'text', align: 'right', dy: -10, fontSize: 11 },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  };
}
