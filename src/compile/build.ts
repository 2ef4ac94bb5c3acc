/**
 * One draft → one checked run plan with every default filled in (PAPER_DEFAULTS, the task's
 * template and label words). Checks what a type checker cannot see in values built at run
 * time: unknown task, template fields and answer slot, verbalizer labels, layer indices
 * against the model's depth (when config.json is known), option names and ranges (the model,
 * method, train, data and backend options with their schemas, src/plan/options.ts).
 * Each problem becomes an issue at the path of the option that caused it.
 */
import { getTask, type TaskSpec } from '../data/tasks.js';
import { LayercutError } from '../errors.js';
import { layerProjections, selectProjections } from '../models/lora-targets.js';
import { removedBlock } from '../models/removed-block.js';
import { sublayerLayout } from '../models/sublayers.js';
import type { LayerSelection } from '../models/selection.js';
import {
  backendOption,
  dataOptions,
  frozenMethods,
  methodOptions,
  modelOptions,
  seedOption,
  trainOptions,
} from '../plan/options.js';
import { otherDefault } from '../plan/schema.js';
import type {
  DataSpec,
  LoraSpec,
  SublayerDrops,
  MethodSpec,
  ModelSource,
  PromptSpec,
  RunLabels,
  RunPlan,
  TrainSpec,
} from '../plan/types.js';
import { cleanLabels } from '../plan/labels.js';
import { PAPER_DEFAULTS, promptMethods } from '../plan/types.js';
import { parseTemplate, TemplateError } from '../prompts/template.js';
import { scoringModes, type ScoringMode } from '../prompts/verbalizer.js';
import { originOf, type Draft } from './expand.js';
import { oneLine, type CompileIssue, type InnerPosition } from './issues.js';
import { LayerIssue, readLayers, resolveLayerRequest } from './layers.js';
import { readSublayers, resolveSublayers } from './sublayers.js';
import type { ModelCatalog, ModelDescription } from './model-info.js';
import { isRecord, show } from './shape.js';

export interface BuiltRun {
  plan: RunPlan;
  /** What the compiler knows of the model (absent when the model option is broken). */
  model?: ModelDescription;
  /** Kept layers' original indices, when the depth is known. */
  keptLayers?: number[];
}

export interface BuildContext {
  catalog: ModelCatalog;
  issues: CompileIssue[];
  exportName?: string;
}

/** Collects the issues of one draft, each at the origin of its option. */
class Checker {
  failed = false;
  constructor(
    private readonly draft: Draft,
    private readonly ctx: BuildContext,
  ) {}

  error(key: string, message: string, inner?: InnerPosition): undefined {
    this.failed = true;
    this.push('error', key, message, inner);
    return undefined;
  }

  warn(key: string, message: string): void {
    this.push('warning', key, message);
  }

  private push(severity: 'error' | 'warning', key: string, message: string, inner?: InnerPosition): void {
    this.ctx.issues.push({
      severity,
      message,
      exportName: this.ctx.exportName,
      path: originOf(this.draft, key) ?? [],
      ...(inner ? { inner } : {}),
    });
  }
}

/** Where the model comes from (declared in src/plan/options.ts). */
function readModel(value: unknown, check: Checker): ModelSource | undefined {
  if (value === undefined)
    return check.error(
      'model',
      "the experiment has no model: add model: hf('…'), local('./dir') or builtin('…')",
    );
  return modelOptions.read(value, 'model', check);
}

/** What a DSL builder made (`{ kind, [key]: … }`) holds at `key`, or the value itself when written as text. */
function builtOrText(value: unknown, kind: string, key: string): unknown {
  if (isRecord(value)) return value['kind'] === kind ? value[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function readTask(value: unknown, check: Checker): TaskSpec | undefined {
  if (value === undefined)
    return check.error('task', 'the experiment has no task: add task: tasks.sst2 (or another task)');
  const name = builtOrText(value, 'task', 'name');
  if (typeof name !== 'string')
    return check.error(
      'task',
      `${show(value)} is not a task: use tasks.sst2, tasks.agnews, … or task('name')`,
    );
  let spec: TaskSpec;
  try {
    spec = getTask(name);
  } catch (error) {
    return check.error('task', oneLine(error as Error));
  }
  if (isRecord(value)) {
    const same = (a: unknown, b: readonly string[]): boolean =>
      Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same(value['fields'], spec.fields) || !same(value['labels'], spec.labels)) {
      return check.error(
        'task',
        `task '${name}' does not match the registry: it has fields ${spec.fields.join(', ')} and labels ${spec.labels.join(', ')}`,
      );
    }
  }
  return spec;
}

/** How the run uses the model (declared in src/plan/options.ts); lm() when left out. Frozen methods freeze nothing. */
function readMethod(value: unknown, check: Checker): MethodSpec | undefined {
  const method = methodOptions.read(value ?? { kind: 'lm' }, 'method', check);
  return method && { freezeEmbeddings: false, freezeLayers: [], ...method };
}

/** The 0-based offset of a 1-based line and column in `text`. */
function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i]!.length + 1;
  return offset + column - 1;
}

