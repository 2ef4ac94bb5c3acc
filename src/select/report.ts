/**
 * The layer report (`layercut layers`, and `layerReport` in a notebook): one model, one task,
 * N calibration examples of the task's training split rendered with its template (zero-shot,
 * no demonstrations), and for every layer
 *
 *   block influence            1 − cos(input, output) over real tokens (ShortGPT)
 *   angular distance to next   d(ℓ, ℓ+1) at the last token (Gromov et al.)
 *   depth preview              zero-shot accuracy of the model cut to layers 0 … ℓ (logit lens)
 *
 * plus the angular distance and cosine between every pair of depths, the cut each method
 * suggests, optionally a greedy search, and Vega-Lite specs of the similarity heatmap and the
 * block-influence bars.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../data/load.js';
import { getTask, type TaskSpec } from '../data/tasks.js';
import type { Dataset } from '../data/types.js';
import { LayercutError } from '../errors.js';
import { generatedModelNames, shippedModelDir } from '../models/builtin.js';
import { loadModel } from '../models/load.js';
import type { LanguageModel } from '../models/types.js';
import type { ModelSource } from '../plan/types.js';
import { blockInfluenceSpec, similarityHeatmapSpec } from '../plots/layer-plots.js';
import type { PlotSpec } from '../plots/specs.js';
import { renderPrompt } from '../prompts/render.js';
import { parseTemplate } from '../prompts/template.js';
import { buildVerbalizer } from '../prompts/verbalizer.js';
import { modelName } from '../results/rows.js';
import { loadTokenizer } from '../tokenizers/load.js';
import type { EncodedExample } from '../train/batching.js';
import { resolveModelDir } from '../models/source.js';
import { calibrationSample, depthSimilarity, influenceOver, type DepthSimilarity } from './calibration.js';
import { depthPreview } from './depth-preview.js';
import { greedyLayerSearch, type GreedySearchResult } from './greedy.js';
import { greedySublayerSearch, type GreedySublayerResult } from './greedy-sublayers.js';
import { sublayerMeasuresOver, type SublayerMeasures } from './sublayer-measures.js';

export interface LayerSuggestions {
  /** Layers by increasing block influence: ShortGPT drops them in this order. */
  influenceDropOrder: number[];
  /** For each block size n = 1 … L−1: the n consecutive layers whose ends are closest. */
  angularBlocks: { n: number; drop: number[]; distance: number }[];
  /** The smallest depth with the best zero-shot accuracy. */
  previewDepth: { depth: number; accuracy: number };
}

export interface LayerMeasurement {
  /** Original indices of the layers measured. */
  layers: number[];
  /** Block influence of each layer ([L]). */
  influence: number[];
  /** d(ℓ, ℓ+1) of each layer: its input against its output at the last token ([L]). */
  angularToNext: number[];
  /** Zero-shot accuracy keeping layers 0 … ℓ, i.e. at depth ℓ+1 ([L]). */
  previewAccuracy: number[];
  /** Between every pair of depths 0 … L ([L+1][L+1]). */
  similarity: DepthSimilarity;
  suggestions: LayerSuggestions;
  /** Present when asked for: greedy elimination down to one layer. */
  greedy?: GreedySearchResult;
  /** Present when asked for: block influence and angular distance per sublayer (attention, MLP of each layer). */
  sublayers?: SublayerMeasures;
  /** Present when asked for: greedy elimination of sublayers. */
  greedySublayers?: GreedySublayerResult;
}

export interface MeasureLayersOptions {
  batchSize?: number;
  padId?: number;
  /** Also run the greedy search (one forward pass per candidate: L²/2 passes). */
  greedy?: boolean;
  /** Also measure each sublayer (pre-norm families). */
  sublayers?: boolean;
  /** Also drop this many sublayers greedily by zero-shot accuracy (pre-norm families). */
  greedySublayers?: number;
  /** Aborting stops the measurements at the next batch (InterruptedError). */
  signal?: AbortSignal;
}

