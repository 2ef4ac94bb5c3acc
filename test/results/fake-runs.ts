/**
 * Hand-made run plans and results for the results and plot tests. The numbers are made up and
 * say so: model names end in "(synthetic)". Nothing here trains anything.
 */
import { keepAll, keepFirst, keptLayerCount, type LayerSelection } from '../../src/models/selection.js';
import { runId } from '../../src/plan/id.js';
import { PAPER_DEFAULTS, type MethodName, type RunPlan, type RunResult } from '../../src/plan/types.js';
import { adamwSpec } from '../../src/plan/options.js';

export interface FakePlanOptions {
  model?: string;
  layers?: LayerSelection;
  task?: string;
  method?: MethodName;
  seed?: number;
  lr?: number;
  template?: string;
}

export function fakePlan(options: FakePlanOptions = {}): RunPlan {
  return {
    model: { kind: 'builtin', name: options.model ?? 'gpt2-tiny (synthetic)' },
    layers: options.layers ?? keepFirst(2),
    task: options.task ?? 'sst2',
    prompt: {
      template: options.template ?? 'Review: {text}\nSentiment:{label}',
      labelWords: { negative: [' terrible'], positive: [' great'] },
      scoring: 'first',
    },
    method: { ...PAPER_DEFAULTS.method, freezeLayers: [], kind: options.method ?? 'lm' },
    data: { ...PAPER_DEFAULTS.data },
    train: {
      ...PAPER_DEFAULTS.train,
      optimizer: adamwSpec({ lr: options.lr ?? 5e-5 }),
      schedule: { ...PAPER_DEFAULTS.train.schedule },
    },
    seed: options.seed ?? 1,
  };
}

export interface FakeResultOptions {
  accuracy: number;
  macroF1?: number;
  /** Depth of the full model (for 'all' and parameter counts). Default 12. */
  depth?: number;
  /** Parameters outside the layers, and per layer. */
  embeddingParams?: number;
  paramsPerLayer?: number;
  /** Optimizer steps in the training curve. Default 20. */
  steps?: number;
}

/** A complete RunResult for `plan`, with a smoothly falling loss curve. */
export function fakeResult(plan: RunPlan, options: FakeResultOptions): RunResult {
  const depth = options.depth ?? 12;
  const kept = keptLayerCount(plan.layers, depth) ?? depth;
  const embeddingParams = options.embeddingParams ?? 40_000_000;
  const perLayer = options.paramsPerLayer ?? 7_000_000;
  const steps = options.steps ?? 20;
  const train = Array.from({ length: steps }, (_, i) => ({
    step: i + 1,
    epoch: Math.floor((i * 4) / steps),
    // Falls from about 2 towards 0.3; the seed shifts it a little.
    loss: 0.3 + 1.7 * Math.exp(-(i + 1) / (steps / 4)) + 0.02 * (plan.seed % 3) + 0.3 / (kept + 1),
    lr: plan.train.optimizer.lr,
  }));
  return {
    id: runId(plan),
    plan,
    test: {
      accuracy: options.accuracy,
      macroF1: options.macroF1 ?? options.accuracy - 0.01,
      perClass: [
        {
          label: 'negative',
          precision: options.accuracy,
          recall: options.accuracy,
          f1: options.accuracy,
          support: 500,
        },
        {
          label: 'positive',
          precision: options.accuracy,
          recall: options.accuracy,
          f1: options.accuracy,
          support: 500,
        },
      ],
      confusion: [
        [Math.round(500 * options.accuracy), 500 - Math.round(500 * options.accuracy)],
        [500 - Math.round(500 * options.accuracy), Math.round(500 * options.accuracy)],
      ],
    },
    validation: { accuracy: options.accuracy + 0.01, step: steps, epoch: 3 },
    curves: {
      train,
      eval: [1, 2, 3, 4].map((epoch) => ({
        step: (epoch * steps) / 4,
        epoch,
        accuracy: options.accuracy - 0.05 / epoch,
        loss: 0.5 / epoch,
      })),
    },
    timings: {
      wallSeconds: 12.5 * kept,
      trainSeconds: 10 * kept,
      evalSeconds: 2.5 * kept,
      trainTokensPerSecond: 4000 / kept,
    },
    size: {
      layersBefore: depth,
      layersAfter: kept,
      paramsBefore: embeddingParams + depth * perLayer,
      paramsAfter: embeddingParams + kept * perLayer,
    },
    peakTensorBytes: 1_000_000 * kept,
    backend: 'cpu',
    versions: { layercut: '0.1.0', '@tensorflow/tfjs': '4.22.0' },
  };
}

export { keepAll, keepFirst };
