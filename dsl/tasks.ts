/**
 * Tasks as typed values: each carries its field names and label names as literal types, so
 * templates and verbalizers are checked against them by the type checker. The task's default
 * template and label words (the paper's) live in the registry, src/data/tasks.ts; a test keeps
 * the two in step.
 */
import { getTask } from '../src/data/tasks.js';

export interface Task<
  Name extends string = string,
  Field extends string = string,
  Label extends string = string,
> {
  readonly kind: 'task';
  /** Registry name (src/data/tasks.ts). */
  readonly name: Name;
  /** Text fields a template may use as `{field}`. */
  readonly fields: readonly Field[];
  /** Class names, in class order. */
  readonly labels: readonly Label[];
}

/** Any task: what sweeps and dynamically built experiments accept. */
export type AnyTask = Task<string, string, string>;
export type TaskName<T extends AnyTask> = T['name'];
export type FieldOf<T extends AnyTask> = T['fields'][number];
export type LabelOf<T extends AnyTask> = T['labels'][number];

function defineTask<const Name extends string, const Field extends string, const Label extends string>(
  name: Name,
  fields: readonly Field[],
  labels: readonly Label[],
): Task<Name, Field, Label> {
  return Object.freeze({
    kind: 'task',
    name,
    fields: Object.freeze([...fields]),
    labels: Object.freeze([...labels]),
  });
}

/** The registered tasks: the paper's four, and two offline ones built from npm-shipped corpora. */
export const tasks = {
  /** SST-2 movie review sentiment. */
  sst2: defineTask('sst2', ['text'], ['negative', 'positive']),
  /** AG News topics. */
  agnews: defineTask('agnews', ['text'], ['world', 'sports', 'business', 'technology']),
  /** TREC question types (coarse). */
  trec: defineTask(
    'trec',
    ['text'],
    ['abbreviation', 'entity', 'description', 'person', 'location', 'number'],
  ),
  /** EmoContext dialogue emotion. */
  emoc: defineTask('emoc', ['text'], ['others', 'happy', 'sad', 'angry']),
  /** SpamAssassin spam or ham (offline). */
  spam: defineTask('spam', ['text'], ['ham', 'spam']),
  /** State of the Union passages: the speaker's party (offline). */
  sotuParty: defineTask('sotu-party', ['text'], ['democratic', 'republican']),
} as const;

/** The four tasks of the paper's tables, in the paper's order. */
export const paperTasks = [tasks.sst2, tasks.agnews, tasks.trec, tasks.emoc] as const;

/** The five seeds of the paper's runs. */
export const paperSeeds = [0, 42, 421, 520, 1218] as const;

/**
 * A task by registry name, for names known only at run time (a notebook, a config file). Its
 * fields and labels are plain strings to the type checker; the compiler checks them.
 */
export function task(name: string): AnyTask {
  const spec = getTask(name);
  return defineTask(spec.name, spec.fields, spec.labels);
}