function readTemplate(
  value: unknown,
  task: TaskSpec,
  method: MethodSpec | undefined,
  check: Checker,
): string | undefined {
  const requireSlot = method ? promptMethods.has(method.kind) : false;
  let source: string;
  if (value === undefined) {
    source = task.template;
  } else {
    const templateTask = isRecord(value) ? value['task'] : undefined;
    const text = builtOrText(value, 'template', 'source');
    if (typeof text !== 'string')
      return check.error('prompt', `${show(value)} is not a template: use template(task)\`…\``);
    if (typeof templateTask === 'string' && templateTask !== task.name) {
      return check.error(
        'prompt',
        `this template was written for task '${templateTask}', but the run's task is '${task.name}'`,
      );
    }
    source = text;
  }
  try {
    parseTemplate(source, { fields: task.fields, slotKind: 'label', requireSlot });
  } catch (error) {
    if (error instanceof TemplateError) {
      const needsSlot = !source.includes('{label}') && requireSlot;
      const reason = needsSlot
        ? `method ${method!.kind} scores the answer slot: ${error.reason}`
        : error.reason;
      const hint = error.hint ? `: ${error.hint}` : '';
      return check.error('prompt', `template ${JSON.stringify(source)}: ${reason}${hint}`, {
        line: error.line,
        column: error.column,
        offset: offsetOf(source, error.line, error.column),
      });
    }
    throw error;
  }
  return source;
}

function readWords(
  value: unknown,
  task: TaskSpec,
  check: Checker,
): { labelWords: Record<string, string[]>; scoring: ScoringMode } | undefined {
  if (value === undefined) {
    return {
      labelWords: Object.fromEntries(task.labels.map((l) => [l, [...task.labelWords[l]!]])),
      scoring: 'first',
    };
  }
  if (!isRecord(value) || value['kind'] !== 'verbalizer' || !isRecord(value['labelWords'])) {
    return check.error(
      'words',
      `${show(value)} is not a verbalizer: use verbalizer(task, { label: ' word', … })`,
    );
  }
  if (typeof value['task'] === 'string' && value['task'] !== task.name) {
    return check.error(
      'words',
      `these label words were written for task '${value['task']}', but the run's task is '${task.name}'`,
    );
  }
  const table = value['labelWords'];
  const missing = task.labels.filter((label) => table[label] === undefined);
  const extra = Object.keys(table).filter((label) => !task.labels.includes(label));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length
        ? `missing label${missing.length > 1 ? 's' : ''} ${missing.map((l) => `'${l}'`).join(', ')}`
        : '',
      extra.length
        ? `no label${extra.length > 1 ? 's' : ''} ${extra.map((l) => `'${l}'`).join(', ')} in task '${task.name}'`
        : '',
    ].filter(Boolean);
    return check.error(
      'words',
      `verbalizer: ${parts.join('; ')}; it must name exactly ${task.labels.map((l) => `'${l}'`).join(', ')}`,
    );
  }
  const labelWords: Record<string, string[]> = {};
  for (const label of task.labels) {
    const entry = table[label];
    const words = typeof entry === 'string' ? [entry] : entry;
    if (
      !Array.isArray(words) ||
      words.length === 0 ||
      !words.every((w) => typeof w === 'string' && w.length > 0)
    ) {
      return check.error('words', `label '${label}' needs one or more non-empty words, got ${show(entry)}`);
    }
    labelWords[label] = [...(words as string[])];
  }
  for (const [i, a] of task.labels.entries()) {
    for (const b of task.labels.slice(i + 1)) {
      const shared = labelWords[a]!.find((word) => labelWords[b]!.includes(word));
      if (shared !== undefined)
        return check.error(
          'words',
          `labels '${a}' and '${b}' both have the word ${JSON.stringify(shared)}: they cannot be told apart`,
        );
    }
  }
  const scoring = value['scoring'] ?? 'first';
  if (!scoringModes.includes(scoring as ScoringMode)) {
    return check.error('words', `scoring must be one of ${scoringModes.join(', ')}, got ${show(scoring)}`);
  }
  return { labelWords, scoring: scoring as ScoringMode };
}

