/**
 * `layercut layers <model> --task <task>`: measures every layer of a model on calibration
 * examples of a task (src/select/report.ts) and prints block influence, angular distance to
 * the next layer and zero-shot accuracy at each depth, with the cut each method suggests.
 * `--out DIR` also writes the similarity heatmap and the block-influence bars (SVG, and PNG
 * where fonts are installed) and the report as JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { layercutEnv } from '../env.js';
import { ExitCode, LayercutError } from '../errors.js';
import { renderSvg, svgToPng, systemFontsPresent } from '../plots/render.js';
import { alignedColumns } from '../results/format.js';
import { initBackend, parseBackendName } from '../runtime/backend.js';
import { layerReport, type LayerReport } from '../select/report.js';
import { backendChoices, defineCommand } from './options.js';

const usage = `usage: layercut layers <model> --task <task> [options]

Measures each layer of <model> on calibration examples of <task> (drawn with --seed from its
training split, rendered with the task's template, no demonstrations) and prints, per layer:
  influence    block influence, 1 − cos(input, output) over real tokens (ShortGPT)
  angular      angular distance between the layer's input and output at the last token
  preview      zero-shot accuracy of the model cut to the layers up to this one (logit lens)
then the cut each method suggests.

<model>: a folder with config.json, a built-in model (tiny-gpt2, gpt2-tiny, …) or a hub
repository (openai-community/gpt2, org/name@revision).

options:
  --task NAME          registry task (sst2, agnews, trec, emoc, spam, sotu-party)
  --examples N         calibration examples (default 64)
  --seed N             seed of the draw (default 0)
  --template TEXT      template instead of the task's (BERT/RoBERTa need one with {mask})
  --max-length N       longest prompt in tokens (default: the model's positions, at most 1024)
  --batch-size N       examples per forward pass (default 8)
  --greedy             also search greedily by zero-shot accuracy (drops one layer at a time)
  --sublayers          also measure the attention and the MLP of each layer apart (pre-norm models)
  --greedy-sublayers N also drop N sublayers greedily by zero-shot accuracy (pre-norm models)
  --json               print the report as JSON instead of tables
  --out DIR            write layer-similarity.svg/.png, block-influence.svg/.png, layers.json
  --backend NAME       ${backendChoices()}

example:
  layercut layers tiny-gpt2 --task spam --examples 32 --out layers/`;

function count(option: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    throw new LayercutError(`--${option} must be a whole number ≥ ${min}, got '${value}'`);
  }
  return number;
}

const fixed = (value: number, digits = 4) => value.toFixed(digits);

/** The report as `layercut layers` prints it. */
export function formatLayerReport(report: LayerReport): string {
  const rows = [['layer', 'influence', 'angular', 'depth', 'preview']];
  report.layers.forEach((layer, l) => {
    rows.push([
      String(layer),
      fixed(report.influence[l]!),
      fixed(report.angularToNext[l]!),
      String(l + 1),
      fixed(report.previewAccuracy[l]!, 3),
    ]);
  });
  const { influenceDropOrder, angularBlocks, previewDepth } = report.suggestions;
  const range = (layers: number[]) =>
    layers.length > 1 ? `${layers[0]}..${layers[layers.length - 1]}` : String(layers[0]);
  const lines = [
    `${report.model} · task ${report.task} · ${report.examples} calibration examples (seed ${report.seed})`,
    `template ${JSON.stringify(report.template)}`,
    '',
    alignedColumns(rows),
    '',
    'suggested cuts:',
    `  block influence   drop in this order (lowest first): ${influenceDropOrder.join(', ')}`,
    `  angular distance  drop n consecutive layers: ${angularBlocks
      .map((b) => `n=${b.n}: ${range(b.drop)} (d ${fixed(b.distance, 3)})`)
      .join('; ')}`,
    `  depth preview     keep the first ${previewDepth.depth} (zero-shot accuracy ${fixed(previewDepth.accuracy, 3)})`,
  ];
  if (report.greedy) {
    const [start, ...steps] = report.greedy.path;
    const drops = steps.map((step) => `${step.dropped} → ${fixed(step.accuracy, 3)}`).join(', ');
    lines.push(`  greedy search     zero-shot accuracy ${fixed(start!.accuracy, 3)} with all; drop ${drops}`);
  }
  if (report.greedySublayers) {
    const [start, ...steps] = report.greedySublayers.path;
    const drops = steps
      .map(
        (s) =>
          `${s.dropped!.part === 'attention' ? 'attn' : 'mlp'} ${s.dropped!.layer} → ${fixed(s.accuracy, 3)}`,
      )
      .join(', ');
    lines.push(`  greedy sublayers  zero-shot accuracy ${fixed(start!.accuracy, 3)} with all; drop ${drops}`);
  }
  if (report.sublayers) {
    const rows = [['layer', 'sublayer', 'influence', 'angular']];
    report.layers.forEach((layer, l) => {
      (['attn', 'mlp'] as const).forEach((part, p) => {
        const k = 2 * l + p;
        rows.push([
          String(layer),
          part,
          fixed(report.sublayers!.influence[k]!),
          fixed(report.sublayers!.angular[k]!),
        ]);
      });
    });
    lines.push('', 'per sublayer:', alignedColumns(rows));
  }
  return lines.join('\n');
}

