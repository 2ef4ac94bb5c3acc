/**
 * `runPretraining(plan)`: one pretraining job, from text to a model folder.
 *
 *   offline corpus (held-out test texts excluded) → byte-level BPE trained on the training text
 *   → token stream packed into blocks of contextLength + 1 → GPT-2 initialised from the seed
 *   → causal-LM training (train-loop.ts) → model folder: config.json, model.safetensors,
 *     tokenizer files, training.json (plan, curve, validation perplexity), training-curve.svg
 *
 * The folder is built under `<out>.partial/` — with a checkpoint after every evaluation, so a
 * job that dies keeps its last one — and renamed to `<out>` only when the job has finished.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildPretrainingCorpus } from '../data/corpus.js';
import { packDocumentsFlat } from '../data/pack-documents.js';
import { LayercutError } from '../errors.js';
import { randomGpt2Checkpoint } from '../models/init.js';
import { loadModel } from '../models/load.js';
import { saveModel } from '../models/save.js';
import { pretrainCurveSpec } from '../plots/pretrain-plots.js';
import { initBackend } from '../runtime/backend.js';
import { loadTokenizer } from '../tokenizers/load.js';
import { ByteLevelBpeEncoder } from '../tokenizers/bpe-encoder.js';
import { trainByteLevelBpe } from '../tokenizers/train-bpe.js';
import { saveTrainedTokenizer } from '../tokenizers/trained-files.js';
import { writeSafetensors } from '../weights/safetensors.js';
import { gpt2ConfigJson } from './compile.js';
import type { PretrainPlan, PretrainReport } from './plan.js';
import { pretrainLoop, type PretrainEvent } from './train-loop.js';
import { withMatMulPrecision } from '../train/precision.js';

export type PretrainProgress =
  | { phase: 'corpus' | 'tokenizer' | 'encode' | 'model' | 'save'; message: string }
  | ({ phase: 'train' } & PretrainEvent);

export interface PretrainOptions {
  /** The model folder to write (replaced when the job finishes). */
  outDir: string;
  onProgress?: (event: PretrainProgress) => void;
  signal?: AbortSignal;
  /** Use these documents instead of the plan's corpus (tests, custom text). */
  documents?: { train: readonly string[]; validation: readonly string[] };
}

const EOS = '<|endoftext|>';

export async function runPretraining(plan: PretrainPlan, options: PretrainOptions): Promise<PretrainReport> {
  const progress = options.onProgress;
  const outDir = path.resolve(options.outDir);
  const workDir = `${outDir}.partial`;
  const initDir = path.join(workDir, '.init');
  const backend = await initBackend({ backend: plan.backend });

  progress?.({ phase: 'corpus', message: `sources ${plan.corpus.sources.join(', ')}` });
  const documents = options.documents ?? (await buildPretrainingCorpus({ sources: plan.corpus.sources }));

  const tokenizerStart = performance.now();
  progress?.({ phase: 'tokenizer', message: `byte-level BPE, ${plan.tokenizer.vocabSize} tokens` });
  const trained = trainByteLevelBpe(documents.train, {
    vocabSize: plan.tokenizer.vocabSize,
    minFrequency: plan.tokenizer.minFrequency,
    specialTokens: [EOS],
  });
  await rm(workDir, { recursive: true, force: true });
  await mkdir(initDir, { recursive: true });
  await saveTrainedTokenizer(initDir, trained, { modelMaxLength: plan.architecture.positions });
  const tokenizerSeconds = (performance.now() - tokenizerStart) / 1000;

  progress?.({
    phase: 'encode',
    message: `${documents.train.length + documents.validation.length} documents`,
  });
  const tokenizer = await loadTokenizer(initDir);
  const eosId = tokenizer.specialTokens.eos?.id;
  if (eosId === undefined) throw new LayercutError(`internal: the trained tokenizer has no ${EOS}`);
  // the trainer's own encoder (same ids as the saved tokenizer.json, tested) caches words: fast on a corpus
  const encoder = new ByteLevelBpeEncoder(trained);
  const encodeAll = (texts: readonly string[]) => texts.map((text) => encoder.encode(text));
  const length = plan.train.contextLength;
  // blocks of T + 1 tokens end to end: [blocks · (T + 1)]
  const train = packDocumentsFlat(encodeAll(documents.train), { contextLength: length, eosId });
  const validation = packDocumentsFlat(encodeAll(documents.validation), { contextLength: length, eosId });

  progress?.({ phase: 'model', message: describeArchitecture(plan) });
  const config = gpt2ConfigJson(plan, tokenizer.vocabSize, eosId);
  await writeFile(path.join(initDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeSafetensors(
    path.join(initDir, 'model.safetensors'),
    await randomGpt2Checkpoint(config, plan.seed),
    {
      format: 'pt',
    },
  );
  const { model } = await loadModel(initDir);

  const report: PretrainReport = {
    plan,
    corpus: {
      trainTokens: (train.length / (length + 1)) * length,
      validationTokens: (validation.length / (length + 1)) * length,
      trainDocuments: documents.train.length,
      validationDocuments: documents.validation.length,
    },
    tokenizerSeconds,
    params: model.info.paramsAfter,
    curve: [],
    evals: [],
    stoppedBy: null,
    steps: 0,
    trainSeconds: 0,
    backend: backend.name,
    modelBytes: 0,
  };
  const save = async () => {
    await saveModel(model, workDir, {
      sourceDir: initDir,
      dtype: plan.saveDtype,
      metadata: { pretrained_by: 'layercut pretrain', name: plan.name, steps: report.steps },
    });
    report.modelBytes = (await stat(path.join(workDir, 'model.safetensors'))).size;
    await writeFile(path.join(workDir, 'training.json'), `${JSON.stringify(report)}\n`);
  };
  try {
    const outcome = await withMatMulPrecision(plan.train.precision ?? 'fp32', () =>
      pretrainLoop(
        model,
        { train, validation },
        {
          spec: plan.train,
          seed: plan.seed,
          signal: options.signal,
          onEvent: (event) => progress?.({ phase: 'train', ...event }),
          onCheckpoint: async (sofar) => {
            Object.assign(report, { curve: sofar.curve, evals: sofar.evals, steps: sofar.steps });
            await save();
          },
        },
      ),
    );
    Object.assign(report, {
      curve: outcome.curve,
      evals: outcome.evals,
      stoppedBy: outcome.stoppedBy,
      steps: outcome.steps,
      trainSeconds: outcome.trainSeconds,
    });
    progress?.({ phase: 'save', message: outDir });
    await save();
    // loaded here: vega's top-level await would stop require('layercut') (CommonJS) from loading this module
    const { renderSvg } = await import('../plots/render.js');
    await writeFile(path.join(workDir, 'training-curve.svg'), await renderSvg(pretrainCurveSpec(report)));
  } finally {
    model.dispose();
  }
  await rm(initDir, { recursive: true, force: true });
  if (existsSync(outDir)) await rm(outDir, { recursive: true, force: true });
  await rename(workDir, outDir);
  return report;
}

export function describeArchitecture(plan: PretrainPlan): string {
  const a = plan.architecture;
  return `GPT-2, ${a.layers} layers, width ${a.width}, ${a.heads} heads, ${a.positions} positions`;
}
