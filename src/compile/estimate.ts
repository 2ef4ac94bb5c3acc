/**
 * Rough cost of a run, from its plan alone: the cut model's parameters (config.json via
 * model-info.ts), the tokens it will process and the FLOPs that takes. Estimates, to compare
 * runs and size a sweep before spending GPU time:
 *
 *   prompt tokens  ≈ (1 + demos·classes) × (average example tokens + template tokens + 1), at most maxLength
 *                    (cls and linear-probe read the raw text: average example tokens)
 *   train tokens   = training examples × epochs × prompt tokens (or steps × batch × accumulation × prompt tokens)
 *   eval tokens    = (validation × evaluations + test) × prompt tokens
 *   FLOPs          ≈ 6 · params · train tokens + 2 · params · eval tokens
 *
 * Upper bounds: early stopping usually ends a run sooner. Average example lengths are GPT-2
 * BPE token counts measured roughly on each task's data; unknown tasks give no estimate.
 */
import { getTask } from '../data/tasks.js';
import type { RunPlan } from '../plan/types.js';
import type { CompiledRun } from './compile.js';
import { parameterCount } from './model-info.js';

/** Average tokens of one example's text (GPT-2 BPE, approximate). */
export const averageExampleTokens: Readonly<Record<string, number>> = {
  sst2: 13,
  agnews: 50,
  trec: 12,
  emoc: 20,
  spam: 350,
  'sotu-party': 140,
};

/** Training split sizes, for `trainPerClass: 'all'` (approximate for the builtin corpora). */
export const trainSplitSize: Readonly<Record<string, number>> = {
  sst2: 67349,
  agnews: 120000,
  trec: 5452,
  emoc: 30160,
};

export interface RunEstimate {
  /** Parameters and layers of the full and the cut model; absent when the config is unknown. */
  params?: { before: number; after: number; layersBefore: number; layersAfter: number };
  /** Tokens of one prompt, of training, of evaluation; absent for tasks without length data. */
  tokens?: { prompt: number; train: number; eval: number };
  /** FLOPs of training and evaluation; absent when params or tokens are. */
  flops?: { train: number; eval: number; total: number };
}

/** Tokens of the template's own text (about 4 characters a token). */
function templateTokens(template: string): number {
  const literal = template.replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, '');
  return Math.ceil(literal.length / 4);
}

/** Estimated tokens of one input of `plan` (demonstrations included for prompt methods). */
export function promptTokens(plan: RunPlan): number | undefined {
  const example = averageExampleTokens[plan.task];
  if (example === undefined) return undefined;
  const classes = getTask(plan.task).labels.length;
  const raw = plan.method.kind === 'cls' || plan.method.kind === 'linear-probe';
  const one = raw ? example : example + templateTokens(plan.prompt.template) + 1;
  const copies = raw ? 1 : 1 + plan.data.demosPerClass * classes;
  return Math.min(plan.data.maxLength, copies * one);
}

/** Training examples per epoch. */
function trainExamples(plan: RunPlan): number | undefined {
  const classes = getTask(plan.task).labels.length;
  if (plan.data.trainPerClass !== 'all') return plan.data.trainPerClass * classes;
  const size = trainSplitSize[plan.task];
  return size === undefined
    ? undefined
    : Math.max(0, size - plan.data.validation - plan.data.demosPerClass * classes);
}

/** Tokens a run processes in training and evaluation (upper bounds: all epochs, no early stop). */
export function tokenEstimate(plan: RunPlan): RunEstimate['tokens'] {
  const prompt = promptTokens(plan);
  const examples = trainExamples(plan);
  if (prompt === undefined || examples === undefined) return undefined;
  if (plan.method.kind === 'icl') return { prompt, train: 0, eval: plan.data.test * prompt };
  const { train } = plan;
  const examplesPerStep = train.batchSize * train.gradientAccumulation;
  const steps = train.steps ?? Math.ceil(examples / examplesPerStep) * train.epochs;
  const evaluations =
    train.evalEvery === 'epoch'
      ? train.steps !== undefined
        ? Math.ceil((train.steps * examplesPerStep) / Math.max(1, examples))
        : train.epochs
      : Math.floor(steps / train.evalEvery);
  return {
    prompt,
    train: steps * examplesPerStep * prompt,
    eval: (plan.data.validation * evaluations + plan.data.test) * prompt,
  };
}

/** Parameters, tokens and FLOPs of a compiled run, as far as they can be known offline. */
export function estimateRun(run: CompiledRun): RunEstimate {
  const estimate: RunEstimate = {};
  if (run.model?.known && run.keptLayers) {
    const all = Array.from({ length: run.model.depth }, (_, i) => i);
    estimate.params = {
      before: parameterCount(run.model, all),
      after: parameterCount(run.model, run.keptLayers),
      layersBefore: run.model.depth,
      layersAfter: run.keptLayers.length,
    };
  }
  const tokens = tokenEstimate(run.plan);
  if (tokens) estimate.tokens = tokens;
  if (estimate.params && tokens) {
    const n = estimate.params.after;
    const train = 6 * n * tokens.train;
    const evaluation = 2 * n * tokens.eval;
    estimate.flops = { train, eval: evaluation, total: train + evaluation };
  }
  return estimate;
}
