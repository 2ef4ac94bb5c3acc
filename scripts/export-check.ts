/**
 * The layercut half of the export check: does a cut (and fine-tuned) model that layercut saves
 * load in Hugging Face `transformers` with the same logits? This script
 *
 *   1. loads a model (a folder, or a built-in name such as gpt2-tiny) keeping `--layers`,
 *   2. optionally fine-tunes it `--train-steps` AdamW steps on the cpu (prompt-based `lm`
 *      on a synthetic two-class batch), so that saved weights differ from the source's,
 *   3. saves it with saveModel into OUT/model,
 *   4. writes layercut's logits on fixed input ids into OUT/layercut-logits.safetensors
 *      (input_ids, attention_mask int32 [B, T] — the second row right-padded — and logits
 *      float32 [B, T, V]) and a summary into OUT/export-check.json, after checking that
 *      layercut itself reloads OUT/model with the same logits.
 *
 * scripts/check_export.py is the other half: it loads OUT/model with transformers, runs the
 * same ids and prints max |Δ| and PASS/FAIL.
 *
 *   node --import tsx scripts/export-check.ts --model gpt2-tiny --layers '0, 2' --train-steps 2 --out /tmp/export/gpt2
 *   python3 scripts/check_export.py /tmp/export/gpt2
 *
 * `--all --out DIR` runs every case of EXPORT_CASES (each family, cut and fine-tuned) into
 * DIR/<case>/; then `python3 scripts/check_export.py DIR/*` checks them all.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { parseLayerText, resolveLayerRequest } from '../src/compile/layers.js';
import { mulberry32 } from '../src/data/random.js';
import { LayercutError } from '../src/errors.js';
import { builtinModelFolder } from '../src/models/builtin.js';
import { loadModel, readModelConfig } from '../src/models/load.js';
import { saveModel } from '../src/models/save.js';
import type { LanguageModel } from '../src/models/types.js';
import { PAPER_DEFAULTS, type TrainSpec } from '../src/plan/types.js';
import type { Verbalizer } from '../src/prompts/verbalizer.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import type { EncodedExample } from '../src/train/batching.js';
import { makeScorer } from '../src/train/scorers.js';
import { train } from '../src/train/trainer.js';
import { adamwSpec } from '../src/plan/options.js';

export interface ExportCheckOptions {
  /** A model folder, or the name of a built-in model. */
  model: string;
  /** Layer text as in experiments ('first 2', '0, 2', 'first 1 + last 1'); default all. */
  layers?: string;
  out: string;
  /** AdamW steps before saving (default 0: save the cut as loaded). */
  trainSteps?: number;
  seed?: number;
}

export interface ExportCheckSummary {
  model: string;
  family: string;
  modelType: string;
  keptLayers: number[];
  trainSteps: number;
  /** Files written, relative to `out`. */
  savedModel: string;
  logits: string;
  /** Shape of the logits: [B, T, V]. */
  shape: number[];
  /** max |Δ| between the in-memory model's logits and OUT/model reloaded by layercut. */
  reloadMaxAbsDiff: number;
}

