/**
 * Tasks as typed values: each carries its field names and label names as literal types, so
 * templates and verbalizers are checked against them by the type checker. They are derived
 * from the registry, src/data/tasks.ts (its names, fields and labels keep their literal types),
 * which also holds each task's default template and label words (the paper's).
 */
import { getTask, registeredTasks, type RegisteredTask } from '../src/data/tasks.js';

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

type Registry = typeof registeredTasks;
/** 'sotu-party' → 'sotuParty': a registry name as a property name. */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;
type TaskOf<R> =
  R extends RegisteredTask<infer Name, infer Field, infer Label> ? Task<Name, Field, Label> : never;
const camelCase = (name: string): string => name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** The registered tasks (the paper's four, and two offline ones), by camel-cased registry name. */
export const tasks = Object.fromEntries(
  Object.values(registeredTasks).map((spec) => [
    camelCase(spec.name),
    defineTask(spec.name, spec.fields, spec.labels),
  ]),
) as { readonly [K in keyof Registry as CamelCase<K & string>]: TaskOf<Registry[K]> };

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