/** Writes the plots (SVG; PNG when fonts are present) and the report's data; returns the files written. */
export async function writeLayerPlots(report: LayerReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const png = systemFontsPresent() || layercutEnv().font !== undefined;
  for (const [name, spec] of [
    ['layer-similarity', report.specs.similarity],
    ['block-influence', report.specs.influence],
  ] as const) {
    const svg = await renderSvg(spec);
    written.push(path.join(dir, `${name}.svg`));
    await writeFile(written.at(-1)!, svg);
    if (png) {
      written.push(path.join(dir, `${name}.png`));
      await writeFile(written.at(-1)!, await svgToPng(svg));
    }
  }
  const { specs: _specs, ...data } = report;
  written.push(path.join(dir, 'layers.json'));
  await writeFile(written.at(-1)!, `${JSON.stringify(data, null, 2)}\n`);
  return written;
}

export const layersCommand = defineCommand('layers', {
  usage,
  positionals: true,
  options: {
    task: { type: 'string' },
    examples: { type: 'string' },
    seed: { type: 'string' },
    template: { type: 'string' },
    'max-length': { type: 'string' },
    'batch-size': { type: 'string' },
    greedy: { type: 'boolean', default: false },
    sublayers: { type: 'boolean', default: false },
    'greedy-sublayers': { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    backend: { type: 'string' },
  },
  async run({ values, positionals }) {
    if (positionals.length !== 1) {
      throw new LayercutError('give one model', 'see layercut layers --help');
    }
    if (!values.task) throw new LayercutError('missing --task <name>', 'see layercut layers --help');
    await initBackend(
      values.backend === undefined ? {} : { backend: parseBackendName(values.backend, '--backend') },
    );
    const report = await layerReport({
      model: positionals[0]!,
      task: values.task,
      examples: count('examples', values.examples, 1),
      seed: count('seed', values.seed, 0),
      template: values.template,
      maxLength: count('max-length', values['max-length'], 2),
      batchSize: count('batch-size', values['batch-size'], 1),
      greedy: values.greedy,
      sublayers: values.sublayers,
      greedySublayers: count('greedy-sublayers', values['greedy-sublayers'], 1),
      onProgress: values.json ? undefined : (message) => console.error(`layercut layers: ${message}`),
    });
    if (values.json) {
      const { specs: _specs, ...data } = report;
      console.log(JSON.stringify(data, null, 2));
    } else {
      console.log(formatLayerReport(report));
    }
    if (values.out) {
      const files = await writeLayerPlots(report, values.out);
      console.error(`layercut layers: wrote ${files.join(', ')}`);
    }
    return ExitCode.ok;
  },
});
