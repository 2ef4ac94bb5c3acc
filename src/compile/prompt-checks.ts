/**
 * Checks that need the tokenizer and the task's data, done before any run starts (`layercut
 * check`, and `layercut run` before it runs anything):
 *
 *   - label words in their slot, as `layercut verbalizer` resolves them: two labels that score
 *     the same tokens are an error; a word of several tokens with only its first scored, a warning;
 *   - token counts for each model × task × template × demonstrations setting: the template's
 *     tokens, the longest demonstration block over the runs' seeds (after `data.demoMaxTokens`),
 *     the longest input, and the room `maxLength` leaves for an input's field text. No room is
 *     an error (every run would fail on it); little room, a warning.
 *
 * Only what is on this machine is read: the tokenizer from the model's folder or the Hugging
 * Face cache, the data offline. When either is not here the check is skipped with a note —
 * never a download.
 */
import { modelLabel } from '../../dsl/models.js';
import { loadDataset } from '../data/load.js';
import { planSampleOptions, sampleFewShot } from '../data/sampling.js';
import type { Dataset, Example } from '../data/types.js';
import { getTask } from '../data/tasks.js';
import { LayercutError } from '../errors.js';
import { promptMethods, type RunPlan } from '../plan/types.js';
import { sampleDemonstrations } from '../prompts/demonstrations.js';
import { fitDemonstrations, renderPrompt } from '../prompts/render.js';
import { parseTemplate, type PromptTemplate } from '../prompts/template.js';
import { analyzeVerbalizer } from '../prompts/verbalizer.js';
import { alignedColumns } from '../results/format.js';
import { loadTokenizer } from '../tokenizers/load.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { CompiledRun } from './compile.js';
import { originOf } from './expand.js';
import { oneLine, type CompileIssue } from './issues.js';
import type { ModelCatalog } from './model-info.js';

/** Token counts of one model × task × template × demonstrations setting. */
export interface PromptFit {
  model: string;
  task: string;
  template: string;
  demosPerClass: number;
  /** `data.demoMaxTokens` (absent: the default rule of fitDemonstrations). */
  demoMaxTokens?: number;
  maxLength: number;
  /** The template with its fields empty, no demonstrations, special tokens included. */
  templateTokens: number;
  /** The longest demonstration block over the runs' seeds (0 without demonstrations). */
  demoTokens: number;
  /** The longest input's field text, in tokens (of the `inputs` looked at). */
  longestInput: number;
  /** maxLength minus template and demonstrations: what is left for an input's field text (the least over seeds). */
  room: number;
  /** Inputs looked at (train, validation and test of every seed; the longest first, at most MAX_INPUTS). */
  inputs: number;
  /** Of those, how many are longer than `room` (shortened when the run encodes them). */
  shortened: number;
  /** The seeds whose samples were looked at. */
  seeds: number[];
}

export interface PromptChecks {
  fits: PromptFit[];
  /** What could not be checked here, and why (a tokenizer or data not on this machine). */
  notes: string[];
  issues: CompileIssue[];
}

/** Inputs tokenized per setting at most: the longest by characters (about 1.5 ms each on one core). */
export const MAX_INPUTS = 2000;

/** A demonstrations-and-template budget above this share of maxLength leaves too little for the input. */
const ROOM_WARNING_SHARE = 0.25;

function issueAt(
  run: CompiledRun,
  key: string,
  severity: CompileIssue['severity'],
  message: string,
): CompileIssue {
  return {
    severity,
    message,
    exportName: run.exports[0],
    path: originOf({ settings: {}, origins: run.origins }, key) ?? [],
  };
}

/** Loads each tokenizer and dataset once; remembers why one is not available. */
class Resources {
  private readonly tokenizers = new Map<string, Promise<Tokenizer | string>>();
  private readonly datasets = new Map<string, Promise<Dataset | string>>();
  constructor(private readonly catalog: ModelCatalog) {}

  tokenizer(plan: RunPlan): Promise<Tokenizer | string> {
    const key = JSON.stringify(plan.model);
    let found = this.tokenizers.get(key);
    if (!found) {
      found = this.catalog
        .tokenizerDir(plan.model)
        .then((where): Promise<Tokenizer | string> | string =>
          'dir' in where ? loadTokenizer(where.dir) : where.reason,
        );
      this.tokenizers.set(key, found);
    }
    return found;
  }