/** The smallest depth of highest accuracy (depths are 1-based). */
function bestDepth(accuracies: readonly number[]): { depth: number; accuracy: number } {
  let best = 0;
  accuracies.forEach((a, i) => {
    if (a > accuracies[best]!) best = i;
  });
  return { depth: best + 1, accuracy: accuracies[best] ?? 0 };
}

/** Every measurement of the report on a loaded model and encoded examples. */
export async function measureLayers(
  model: LanguageModel,
  examples: readonly EncodedExample[],
  labelTokenIds: readonly number[],
  options: MeasureLayersOptions = {},
): Promise<LayerMeasurement> {
  const layers = model.info.keptLayers;
  const measure = { batchSize: options.batchSize, padId: options.padId, signal: options.signal };
  const influence = await influenceOver(model, examples, measure);
  const similarity = await depthSimilarity(model, examples, measure);
  const preview = await depthPreview(model, examples, labelTokenIds, measure);
  const previewAccuracy = preview.map((reading) => reading.accuracy);
  const angularToNext = layers.map((_, l) => similarity.angular[l]![l + 1]!);

  const angularBlocks: LayerSuggestions['angularBlocks'] = [];
  for (let n = 1; n < layers.length; n++) {
    let start = 0;
    for (let l = 1; l + n <= layers.length; l++) {
      if (similarity.angular[l]![l + n]! < similarity.angular[start]![start + n]!) start = l;
    }
    angularBlocks.push({
      n,
      drop: layers.slice(start, start + n),
      distance: similarity.angular[start]![start + n]!,
    });
  }
  // lowest influence first; ties drop the higher layer first (as keepByInfluence keeps the lower)
  const influenceDropOrder = layers
    .map((_, p) => p)
    .sort((a, b) => influence[a]! - influence[b]! || b - a)
    .map((p) => layers[p]!);
  const measurement: LayerMeasurement = {
    layers: [...layers],
    influence,
    angularToNext,
    previewAccuracy,
    similarity,
    suggestions: { influenceDropOrder, angularBlocks, previewDepth: bestDepth(previewAccuracy) },
  };
  if (options.greedy && examples.length > 0 && layers.length > 1) {
    measurement.greedy = await greedyLayerSearch(model, examples, labelTokenIds, { ...measure, keep: 1 });
  }
  if (options.sublayers) measurement.sublayers = await sublayerMeasuresOver(model, examples, measure);
  if (options.greedySublayers) {
    measurement.greedySublayers = await greedySublayerSearch(model, examples, labelTokenIds, {
      ...measure,
      drop: options.greedySublayers,
    });
  }
  return measurement;
}

/**
 * A model as the command line names it: a folder (with config.json), `builtin:NAME` or the
 * name of a built-in model, or a hub repository `org/name` (`org/name@revision`).
 */
export function modelSourceFromText(text: string): ModelSource {
  if (text.startsWith('builtin:')) return { kind: 'builtin', name: text.slice('builtin:'.length) };
  if (existsSync(text) && statSync(text).isDirectory()) return { kind: 'local', path: text };
  if (shippedModelDir(text) || generatedModelNames.includes(text)) return { kind: 'builtin', name: text };
  const hub = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(text);
  if (hub) return hub[2] ? { kind: 'hub', repo: hub[1]!, revision: hub[2] } : { kind: 'hub', repo: hub[1]! };
  throw new LayercutError(
    `cannot find model '${text}': not a folder, a built-in model or a hub repository`,
    `give a folder with config.json, a built-in name (${generatedModelNames.join(', ')}, or a folder of models/), ` +
      'or a hub repository such as openai-community/gpt2',
  );
}

