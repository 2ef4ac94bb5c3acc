/**
 * Fuzz target: prompt templates (grammar/template.peggy through src/prompts/template.ts),
 * parsed with each set of options a caller passes, then filled and rendered with dummy
 * field values through real tokenizers (GPT-2 for `{label}`, BERT for `{mask}`).
 *
 * An independent reading of the template (a plain left-to-right scan of the same rules:
 * `{{`, `}}`, `{name}`, a lone `}` is an error) says whether it must be accepted, what its
 * parts are and what filling it gives; the product must agree, and every refusal must be a
 * `TemplateError` (a LayercutError) whose line and column lie inside the source.
 */
import { isDeepStrictEqual } from 'node:util';
import { renderPrompt } from '../../src/prompts/render.js';
import {
  fillTemplate,
  parseTemplate,
  TemplateError,
  type ParseTemplateOptions,
  type PromptTemplate,
} from '../../src/prompts/template.js';
import type { Tokenizer } from '../../src/tokenizers/types.js';
import { taskNames, getTask } from '../../src/data/tasks.js';
import { fixtureTokenizer } from '../tokenizers/fixture-tokenizers.js';
import { grammarInput } from './mutate.js';
import { holds, rejection, shrinkString, showString, type FuzzTarget } from './target.js';

const CORPUS = [
  ...taskNames.map((name) => getTask(name).template),
  'Review: {text}\nSentiment:{label}',
  'Review: {text} It was {mask}.',
  '{{json}} {q} and {q} again \\n {label}}}',
  '{text}',
  '{label}',
  '',
  'no placeholders at all',
  'Q: {question}\nA:{label}',
  '{a}{b}{c}{label}',
  '{_x1} {X_} {label}\r\n',
];

const TOKENS = [
  '{',
  '}',
  '{{',
  '}}',
  '{{{',
  '}}}',
  '{label}',
  '{mask}',
  '{text}',
  '{question}',
  '{constructor}',
  '{__proto__}',
  '{toString}',
  '{hasOwnProperty}',
  '{valueOf}',
  '{ label}',
  '{label }',
  '{2nd}',
  '{é}',
  '{_}',
  '{a-b}',
  'label',
  'mask',
  '\n',
  '\r\n',
  ' ',
];

/** The option sets callers pass: none, no slot needed, a decoder task's, a masked LM's. */
const OPTION_SETS: ParseTemplateOptions[] = [
  {},
  { requireSlot: false },
  { fields: ['text', 'question'], slotKind: 'label' },
  { fields: ['text', 'constructor'], slotKind: 'mask', requireSlot: true },
];

/** Templates longer than this are parsed and filled but not tokenized (the tokenizer is not the target). */
const RENDER_LIMIT = 4096;

type Part =
  { type: 'text'; value: string } | { type: 'field'; name: string } | { type: 'slot'; kind: string };

/** The independent reading: parts of the template, or null when the grammar must refuse it. */
function scan(source: string): Part[] | null {
  const parts: Part[] = [];
  const text = (value: string) => {
    const last = parts[parts.length - 1];
    if (last?.type === 'text') last.value += value;
    else parts.push({ type: 'text', value });
  };
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('{{', i) || source.startsWith('}}', i)) {
      text(source[i]!);
      i += 2;
    } else if (source[i] === '{') {
      const name = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(source.slice(i, i + 2 + 1000))?.[1];
      const match = name ?? /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(source.slice(i))?.[1];
      if (match === undefined) return null;
      parts.push(
        match === 'label' || match === 'mask'
          ? { type: 'slot', kind: match }
          : { type: 'field', name: match },
      );
      i += match.length + 2;
    } else if (source[i] === '}') {
      return null;
    } else {
      const next = source.slice(i).search(/[{}]/);
      const end = next === -1 ? source.length : i + next;
      text(source.slice(i, end));
      i = end;
    }
  }
  return parts;
}

/** Whether the options refuse a template of these parts (the checks after the grammar). */
function refusedByOptions(parts: Part[], options: ParseTemplateOptions): boolean {
  const slots = parts.filter((p) => p.type === 'slot');
  if (slots.length > 1) return true;
  if (slots.length === 0 && options.requireSlot !== false) return true;
  if (slots[0] && options.slotKind && slots[0].kind !== options.slotKind) return true;
  return parts.some(
    (p) => p.type === 'field' && options.fields !== undefined && !options.fields.includes(p.name),
  );
}

/** Line and column (1-based, lines split at "\n" as peggy counts them) of 0-based offsets into `source`. */
function lineColumns(source: string): (offset: number) => [number, number] {
  const starts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return [lo + 1, offset - starts[lo]! + 1];
  };
}

const show = (value: unknown) => showString(JSON.stringify(value) ?? String(value), 300);