  dataset(task: string): Promise<Dataset | string> {
    let found = this.datasets.get(task);
    if (!found) {
      found = loadDataset(task, { hub: { offline: true } }).catch((error: unknown) => {
        if (error instanceof LayercutError) return oneLine(error);
        throw error;
      });
      this.datasets.set(task, found);
    }
    return found;
  }
}

/** Runs grouped by `key`, in order of first appearance. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/** Label words checked against the tokenizer, once per model × task × template × words. */
function checkWords(run: CompiledRun, template: PromptTemplate, tokenizer: Tokenizer): CompileIssue[] {
  const { plan } = run;
  const analysis = analyzeVerbalizer({
    tokenizer,
    template,
    labels: getTask(plan.task).labels,
    labelWords: plan.prompt.labelWords,
    scoring: plan.prompt.scoring,
  });
  const model = modelLabel(plan.model);
  return analysis.issues.map((issue) =>
    issueAt(
      run,
      'words',
      issue.severity,
      issue.code === 'split' && issue.severity === 'warning'
        ? `label words in ${model}: ${issue.message} (to score all of them: verbalizer(task, words, { scoring: 'mean' }), or pick a one-token word; layercut verbalizer shows them)`
        : `label words in ${model}: ${issue.message}`,
    ),
  );
}

/** Token counts of one setting over the sampling settings of its runs. */
function fitOf(
  runs: readonly CompiledRun[],
  template: PromptTemplate,
  tokenizer: Tokenizer,
  dataset: Dataset,
  issues: CompileIssue[],
): PromptFit | undefined {
  const { plan } = runs[0]!;
  const { data } = plan;
  const emptyQuery = Object.fromEntries(template.fields.map((field) => [field, '']));
  const templateTokens = renderPrompt(template, tokenizer, { fields: emptyQuery }).ids.length;
  let demoTokens = 0;
  let room = Infinity;
  const inputs = new Set<Example>();
  const seeds: number[] = [];
  for (const samePlanSample of groupBy(runs, ({ plan: p }) =>
    JSON.stringify([
      p.seed,
      p.data.validation,
      p.data.test,
      p.method.kind === 'icl' ? 0 : p.data.trainPerClass,
    ]),
  )) {
    const run = samePlanSample[0]!;
    const p = run.plan;
    let demonstrations;
    try {
      const sample = sampleFewShot(dataset, planSampleOptions(p));
      for (const part of [sample.train, sample.validation, sample.test]) for (const e of part) inputs.add(e);
      demonstrations = fitDemonstrations(template, tokenizer, sampleDemonstrations(sample, p), {
        maxLength: p.data.maxLength,
        truncation: p.data.truncate,
        ...(p.data.demoMaxTokens !== undefined ? { demoMaxTokens: p.data.demoMaxTokens } : {}),
      });
    } catch (error) {
      if (!(error instanceof LayercutError)) throw error;
      issues.push(issueAt(run, 'data', 'error', `seed ${p.seed}: ${oneLine(error)}`));
      return undefined;
    }
    seeds.push(p.seed);
    const withDemos = renderPrompt(template, tokenizer, { fields: emptyQuery, demonstrations }).ids.length;
    demoTokens = Math.max(demoTokens, withDemos - templateTokens);
    room = Math.min(room, data.maxLength - withDemos);
  }
  const looked = [...inputs]
    .sort((a, b) => fieldText(template, b).length - fieldText(template, a).length)
    .slice(0, MAX_INPUTS);
  const lengths = looked.map(
    (e) => tokenizer.encode(fieldText(template, e), { addSpecialTokens: false }).ids.length,
  );
  const fit: PromptFit = {
    model: modelLabel(plan.model),
    task: plan.task,
    template: plan.prompt.template,
    demosPerClass: data.demosPerClass,
    ...(data.demoMaxTokens !== undefined ? { demoMaxTokens: data.demoMaxTokens } : {}),
    maxLength: data.maxLength,
    templateTokens,
    demoTokens,
    longestInput: Math.max(0, ...lengths),
    room,
    inputs: looked.length,
    shortened: lengths.filter((n) => n > room).length,
    seeds: [...new Set(seeds)],
  };
  const spent = `the template (${templateTokens} tokens) and ${data.demosPerClass} demonstration(s) per class (up to ${demoTokens} tokens)`;
  if (room <= 0) {
    issues.push(
      issueAt(
        runs[0]!,
        'data.maxLength',
        'error',
        `${spent} leave no room for the input within maxLength ${data.maxLength}: every run would fail; raise data.maxLength, set a smaller data.demoMaxTokens or use fewer demonstrations`,
      ),
    );
  } else if (room < data.maxLength * ROOM_WARNING_SHARE && fit.shortened > 0) {
    issues.push(
      issueAt(
        runs[0]!,
        'data.maxLength',
        'warning',
        `${spent} leave ${room} of maxLength ${data.maxLength} tokens for the input: ${fit.shortened} of ${fit.inputs} inputs are shortened to that (longest ${fit.longestInput}); set data.demoMaxTokens to keep more of them`,
      ),
    );
  }
  return fit;
}