/** The cases of `--all`: a model (folder or built-in name), its layers and AdamW steps before saving. */
export const EXPORT_CASES: readonly { model: string; layers: string; trainSteps: number }[] = [
  { model: 'models/tiny-english', layers: 'all', trainSteps: 0 },
  { model: 'models/tiny-english', layers: 'first 3', trainSteps: 0 },
  { model: 'models/tiny-english', layers: 'first 2', trainSteps: 2 },
  { model: 'gpt2-tiny', layers: '0, 2', trainSteps: 2 },
  { model: 'gpt2-tiny-bf16', layers: 'first 2', trainSteps: 2 },
  { model: 'opt-tiny', layers: 'first 2', trainSteps: 2 },
  { model: 'opt-tiny-postln', layers: '0, 3', trainSteps: 2 },
  { model: 'llama-tiny-gqa', layers: 'first 1 + last 1', trainSteps: 2 },
  { model: 'bert-tiny', layers: '0, 3', trainSteps: 2 },
  { model: 'roberta-tiny', layers: 'first 1 + last 1', trainSteps: 2 },
  // issue 19: every new family, with cuts that renumber layers (sliding-window layer types follow)
  { model: 'qwen2-tiny', layers: 'first 2', trainSteps: 2 },
  { model: 'qwen2-tiny-window', layers: 'first 1 + last 1', trainSteps: 2 },
  { model: 'qwen3-tiny', layers: '0, 2', trainSteps: 2 },
  { model: 'qwen3-tiny-window', layers: 'first 1 + last 2', trainSteps: 2 },
  { model: 'mistral-tiny', layers: 'first 3', trainSteps: 2 },
  { model: 'mistral-tiny-nowindow', layers: '1, 3', trainSteps: 2 },
  { model: 'phi3-tiny', layers: 'first 2', trainSteps: 2 },
  { model: 'phi3-tiny-partial', layers: 'first 1 + last 1', trainSteps: 2 },
  { model: 'phi3-tiny-longrope', layers: '0, 2', trainSteps: 2 },
  { model: 'phi3-tiny-longrope-long', layers: 'first 3', trainSteps: 2 },
  { model: 'gemma-tiny', layers: '0, 3', trainSteps: 2 },
  { model: 'gemma-tiny-act', layers: 'first 2', trainSteps: 2 },
  { model: 'gpt-neox-tiny', layers: 'first 1 + last 1', trainSteps: 2 },
  { model: 'gpt-neox-tiny-sequential', layers: 'first 2', trainSteps: 2 },
  { model: 'llama3-tiny', layers: '0, 2', trainSteps: 2 },
  { model: 'llama-tiny-linear', layers: 'first 1 + last 1', trainSteps: 2 },
  { model: 'llama-tiny-dynamic', layers: 'first 3', trainSteps: 2 },
];

/** The folder name of a case under `--all`'s OUT: "qwen2-tiny-window-first_1___last_1-2". */
export function caseFolder(c: (typeof EXPORT_CASES)[number]): string {
  return `${c.model}-${c.layers}-${c.trainSteps}`.replace(/[^A-Za-z0-9-]/g, '_');
}

const BATCH = 2;
const SEQ = 12;
const PADDED = 4;

/** Fixed inputs: ids in [3, V) avoiding the pad id, the second row right-padded by 4. */
export function checkInputs(
  vocabSize: number,
  padId: number,
  seed: number,
): { ids: Int32Array; mask: Int32Array } {
  const random = mulberry32(seed + 1);
  const ids = new Int32Array(BATCH * SEQ);
  const mask = new Int32Array(BATCH * SEQ).fill(1);
  for (let i = 0; i < ids.length; i++) {
    let id = 3 + random.int(vocabSize - 3);
    if (id === padId) id = id + 1 < vocabSize ? id + 1 : 3;
    ids[i] = id;
  }
  for (let t = SEQ - PADDED; t < SEQ; t++) {
    ids[SEQ + t] = padId;
    mask[SEQ + t] = 0;
  }
  return { ids, mask };
}

/** A few AdamW steps of prompt-based `lm` training on random prompts of two classes (label tokens 7 and 11). */
async function fineTune(model: LanguageModel, steps: number, seed: number, padId: number): Promise<void> {
  const vocab = model.info.config.vocabSize;
  const random = mulberry32(seed + 2);
  const examples: EncodedExample[] = Array.from({ length: 8 }, (_, i) => {
    const ids = Array.from({ length: 6 + (i % 3) }, () => 3 + random.int(vocab - 3));
    return { ids, scorePosition: ids.length - 1, label: i % 2 };
  });
  const verbalizer: Verbalizer = {
    labels: ['a', 'b'],
    scoring: 'first',
    words: [[], []],
    scoredIds: [[[7 % vocab]], [[11 % vocab]]],
    issues: [],
  };
  const spec: TrainSpec = {
    ...PAPER_DEFAULTS.train,
    optimizer: adamwSpec({ lr: 1e-2, weightDecay: 0.01 }),
    batchSize: 4,
    steps,
  };
  const method = { ...PAPER_DEFAULTS.method, kind: 'lm' as const };
  const scorer = makeScorer(model, method, verbalizer, seed);
  try {
    // no validation set: the weights after the last step are the ones saved
    await train(scorer, examples, [], { spec, seed, padId, labels: verbalizer.labels });
  } finally {
    scorer.dispose();
  }
}

async function modelFolder(model: string): Promise<string> {
  return existsSync(path.join(model, 'config.json')) ? path.resolve(model) : builtinModelFolder(model);
}