/**
 * The data options with defaults filled in (declared in src/plan/options.ts). The default
 * `maxLength` is the paper's 1024, or the model's positions when it has fewer (known from
 * config.json): the default always fits the model.
 */
function readData(value: unknown, check: Checker, maxPositions: number | undefined): DataSpec | undefined {
  const maxLength = dataOptions.shape.maxLength;
  const schema = dataOptions.with({
    maxLength: otherDefault(maxLength, Math.min(maxLength.value, maxPositions ?? Infinity)),
  });
  return schema.read(value ?? {}, 'data', check);
}

/** The training options with defaults filled in (declared in src/plan/options.ts). */
function readTrain(value: unknown, check: Checker): TrainSpec | undefined {
  return trainOptions.read(value ?? {}, 'train', check);
}

/** Adapters need a method that trains the model, and targets the model's family has. */
function checkAdapters(
  adapters: LoraSpec,
  method: MethodSpec,
  description: ModelDescription | undefined,
  check: Checker,
): void {
  if (frozenMethods.includes(method.kind))
    check.error(
      'train.adapters',
      `method ${method.kind} trains no model weights: LoRA adapters need lm(), promptCls() or cls()`,
    );
  if (!description?.known) return;
  const projections = layerProjections(description.family, description.config);
  const { unmatched } = selectProjections(projections, adapters.targets);
  if (unmatched.length > 0)
    check.error(
      'train.adapters.targets',
      `LoRA target${unmatched.length > 1 ? 's' : ''} ${unmatched.map((t) => `'${t}'`).join(', ')} ${unmatched.length > 1 ? 'match' : 'matches'} no projection of ${description.config.modelType}: its projections are ${projections.join(', ')}`,
    );
}

/**
 * An in-context-learning run trains nothing: the training options it never reads (optimizer,
 * schedule, epochs, batch size, …, and how many training examples to sample) take the paper's
 * values, so runs that differ only in them are one run with one id. It keeps `precision` (its
 * forward passes use it) and every data option that shapes its prompts and test set.
 */
function iclPlan(plan: RunPlan): RunPlan {
  const train: TrainSpec = structuredClone(PAPER_DEFAULTS.train);
  if (plan.train.precision) train.precision = plan.train.precision;
  if (plan.train.replace) train.replace = plan.train.replace; // the healed cut is what it scores
  return { ...plan, train, data: { ...plan.data, trainPerClass: PAPER_DEFAULTS.data.trainPerClass } };
}

/** `name` and `tags` as the plan's labels (not part of its id). */
function readLabels(name: unknown, tags: unknown, check: Checker): RunLabels | undefined {
  if (name !== undefined && (typeof name !== 'string' || name.trim() === ''))
    check.error('name', `name must be a non-empty string, got ${show(name)}`);
  const tagList = tags ?? [];
  if (!Array.isArray(tagList) || !tagList.every((t) => typeof t === 'string' && t.trim() !== '')) {
    check.error('tags', `tags must be a list of non-empty strings, got ${show(tags)}`);
    return undefined;
  }
  return cleanLabels({
    ...(typeof name === 'string' && name.trim() !== '' ? { name } : {}),
    tags: tagList as string[],
  });
}

/** How a model reads in messages. */
function modelName(model: ModelSource): string {
  return model.kind === 'hub'
    ? model.repo
    : model.kind === 'local'
      ? model.path
      : `builtin model ${model.name}`;
}