/** An example's text as the template uses it: its fields, one after the other. */
function fieldText(template: PromptTemplate, example: Example): string {
  return template.fields.map((field) => example.fields[field] ?? '').join('\n');
}

/** The label-word and token-count checks of compiled runs, from what is on this machine. */
export async function checkPrompts(
  runs: readonly CompiledRun[],
  catalog: ModelCatalog,
): Promise<PromptChecks> {
  const resources = new Resources(catalog);
  const out: PromptChecks = { fits: [], notes: [], issues: [] };
  const prompted = runs.filter((run) => promptMethods.has(run.plan.method.kind));
  const noted = new Set<string>();
  const note = (text: string): void => {
    if (!noted.has(text)) out.notes.push(text);
    noted.add(text);
  };
  const byWords = groupBy(prompted, ({ plan }) => JSON.stringify([plan.model, plan.task, plan.prompt]));
  for (const group of byWords) {
    const run = group[0]!;
    const { plan } = run;
    const tokenizer = await resources.tokenizer(plan);
    if (typeof tokenizer === 'string') {
      note(
        `${tokenizer}: label words and token counts of ${modelLabel(plan.model)} not checked (they are once it is downloaded, e.g. by its first run)`,
      );
      continue;
    }
    const template = parseTemplate(plan.prompt.template, {
      fields: getTask(plan.task).fields,
      requireSlot: true,
    });
    out.issues.push(...checkWords(run, template, tokenizer));
    const dataset = await resources.dataset(plan.task);
    if (typeof dataset === 'string') {
      note(
        `the data of task ${plan.task} is not on this machine (${dataset}): demonstration and input lengths not checked`,
      );
      continue;
    }
    const bySetting = groupBy(group, ({ plan: p }) =>
      JSON.stringify([p.data.demosPerClass, p.data.demoMaxTokens ?? null, p.data.maxLength, p.data.truncate]),
    );
    for (const setting of bySetting) {
      const fit = fitOf(setting, template, tokenizer, dataset, out.issues);
      if (fit) out.fits.push(fit);
    }
  }
  return out;
}

/** The token counts as a text table, one row per setting. */
export function formatPromptFits(fits: readonly PromptFit[]): string {
  const header = [
    'model',
    'task',
    'template',
    'demos',
    'maxLength',
    'template tokens',
    'demo tokens',
    'room',
    'longest input',
    'shortened',
  ];
  const rows = fits.map((fit) => [
    fit.model,
    fit.task,
    JSON.stringify(fit.template),
    `${fit.demosPerClass}/class${fit.demoMaxTokens !== undefined ? ` ≤ ${fit.demoMaxTokens}` : ''}`,
    String(fit.maxLength),
    String(fit.templateTokens),
    String(fit.demoTokens),
    String(fit.room),
    String(fit.longestInput),
    `${fit.shortened} of ${fit.inputs}`,
  ]);
  return alignedColumns([header, ...rows]);
}
