/**
 * `runExperiment(plan)`: one fully specified run from model files to test metrics. The stage
 * above train/ and select/: it assembles what a run needs (hub, data, models, prompts,
 * tokenizers, a computed layer selection) and hands the encoded examples to train/.
 *
 *   model files (hub, local, built-in) → backend → task data → few-shot sample → tokenizer,
 *   template, verbalizer → encoded examples → cut model → method's scorer → train (unless icl)
 *   → test metrics of the best-validation weights → RunResult
 */
import { packageRoot } from '../package-root.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../data/load.js';
import { planSampleOptions, sampleFewShot, type FewShotSample } from '../data/sampling.js';
import { getTask, type TaskSpec } from '../data/tasks.js';
import type { Dataset, Example } from '../data/types.js';
import { loadModel, readModelConfig } from '../models/load.js';
import { fitReplacement } from '../models/replacement.js';
import { keepIndices, resolveLayers } from '../models/selection.js';
import { applySublayerDrops, layersLeft } from '../models/sublayer-drops.js';
import { LoraAdapters } from '../models/lora.js';
import { saveModel } from '../models/save.js';
import { resolveModelDir } from '../models/source.js';
import { runId } from '../plan/id.js';
import { promptMethods, type RunPlan, type RunResult } from '../plan/types.js';
import { parseTemplate, type PromptTemplate } from '../prompts/template.js';
import { sampleDemonstrations } from '../prompts/demonstrations.js';
import { fitDemonstrations, renderPrompt } from '../prompts/render.js';
import { buildVerbalizer } from '../prompts/verbalizer.js';
import { initBackend } from '../runtime/backend.js';
import { LayercutError } from '../errors.js';
import { divergence } from '../train/divergence.js';
import { withMatMulPrecision } from '../train/precision.js';
import { loadTokenizer } from '../tokenizers/load.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { EncodedExample } from '../train/batching.js';
import {
  DepthFeatures,
  depthScorer,
  sharedDepthFeatures,
  usesSharedDepthPass,
} from '../train/depth-features.js';
import { makeScorer, type ClassScorer } from '../train/scorers.js';
import { evaluate, train, type TrainEvent } from '../train/trainer.js';
import { calibrationSample } from '../select/calibration.js';
import { resolveComputedSelection } from '../select/computed.js';

export type RunProgress =
  | { phase: 'prepare'; message: string }
  | { phase: 'download'; file: string; loaded: number; total: number }
  | { phase: 'load'; loaded: number; total: number }
  | ({ phase: 'train' } & TrainEvent)
  | { phase: 'test'; examples: number };