/** The run plan of `draft`, or undefined when it has errors (pushed to ctx.issues). */
export async function buildPlan(draft: Draft, ctx: BuildContext): Promise<BuiltRun | undefined> {
  const check = new Checker(draft, ctx);
  const s = draft.settings;
  const model = readModel(s['model'], check);
  let description: ModelDescription | undefined;
  if (model) {
    try {
      description = await ctx.catalog.describe(model);
    } catch (error) {
      if (!(error instanceof LayercutError)) throw error;
      check.error('model', oneLine(error));
    }
    if (description && !description.known) {
      check.warn('model', `${description.reason}: layer checks wait until the run reads it`);
    }
  }
  const depth = description?.known ? description.depth : undefined;
  const task = readTask(s['task'], check);
  const method = readMethod(s['method'], check);

  let layers: LayerSelection | undefined;
  let keptLayers: number[] | undefined;
  try {
    const resolved = resolveLayerRequest(
      readLayers(s['layers'] ?? { kind: 'all' }),
      depth,
      model ? modelName(model) : 'the model',
    );
    layers = resolved.selection;
    keptLayers = resolved.kept;
  } catch (error) {
    if (!(error instanceof LayerIssue)) throw error;
    check.error('layers', error.message, error.inner);
  }
  let sublayers: SublayerDrops | undefined;
  try {
    const request = readSublayers(s['layers']);
    if (request) {
      const known = description?.known
        ? {
            depth: description.depth,
            config: description.config,
            name: model ? modelName(model) : 'the model',
          }
        : undefined;
      const drops = resolveSublayers(request, known, keptLayers);
      if (drops.attention.length + drops.mlp.length > 0) sublayers = drops;
    }
  } catch (error) {
    if (!(error instanceof LayerIssue)) throw error;
    check.error('layers', error.message);
  }
  if (method && layers && method.freezeLayers.length > 0) {
    const kept =
      keptLayers ??
      (layers.kind === 'first'
        ? Array.from({ length: layers.count }, (_, i) => i)
        : layers.kind === 'indices'
          ? layers.indices
          : undefined);
    const stray = kept ? method.freezeLayers.find((i) => !kept.includes(i)) : undefined;
    if (stray !== undefined)
      check.error(
        'method',
        `freezeLayers names layer ${stray}, which the cut model does not keep (it keeps ${kept!.join(', ') || 'none'})`,
      );
  }

  let prompt: PromptSpec | undefined;
  if (task) {
    const template = readTemplate(s['prompt'], task, method, check);
    const words = readWords(s['words'], task, check);
    if (template !== undefined && words)
      prompt = { template, labelWords: words.labelWords, scoring: words.scoring };
  }
  const data = readData(s['data'], check, description?.known ? description.config.maxPositions : undefined);
  if (data && description?.known && data.maxLength > description.config.maxPositions) {
    // only a written maxLength can exceed the positions: the default is at most the model's
    check.error(
      'data.maxLength',
      `data.maxLength ${data.maxLength} is more than ${model ? modelName(model) : 'the model'} has positions ` +
        `(${description.config.maxPositions}): set data: { maxLength: ${description.config.maxPositions} } or less`,
    );
  }
  const train = readTrain(s['train'], check);
  if (train?.adapters && method) checkAdapters(train.adapters, method, description, check);
  if (train?.replace && description?.known && keptLayers) {
    const layout = sublayerLayout(description.config);
    const block = removedBlock(keptLayers, description.depth);
    if (sublayers)
      check.error(
        'train.replace',
        'a block replacement is fitted on whole layers: drop no sublayers with it',
      );
    else if (typeof layout === 'string') check.error('train.replace', `cannot replace a block: ${layout}`);
    else if (typeof block === 'string') check.error('train.replace', `cannot replace a block: ${block}`);
  }
  const seed = seedOption.read(s['seed'] ?? 0, 'seed', check);
  const labels = readLabels(s['name'], s['tags'], check);
  const backend = s['backend'] === undefined ? undefined : backendOption.read(s['backend'], 'backend', check);
  if (
    check.failed ||
    !model ||
    !layers ||
    !task ||
    !prompt ||
    !method ||
    !data ||
    !train ||
    seed === undefined
  )
    return undefined;
  const plan: RunPlan =
    method.kind === 'icl'
      ? iclPlan({ model, layers, task: task.name, prompt, method, data, train, seed })
      : { model, layers, task: task.name, prompt, method, data, train, seed };
  if (sublayers) plan.sublayers = sublayers;
  if (backend !== undefined) plan.backend = backend;
  if (labels) plan.labels = labels;
  return { plan, ...(description ? { model: description } : {}), ...(keptLayers ? { keptLayers } : {}) };
}
