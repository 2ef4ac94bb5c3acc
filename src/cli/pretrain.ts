/**
 * `layercut pretrain <file.ts>`: runs the pretraining declaration a file exports
 * (dsl/pretraining.ts) and writes the model folder. Progress on stderr; a summary on stdout.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildPretrainingCorpus } from '../data/corpus.js';
import { importFileExports } from '../compile/file.js';
import { ExitCode, LayercutError } from '../errors.js';
import { compilePretraining, declarationOf, isPretraining } from '../pretrain/compile.js';
import type { PretrainPlan } from '../pretrain/plan.js';
import { readPlanJson, runPretrainJob } from '../pretrain/job.js';
import { describeArchitecture } from '../pretrain/run.js';

import { parseBackendName } from '../runtime/backend.js';
import { backendChoices, defineCommand, parseCount, positiveNumber } from './options.js';

const usage = `usage: layercut pretrain <file.ts> [options]

Runs the pretraining the file exports (pretraining({...}) from layercut/dsl): builds the
offline corpus, trains a byte-level BPE tokenizer on it, trains a GPT-2-style model from
scratch and writes a model folder (config.json, model.safetensors, tokenizer files,
training.json with the curve and validation perplexity, training-curve.svg). The folder is
built in <out>.partial/ (a checkpoint after every evaluation) and renamed when done.

options:
  --out DIR            model folder (default: models/<name>)
  --only EXPORT        which export, when the file has several pretraining declarations
  --backend NAME       ${backendChoices(' (default)')}
  --steps N            override the planned steps (a quick trial)
  --max-minutes M      override the wall-clock budget
  --log-every N        print the training loss every N steps (default 100)
  --save-plan FILE     write the compiled plan as JSON and stop
  --save-corpus FILE   write the corpus (JSON, gzipped for .gz) and stop: for a machine
                       without the npm datasets, with --corpus there
  --corpus FILE        read the documents from such a file instead of building them

A plan JSON (from --save-plan, or a model's training.json) stands in for <file.ts>.

examples:
  layercut pretrain examples/pretrain-tiny.ts --backend webgpu
  layercut pretrain examples/pretrain-tiny.ts --steps 20 --out /tmp/trial --backend wasm`;

async function pickPlan(file: string, only: string | undefined): Promise<PretrainPlan> {
  if (file.endsWith('.json')) return readPlanJson(file);
  const { exports } = await importFileExports(file);
  const found = exports.filter(([, value]) => isPretraining(value));
  if (found.length === 0) {
    throw new LayercutError(
      `${file} exports no pretraining declaration`,
      'export one: export const tiny = pretraining({...})',
    );
  }
  const chosen = only ? found.filter(([name]) => name === only) : found;
  if (chosen.length !== 1) {
    throw new LayercutError(
      only
        ? `${file} exports no pretraining declaration named '${only}'`
        : `${file} exports several pretraining declarations`,
      `pick one with --only: ${found.map(([name]) => name).join(', ')}`,
    );
  }
  return compilePretraining(chosen[0]![1]);
}

export const pretrainCommand = defineCommand('pretrain', {
  usage,
  positionals: true,
  options: {
    out: { type: 'string' },
    only: { type: 'string' },
    backend: { type: 'string' },
    steps: { type: 'string' },
    'max-minutes': { type: 'string' },
    'log-every': { type: 'string' },
    'save-plan': { type: 'string' },
    'save-corpus': { type: 'string' },
    corpus: { type: 'string' },
  },
  async run({ values, positionals }) {
    if (positionals.length !== 1)
      throw new LayercutError('give one pretraining file', 'see layercut pretrain --help');
    let plan = await pickPlan(positionals[0]!, values.only);
    const steps = positiveNumber(values.steps, '--steps');
    const maxMinutes = positiveNumber(values['max-minutes'], '--max-minutes');
    if (steps !== undefined || maxMinutes !== undefined) {
      // a trial: the plan compiled again with these values (the warm-up follows them there)
      plan = compilePretraining(declarationOf(plan), {
        steps: steps === undefined ? undefined : Math.round(steps),
        maxMinutes,
      });
    }
    if (values.backend) plan = { ...plan, backend: parseBackendName(values.backend) };
    if (values['save-plan']) {
      await writeFile(values['save-plan'], `${JSON.stringify(plan, null, 2)}\n`);
      console.error(`wrote the plan of ${plan.name} to ${values['save-plan']}`);
      return ExitCode.ok;
    }
    if (values['save-corpus']) {
      const built = await buildPretrainingCorpus({ sources: plan.corpus.sources });
      const json = Buffer.from(JSON.stringify({ train: built.train, validation: built.validation }));
      await writeFile(values['save-corpus'], values['save-corpus'].endsWith('.gz') ? gzipSync(json) : json);
      console.error(
        `wrote ${built.train.length} + ${built.validation.length} documents to ${values['save-corpus']}`,
      );
      return ExitCode.ok;
    }
    const outDir = values.out ?? path.join('models', plan.name);
    console.error(
      `layercut pretrain: ${plan.name} — ${describeArchitecture(plan)}, ${plan.train.steps} steps → ${outDir}`,
    );
    await runPretrainJob(plan, {
      outDir,
      ...(values.corpus ? { corpusFile: values.corpus } : {}),
      logEvery: values['log-every'] === undefined ? 100 : parseCount(values['log-every'], '--log-every', 1),
    });
    return ExitCode.ok;
  },
});