function checkParsed(source: string, template: PromptTemplate, want: Part[]): void {
  const got = template.parts.map((part): Part =>
    part.type === 'text'
      ? part
      : part.type === 'field'
        ? { type: 'field', name: part.name }
        : { type: 'slot', kind: part.kind },
  );
  holds(
    isDeepStrictEqual(got, want),
    'parts differ from the plain reading',
    () => `${show(got)} vs ${show(want)}`,
  );
  const fields = [...new Set(want.flatMap((p) => (p.type === 'field' ? [p.name] : [])))];
  holds(isDeepStrictEqual(template.fields, fields), 'fields differ', () => show(template.fields));
  const lineColumn = lineColumns(source);
  for (const part of template.parts) {
    if (part.type === 'text') continue;
    const { start, end } = part.location;
    const written = `{${part.type === 'field' ? part.name : part.kind}}`;
    holds(source.slice(start.offset, end.offset) === written, 'location is not the placeholder', () =>
      show(part),
    );
    holds(
      isDeepStrictEqual([start.line, start.column], lineColumn(start.offset)),
      'line and column disagree with the offset',
      () => show(part.location),
    );
  }
}

/** Fills the template with dummy values: what the independent reading says, or a LayercutError for a missing field. */
function checkFilled(source: string, template: PromptTemplate, want: Part[]): string[] {
  const values = Object.fromEntries(template.fields.map((name) => [name, `<${name} value>`]));
  const expect = (upTo: 'slot' | 'end') => {
    let out = '';
    for (const part of want) {
      if (part.type === 'slot' && upTo === 'slot') break;
      out += part.type === 'text' ? part.value : part.type === 'slot' ? '<answer>' : values[part.name];
    }
    return out;
  };
  for (const upTo of ['end', 'slot'] as const) {
    const filled = fillTemplate(template, values, '<answer>', upTo);
    holds(
      filled === expect(upTo),
      'filled text differs',
      () => `${upTo}: ${show(filled)} vs ${show(expect(upTo))}`,
    );
  }
  const outcomes = ['filled'];
  // a value missing for a field the template uses
  const missing = template.fields[0];
  if (missing !== undefined) {
    const { [missing]: _, ...fewer } = values;
    let filled: string | undefined;
    try {
      filled = fillTemplate(template, fewer, '<answer>');
    } catch (error) {
      outcomes.push(`missing field ${rejection(error, { inputText: source })}`);
    }
    holds(
      filled === undefined,
      'filled a template whose field has no value',
      () => `{${missing}} gave ${show(filled)}`,
    );
  }
  return outcomes;
}

let tokenizers: { label: Tokenizer; mask: Tokenizer } | undefined;

/** Renders through a real tokenizer: a prompt whose answer position is the slot's, or a LayercutError. */
function checkRendered(source: string, template: PromptTemplate): string {
  const kind = template.slot?.kind ?? 'label';
  const tokenizer = tokenizers![kind];
  const fields = Object.fromEntries(template.fields.map((name) => [name, `some ${name} text`]));
  try {
    const prompt = renderPrompt(template, tokenizer, { fields, maxLength: 64 });
    holds(prompt.ids.length <= 64, 'rendered past maxLength', () => String(prompt.ids.length));
    holds(
      prompt.answerPosition >= 0 && prompt.answerPosition < prompt.ids.length,
      'answer position outside the prompt',
      () => `${prompt.answerPosition} of ${prompt.ids.length}`,
    );
    if (kind === 'mask') {
      const mask = tokenizer.specialTokens.mask!;
      holds(prompt.ids[prompt.answerPosition] === mask.id, 'answer position is not the mask token', () =>
        show(prompt),
      );
    }
    return `rendered ${kind}`;
  } catch (error) {
    return `render ${rejection(error, { inputText: source })}`;
  }
}

export const templateTarget: FuzzTarget<string> = {
  name: 'template',
  async setup() {
    tokenizers = { label: await fixtureTokenizer('gpt2'), mask: await fixtureTokenizer('bert-wordpiece') };
  },
  generate: (rng) => grammarInput(rng, TOKENS, CORPUS),
  check(source) {
    const outcomes: string[] = [];
    const parts = scan(source);
    for (const options of OPTION_SETS) {
      const want = parts === null || refusedByOptions(parts, options) ? null : parts;
      let template: PromptTemplate;
      try {
        template = parseTemplate(source, options);
      } catch (error) {
        outcomes.push(`parse ${rejection(error, { inputText: source, lines: 3 })}`);
        holds(
          want === null,
          'refused a valid template',
          () => `${show(options)}: ${(error as Error).message}`,
        );
        if (error instanceof TemplateError) {
          const lines = source.split('\n');
          const inside =
            error.line >= 1 &&
            error.line <= lines.length &&
            error.column >= 1 &&
            error.column <= lines[error.line - 1]!.length + 1;
          holds(
            inside,
            'error position outside the source',
            () => `line ${error.line}, column ${error.column}`,
          );
        } else {
          holds(false, 'refusal is not a TemplateError', () => String(error));
        }
        continue;
      }
      outcomes.push('parsed');
      holds(want !== null, 'accepted an invalid template', () => show(options));
      checkParsed(source, template, want);
      outcomes.push(...checkFilled(source, template, want));
      if (source.length <= RENDER_LIMIT) outcomes.push(checkRendered(source, template));
    }
    return outcomes;
  },
  shrink: shrinkString,
  show: showString,
};