export interface RunOptions {
  onProgress?: (event: RunProgress) => void;
  /** Aborting stops the run at its next training step or evaluation batch (InterruptedError). */
  signal?: AbortSignal;
  /** Use this task definition instead of the registry's (custom tasks in notebooks, tests). */
  task?: TaskSpec;
  /** Use these examples instead of loading the task's dataset. */
  dataset?: Dataset;
  /** Save the fine-tuned cut model (and its head) here as a Hugging Face directory. */
  saveDir?: string;
  /**
   * linear-probe and first-token icl runs of a keepFirst sweep share one forward pass for every
   * depth (default true); false runs each on its cut model alone.
   */
  sharedDepthPass?: boolean;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/** Encodes examples for a prompt method: template with demonstrations, answer slot scored. */
function encodePrompts(
  examples: readonly Example[],
  sample: FewShotSample,
  template: PromptTemplate,
  tokenizer: Tokenizer,
  plan: RunPlan,
): EncodedExample[] {
  // Shortened once to data.demoMaxTokens (or by the default rule), the same for every prompt.
  const demonstrations = fitDemonstrations(template, tokenizer, sampleDemonstrations(sample, plan), {
    maxLength: plan.data.maxLength,
    truncation: plan.data.truncate,
    ...(plan.data.demoMaxTokens !== undefined ? { demoMaxTokens: plan.data.demoMaxTokens } : {}),
  });
  return examples.map((example) => {
    const rendered = renderPrompt(template, tokenizer, {
      fields: example.fields,
      demonstrations,
      maxLength: plan.data.maxLength,
      truncation: plan.data.truncate,
    });
    return { ids: rendered.ids, scorePosition: rendered.answerPosition, label: example.label };
  });
}

/** Encodes raw texts for `cls` / `linear-probe`: the last real token is scored. */
function encodeTexts(examples: readonly Example[], tokenizer: Tokenizer, plan: RunPlan): EncodedExample[] {
  return examples.map((example) => {
    let ids = tokenizer.encode(example.text).ids;
    if (ids.length > plan.data.maxLength) {
      ids =
        plan.data.truncate === 'left'
          ? ids.slice(ids.length - plan.data.maxLength)
          : ids.slice(0, plan.data.maxLength);
    }
    if (ids.length === 0) ids = [tokenizer.specialTokens.eos?.id ?? 0];
    return { ids, scorePosition: ids.length - 1, label: example.label };
  });
}

/** Every depth's features of `examples` from one pass of the uncut model, shared by a sweep's runs. */
async function sharedFeatures(
  modelDir: string,
  examples: readonly EncodedExample[],
  padId: number,
): Promise<DepthFeatures> {
  const key = `${tf.getBackend()}|${modelDir}|${padId}`;
  return sharedDepthFeatures(key, examples, async () => {
    const { model: uncut } = await loadModel(modelDir);
    try {
      return await DepthFeatures.compute(key, uncut, examples, padId);
    } finally {
      uncut.dispose();
    }
  });
}

export async function runExperiment(plan: RunPlan, options: RunOptions = {}): Promise<RunResult> {
  return withMatMulPrecision(plan.train.precision ?? 'fp32', () => runPlan(plan, options));
}

async function runPlan(plan: RunPlan, options: RunOptions): Promise<RunResult> {
  const progress = options.onProgress;
  const wallStart = performance.now();
  const id = runId(plan);
  const backend = await initBackend({ backend: plan.backend });

  progress?.({ phase: 'prepare', message: `model ${JSON.stringify(plan.model)}` });
  const modelDir = await resolveModelDir(plan.model, (download) =>
    progress?.({ phase: 'download', ...download }),
  );
  const task = options.task ?? getTask(plan.task);
  const dataset = options.dataset ?? (await loadDataset(task));
  const sample = sampleFewShot(dataset, planSampleOptions(plan));

  const tokenizer = await loadTokenizer(modelDir);
  const usesPrompt = promptMethods.has(plan.method.kind);
  const template = parseTemplate(plan.prompt.template, { fields: task.fields, requireSlot: usesPrompt });
  const verbalizer = buildVerbalizer({
    tokenizer,
    template,
    labels: task.labels,
    labelWords: plan.prompt.labelWords,
    scoring: plan.prompt.scoring,
  });
  const encode = (examples: readonly Example[]) =>
    usesPrompt
      ? encodePrompts(examples, sample, template, tokenizer, plan)
      : encodeTexts(examples, tokenizer, plan);
  const trainSet = encode(sample.train);
  const validation = encode(sample.validation);
  const testSet = encode(sample.test);

  // A computed layer selection (byInfluence, byAngularDistance) is chosen here, on the full model,
  // from seeded calibration examples of the training split (src/select/computed.ts).
  const { selection: layers } = await resolveComputedSelection(
    modelDir,
    plan.layers,
    (count) => encode(calibrationSample(dataset.train, count, plan.seed)),
    {
      padId: tokenizer.specialTokens.pad?.id ?? tokenizer.specialTokens.eos?.id ?? 0,
      signal: options.signal,
    },
  );
  // A replacement of the removed block is fitted on the uncut model first (src/models/replacement.ts).
  const replacement = plan.train.replace
    ? await fitReplacement(
        modelDir,
        resolveLayers(layers, (await readModelConfig(modelDir)).config.numLayers),
        plan.train.replace,
        encode(calibrationSample(dataset.train, plan.train.replace.calibration, plan.seed)),
        tokenizer.specialTokens.pad?.id ?? tokenizer.specialTokens.eos?.id ?? 0,
        plan.seed,
      )
    : undefined;
  // sublayer drops: a layer without both sublayers is not loaded; the others' dropped output
  // projections are zeroed and their parameters frozen (src/models/sublayer-drops.ts)
  const drops = plan.sublayers;
  const loaded = drops
    ? keepIndices(
        layersLeft(resolveLayers(layers, (await readModelConfig(modelDir)).config.numLayers), drops),
      )
    : layers;
  const { model } = await loadModel(modelDir, {
    layers: loaded,
    onProgress: (e) => progress?.({ phase: 'load', loaded: e.loaded, total: e.total }),
  }).catch((error: unknown) => {
    replacement?.dispose();
    throw error;
  });
  const padId = tokenizer.specialTokens.pad?.id ?? tokenizer.specialTokens.eos?.id ?? 0;
  let adapters: LoraAdapters | undefined;
  let scorer: ClassScorer | undefined;
  try {
    replacement?.apply(model);
    const frozen = drops ? applySublayerDrops(model, drops) : new Set<string>();
    // LoRA: the model's weights stay frozen, adapters on its kept layers' projections train
    adapters = plan.train.adapters
      ? new LoraAdapters(model, plan.train.adapters, plan.seed, plan.method.freezeLayers, frozen)
      : undefined;
    // linear-probe and first-token icl read every depth from one shared pass (depth-features.ts)
    scorer =
      options.sharedDepthPass !== false && usesSharedDepthPass(plan, verbalizer.scoring)
        ? depthScorer(
            await sharedFeatures(modelDir, [...trainSet, ...validation, ...testSet], padId),
            model.info.layersAfter,
            model,
            plan,
            verbalizer,
          )
        : makeScorer(model, plan.method, verbalizer, plan.seed, adapters?.params);
    for (const name of frozen) scorer.trainable.delete(name); // dropped sublayers stay zero
    // icl trains nothing; neither does a run of 0 epochs (a training-free replacement, say)
    const trains = plan.method.kind !== 'icl' && (plan.train.steps ?? plan.train.epochs) > 0;
    const trained = !trains
      ? undefined
      : await train(scorer, trainSet, validation, {
          spec: plan.train,
          seed: plan.seed,
          padId,
          labels: task.labels,
          signal: options.signal,
          onEvent: (event) => progress?.({ phase: 'train', ...event }),
        });
    if (options.saveDir) {
      if (adapters) {
        // the adapter in PEFT's layout (for the cut model), then merged: a plain checkpoint
        await adapters.save(path.join(options.saveDir, 'adapter'), { baseModel: modelDir });
        adapters.merge();
      }
      await saveModel(model, options.saveDir, {
        sourceDir: modelDir,
        extraTensors: scorer.head,
        metadata: { run_id: id, method: plan.method.kind, task: task.name, labels: task.labels },
      });
      await replacement?.save(options.saveDir, model);
    }
    progress?.({ phase: 'test', examples: testSet.length });
    const evalStart = performance.now();
    const evalOptions = {
      batchSize: Math.max(plan.train.batchSize, 8),
      padId,
      labels: task.labels,
      signal: options.signal,
    };
    const test = await evaluate(scorer, testSet, evalOptions);
    if (!Number.isFinite(test.loss)) {
      throw new LayercutError(
        `the model's test scores are not finite (test loss ${test.loss}): its weights blew up in training`,
        'lower the learning rate (or clip gradients with train.maxGradNorm) and run it again',
      );
    }
    const validationAccuracy =
      trained?.best.accuracy ??
      (validation.length ? (await evaluate(scorer, validation, evalOptions)).metrics.accuracy : 0);
    const evalSeconds = (trained?.evalSeconds ?? 0) + (performance.now() - evalStart) / 1000;
    const trainSeconds = trained?.trainSeconds ?? 0;
    const curves = trained?.curves ?? { train: [], eval: [] };
    const diverged = divergence(curves);
    return {
      id,
      plan,
      test: test.metrics,
      validation: {
        accuracy: validationAccuracy,
        step: trained?.best.step ?? 0,
        epoch: trained?.best.epoch ?? 0,
      },
      curves,
      timings: {
        wallSeconds: (performance.now() - wallStart) / 1000,
        trainSeconds,
        evalSeconds,
        trainTokensPerSecond: trainSeconds > 0 ? (trained?.trainTokens ?? 0) / trainSeconds : 0,
      },
      size: {
        layersBefore: model.info.layersBefore,
        layersAfter: model.info.layersAfter,
        paramsBefore: model.info.paramsBefore,
        paramsAfter: model.info.paramsAfter + [...scorer.head.values()].reduce((n, v) => n + v.size, 0),
      },
      // the layers a computed selection chose (a fixed one says them in the plan already)
      ...(plan.layers.kind === 'computed' ? { keptLayers: model.info.keptLayers } : {}),
      ...(diverged === null ? {} : { divergence: diverged }),
      peakTensorBytes: Math.max(trained?.peakTensorBytes ?? 0, tf.memory().numBytes),
      backend: backend.name,
      versions: { layercut: packageVersion(), tfjs: tf.version.tfjs, node: process.version },
    };
  } finally {
    scorer?.dispose();
    adapters?.dispose();
    replacement?.dispose();
    model.dispose();
  }
}
