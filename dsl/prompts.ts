/**
 * Prompt templates and verbalizers, checked against their task by the type checker:
 *
 *   template(tasks.sst2)`Review: ${'text'} Sentiment:${'label'}`   // ${'question'}: a type error
 *   template(tasks.sst2, 'Review: {text} Sentiment:{label}')       // the same, as template text
 *   verbalizer(tasks.sst2, { negative: ' bad', positive: ' good' }) // a missing or extra label: a type error
 *
 * A template's type records whether it has the answer slot `{label}`; methods that score the
 * slot (lm, prompt-cls, icl) refuse one without it. The compiler checks all of it again at
 * run time (for values built dynamically) with the template grammar.
 */
import type { ScoringMode } from '../src/prompts/verbalizer.js';
import type { AnyTask, FieldOf, LabelOf, TaskName } from './tasks.js';

/** A prompt template for task `Name`; `Slot` is true when it has the answer slot `{label}`. */
export interface Template<Name extends string = string, Slot extends boolean = boolean> {
  readonly kind: 'template';
  /** The task whose fields it uses. */
  readonly task: Name;
  /** Template text in layercut's template language (grammar/template.peggy). */
  readonly source: string;
  readonly hasAnswerSlot: Slot;
}

/** The answer slot's placeholder name (decoder models). */
type AnswerSlot = 'label';

/** Text with `{{` and `}}` (literal braces) taken out. */
type WithoutEscapes<S extends string> = S extends `${infer A}{{${infer B}`
  ? WithoutEscapes<`${A}${B}`>
  : S extends `${infer A}}}${infer B}`
    ? WithoutEscapes<`${A}${B}`>
    : S;

/** The placeholder names `{name}` in template text. */
type PlaceholdersIn<S extends string> = S extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PlaceholdersIn<Rest>
  : never;

type Placeholders<S extends string> = PlaceholdersIn<WithoutEscapes<S>>;

/** S itself when every placeholder is a field of the task or `{label}`, else a message naming the first stranger. */
type CheckedTemplate<S extends string, Field extends string> = string extends S
  ? S
  : [Exclude<Placeholders<S>, Field | AnswerSlot>] extends [never]
    ? S
    : `unknown placeholder {${Exclude<Placeholders<S>, Field | AnswerSlot> & string}}: the task's fields are ${Field}`;

/** True when the text has `{label}`; boolean when the text is not known to the type checker. */
type HasSlot<S extends string> = string extends S
  ? boolean
  : AnswerSlot extends Placeholders<S>
    ? true
    : false;

/** Escapes braces in literal template text: `{` → `{{`, `}` → `}}`. */
function escapeBraces(text: string): string {
  return text.replace(/[{}]/g, (brace) => brace + brace);
}

function hasSlotIn(source: string): boolean {
  return /(^|[^{])(\{\{)*\{label\}/.test(source);
}

/** The tag function `template(task)` returns: each `${'name'}` must be a field of the task or 'label'. */
export type TemplateTag<T extends AnyTask> = <const Names extends readonly (FieldOf<T> | AnswerSlot)[]>(
  strings: TemplateStringsArray,
  ...names: Names
) => Template<TaskName<T>, AnswerSlot extends Names[number] ? true : false>;

/**
 * A prompt template for `task`. As a tag: ``template(tasks.sst2)`Review: ${'text'}\nSentiment:${'label'}` ``
 * (literal text is taken as is). With template text: `template(tasks.sst2, 'Review: {text}\nSentiment:{label}')`.
 */
export function template<T extends AnyTask>(task: T): TemplateTag<T>;
export function template<T extends AnyTask, const S extends string>(
  task: T,
  source: CheckedTemplate<S, FieldOf<T>>,
): Template<TaskName<T>, HasSlot<S>>;
export function template(task: AnyTask, source?: string): TemplateTag<AnyTask> | Template {
  if (source !== undefined) {
    return { kind: 'template', task: task.name, source, hasAnswerSlot: hasSlotIn(source) };
  }
  const tag = (strings: TemplateStringsArray, ...names: readonly string[]): Template => {
    let text = escapeBraces(strings[0] ?? '');
    names.forEach((name, i) => {
      text += `{${String(name)}}${escapeBraces(strings[i + 1] ?? '')}`;
    });
    return { kind: 'template', task: task.name, source: text, hasAnswerSlot: names.includes('label') };
  };
  return tag as TemplateTag<AnyTask>;
}

/** One label word (with its leading space, e.g. `' good'`) or several. */
export type LabelWords = string | readonly string[];

export interface VerbalizerOptions {
  /** How multi-token label words are scored (default `first`: each word's first token, the paper's). */
  scoring?: ScoringMode;
}

/** Label → label words for task `Name`. */
export interface Verbalizer<Name extends string = string> {
  readonly kind: 'verbalizer';
  readonly task: Name;
  /** Label → its words, in the task's class order. */
  readonly labelWords: Readonly<Record<string, readonly string[]>>;
  readonly scoring?: ScoringMode;
}

/** Label words for every label of `task`: naming a label the task lacks, or leaving one out, is a type error. */
export function verbalizer<T extends AnyTask>(
  task: T,
  words: { readonly [L in LabelOf<T>]: LabelWords },
  options: VerbalizerOptions = {},
): Verbalizer<TaskName<T>> {
  const table = words as Readonly<Record<string, LabelWords>>;
  const labelWords: Record<string, readonly string[]> = {};
  for (const label of task.labels) {
    const entry = table[label];
    if (entry !== undefined) labelWords[label] = typeof entry === 'string' ? [entry] : [...entry];
  }
  for (const [label, entry] of Object.entries(table)) {
    if (!(label in labelWords)) labelWords[label] = typeof entry === 'string' ? [entry] : [...entry];
  }
  return {
    kind: 'verbalizer',
    task: task.name,
    labelWords,
    ...(options.scoring ? { scoring: options.scoring } : {}),
  };
}
