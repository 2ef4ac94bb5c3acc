/**
 * A pretraining job as the command line runs it: a plan (from an experiment file, or saved as
 * JSON), documents (built from the npm datasets, or read from a corpus file), progress lines on
 * stderr and a summary on stdout. `scripts/pretrain-plan.ts` runs the same job from a saved plan
 * where experiment files cannot be imported (a bundled run on a GPU machine).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { LayercutError } from '../errors.js';
import type { PretrainPlan, PretrainReport } from './plan.js';
import { runPretraining, type PretrainProgress } from './run.js';

type Documents = { train: readonly string[]; validation: readonly string[] };

/** A plan saved as JSON: a plan itself, or a model's training.json (whose `plan` made that model). */
export async function readPlanJson(file: string): Promise<PretrainPlan> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new LayercutError(`cannot read the plan ${file}: ${(error as Error).message}`);
  }
  const plan = (value as { plan?: unknown }).plan ?? value;
  const architecture = (plan as Partial<PretrainPlan>).architecture;
  if (architecture?.family !== 'gpt2') {
    throw new LayercutError(
      `${file} holds no pretraining plan`,
      'write one with layercut pretrain <file.ts> --save-plan FILE',
    );
  }
  return plan as PretrainPlan;
}

/** Documents from a JSON file `{ train: string[], validation: string[] }`, gzipped when it ends in .gz. */
export async function readCorpusFile(file: string): Promise<Documents> {
  const bytes = await readFile(file);
  const text = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const value = JSON.parse(text) as Partial<Documents>;
  if (!Array.isArray(value.train) || !Array.isArray(value.validation))
    throw new LayercutError(`${file} is not a corpus file: it needs "train" and "validation" lists of texts`);
  return { train: value.train, validation: value.validation };
}

export function progressPrinter(logEvery: number): (event: PretrainProgress) => void {
  return (event) => {
    if (event.phase !== 'train') {
      console.error(`[${event.phase}] ${event.message}`);
    } else if (event.kind === 'eval') {
      console.error(
        `[eval] step ${event.step}: validation loss ${event.loss.toFixed(4)}, perplexity ${event.perplexity.toFixed(2)}`,
      );
    } else if (event.step % logEvery === 0 || event.step === event.totalSteps) {
      const rate = event.seconds > 0 ? Math.round(event.tokens / event.seconds) : 0;
      console.error(
        `[train] step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)} ${rate} tok/s`,
      );
    }
  };
}

export interface PretrainJobOptions {
  outDir: string;
  /** Documents from this file (see readCorpusFile) instead of the npm datasets. */
  corpusFile?: string;
  /** Print the training loss every N steps. */
  logEvery: number;
}

/** Runs `plan`, printing progress (stderr) and a summary (stdout). */
export async function runPretrainJob(
  plan: PretrainPlan,
  options: PretrainJobOptions,
): Promise<PretrainReport> {
  const documents = options.corpusFile ? await readCorpusFile(options.corpusFile) : undefined;
  const outDir = options.outDir;
  const report = await runPretraining(plan, {
    outDir,
    ...(documents ? { documents } : {}),
    onProgress: progressPrinter(options.logEvery),
  });
  const last = report.evals.at(-1);
  console.log(
    [
      `model: ${outDir} (${(report.modelBytes / 1e6).toFixed(2)} MB, ${report.params.toLocaleString('en')} parameters, ${report.plan.saveDtype})`,
      `corpus: ${report.corpus.trainTokens.toLocaleString('en')} training tokens, ${report.corpus.validationTokens.toLocaleString('en')} validation tokens`,
      `training: ${report.steps} steps in ${report.trainSeconds.toFixed(0)} s on ${report.backend} (stopped by ${report.stoppedBy})`,
      last
        ? `validation: loss ${last.loss.toFixed(4)}, perplexity ${last.perplexity.toFixed(2)}`
        : 'validation: none',
    ].join('\n'),
  );
  return report;
}