export interface LayerReportOptions {
  /** A model source, or text as modelSourceFromText reads it. */
  model: ModelSource | string;
  /** A registry task name or a task definition. */
  task: string | TaskSpec;
  /** Calibration examples (default 64), drawn with `seed` from the training split. */
  examples?: number;
  seed?: number;
  /** Use these examples instead of loading the task's dataset. */
  dataset?: Dataset;
  /** Template instead of the task's (e.g. one with {mask} for BERT and RoBERTa). */
  template?: string;
  /** Longest prompt in tokens (default: the model's positions, at most 1024); longer texts lose their start. */
  maxLength?: number;
  batchSize?: number;
  greedy?: boolean;
  sublayers?: boolean;
  greedySublayers?: number;
  /** Progress lines ("loading model …"). */
  onProgress?: (message: string) => void;
  /** Aborting stops the measurements at the next batch (InterruptedError). */
  signal?: AbortSignal;
}

export interface LayerReport extends LayerMeasurement {
  model: string;
  task: string;
  template: string;
  /** Calibration examples used. */
  examples: number;
  seed: number;
  /** Layers of the full model. */
  depth: number;
  specs: { similarity: PlotSpec; influence: PlotSpec };
}

const encoderFamilies = new Set(['bert', 'roberta']);

/** Loads the model and the task's data and measures every layer (see the file comment). */
export async function layerReport(options: LayerReportOptions): Promise<LayerReport> {
  const source = typeof options.model === 'string' ? modelSourceFromText(options.model) : options.model;
  const progress = options.onProgress ?? (() => {});
  const task = typeof options.task === 'string' ? getTask(options.task) : options.task;
  const seed = options.seed ?? 0;
  const count = options.examples ?? 64;
  if (!Number.isInteger(count) || count < 1) {
    throw new LayercutError(`the report needs 1 or more calibration examples, got ${count}`);
  }
  progress(`model ${modelName(source)}`);
  const modelDir = await resolveModelDir(source);
  progress(`task ${task.name}: reading its data`);
  const dataset = options.dataset ?? (await loadDataset(task));
  const tokenizer = await loadTokenizer(modelDir);
  const { model } = await loadModel(path.resolve(modelDir));
  try {
    const isEncoder = encoderFamilies.has(model.info.family);
    const templateSource = options.template ?? task.template;
    const template = parseTemplate(templateSource, {
      fields: task.fields,
      slotKind: isEncoder ? 'mask' : 'label',
    });
    const verbalizer = buildVerbalizer({
      tokenizer,
      template,
      labels: task.labels,
      labelWords: task.labelWords,
      scoring: 'first',
    });
    const labelTokenIds = verbalizer.scoredIds.map((words) => words[0]![0]!);
    const maxLength = options.maxLength ?? Math.min(1024, model.info.config.maxPositions);
    const calibration = calibrationSample(dataset.train, count, seed);
    if (calibration.length === 0) throw new LayercutError(`task ${task.name} has no training examples`);
    const examples: EncodedExample[] = calibration.map((example) => {
      const rendered = renderPrompt(template, tokenizer, {
        fields: example.fields,
        maxLength,
        truncation: 'left',
      });
      return { ids: rendered.ids, scorePosition: rendered.answerPosition, label: example.label };
    });
    const padId = tokenizer.specialTokens.pad?.id ?? tokenizer.specialTokens.eos?.id ?? 0;
    progress(`measuring ${model.info.layersAfter} layers on ${examples.length} examples`);
    const measurement = await measureLayers(model, examples, labelTokenIds, {
      batchSize: options.batchSize,
      padId,
      greedy: options.greedy,
      sublayers: options.sublayers,
      greedySublayers: options.greedySublayers,
      signal: options.signal,
    });
    const name = modelName(source);
    return {
      model: name,
      task: task.name,
      template: templateSource,
      examples: examples.length,
      seed,
      depth: model.info.layersBefore,
      ...measurement,
      specs: {
        similarity: similarityHeatmapSpec(measurement.similarity.angular, {
          title: `${name} on ${task.name}: angular distance between depths`,
        }),
        influence: blockInfluenceSpec(measurement.influence, {
          layers: measurement.layers,
          title: `${name} on ${task.name}: block influence`,
        }),
      },
    };
  } finally {
    model.dispose();
  }
}