/** Steps 1–4 of the file comment; returns the summary also written to OUT/export-check.json. */
export async function exportForCheck(options: ExportCheckOptions): Promise<ExportCheckSummary> {
  const sourceDir = await modelFolder(options.model);
  const seed = options.seed ?? 0;
  const trainSteps = options.trainSteps ?? 0;
  const { config } = await readModelConfig(sourceDir);
  const configJson = JSON.parse(await readFile(path.join(sourceDir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const padId = typeof configJson['pad_token_id'] === 'number' ? configJson['pad_token_id'] : 0;
  const { selection } = resolveLayerRequest(
    parseLayerText(options.layers ?? 'all'),
    config.numLayers,
    path.basename(sourceDir),
  );
  const { model } = await loadModel(sourceDir, { layers: selection });
  const savedModel = 'model';
  const logitsFile = 'layercut-logits.safetensors';
  try {
    if (trainSteps > 0) await fineTune(model, trainSteps, seed, padId);
    await mkdir(options.out, { recursive: true });
    await saveModel(model, path.join(options.out, savedModel), {
      sourceDir,
      metadata: { export_check: true, train_steps: trainSteps },
    });
    const { ids, mask } = checkInputs(config.vocabSize, padId, seed);
    const inputIds = tf.tensor2d(ids, [BATCH, SEQ], 'int32');
    const attentionMask = tf.tensor2d(mask, [BATCH, SEQ], 'int32');
    const { model: reloaded } = await loadModel(path.join(options.out, savedModel));
    try {
      const logits = model.logits(inputIds, attentionMask); // [B, T, V]
      const again = reloaded.logits(inputIds, attentionMask);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, again))));
      const reloadMaxAbsDiff = (await diff.data())[0]!;
      const shape = logits.shape;
      await writeSafetensors(
        path.join(options.out, logitsFile),
        {
          input_ids: { dtype: 'I32', shape: [BATCH, SEQ], data: ids },
          attention_mask: { dtype: 'I32', shape: [BATCH, SEQ], data: mask },
          logits: { dtype: 'F32', shape, data: (await logits.data()) as Float32Array },
        },
        { format: 'pt' },
      );
      tf.dispose([logits, again, diff]);
      const summary: ExportCheckSummary = {
        model: options.model,
        family: model.info.family,
        modelType: config.modelType,
        keptLayers: model.info.keptLayers,
        trainSteps,
        savedModel,
        logits: logitsFile,
        shape,
        reloadMaxAbsDiff,
      };
      await writeFile(path.join(options.out, 'export-check.json'), `${JSON.stringify(summary, null, 2)}\n`);
      return summary;
    } finally {
      tf.dispose([inputIds, attentionMask]);
      reloaded.dispose();
    }
  } finally {
    model.dispose();
  }
}

const usage = `usage: node --import tsx scripts/export-check.ts --model <dir|builtin> --out <dir> [--layers TEXT] [--train-steps N] [--seed N]
       node --import tsx scripts/export-check.ts --all --out <dir>     (every case of EXPORT_CASES, one folder each)`;

/** One line about a finished export. */
function describeSummary(summary: ExportCheckSummary, out: string): string {
  return (
    `${summary.model}: kept layers [${summary.keptLayers.join(', ')}], ${summary.trainSteps} training step(s); ` +
    `saved ${path.join(out, summary.savedModel)}, logits [${summary.shape}] in ` +
    `${path.join(out, summary.logits)}; layercut reload max |Δ| = ${summary.reloadMaxAbsDiff}`
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      layers: { type: 'string' },
      out: { type: 'string' },
      'train-steps': { type: 'string' },
      seed: { type: 'string' },
      all: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || (!values.model && !values.all) || !values.out) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  await tf.setBackend('cpu');
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  try {
    if (values.all) {
      let failed = 0;
      for (const c of EXPORT_CASES) {
        const out = path.join(values.out, caseFolder(c));
        const summary = await exportForCheck({
          model: c.model,
          layers: c.layers,
          out,
          trainSteps: c.trainSteps,
          seed,
        });
        console.log(describeSummary(summary, out));
        if (summary.reloadMaxAbsDiff !== 0) failed++;
      }
      return failed === 0 ? 0 : 1;
    }
    const summary = await exportForCheck({
      model: values.model!,
      layers: values.layers,
      out: values.out,
      trainSteps: values['train-steps'] === undefined ? 0 : Number(values['train-steps']),
      seed,
    });
    console.log(describeSummary(summary, values.out));
    return summary.reloadMaxAbsDiff === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof LayercutError) {
      console.error(`export-check: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
