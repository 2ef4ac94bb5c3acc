/**
 * Prompt templates: parse `"Review: {text}\nSentiment:{label}"` (grammar in
 * grammar/template.peggy) into literal text, field placeholders and the answer slot, and
 * check it against the task (known fields) and the model (decoder `{label}` or masked-LM
 * `{mask}`). Mistakes are `TemplateError`s naming the line and column.
 */
import { parse, SyntaxError as PeggySyntaxError } from '../../grammar/template.generated.js';
import type { SourceSpan, TemplateNode } from '../../grammar/template-ast.js';
import { LayercutError } from '../errors.js';

export type { SourceSpan } from '../../grammar/template-ast.js';

/** `label`: a decoder predicts the next token there; `mask`: a masked LM fills the mask token. */
export type SlotKind = 'label' | 'mask';

const slotNames: readonly string[] = ['label', 'mask'] satisfies SlotKind[];

export type TemplatePart =
  | { type: 'text'; value: string }
  | { type: 'field'; name: string; location: SourceSpan }
  | { type: 'slot'; kind: SlotKind; location: SourceSpan };

export interface PromptTemplate {
  /** The template as written. */
  source: string;
  /** Text, fields and the slot in order; adjacent text is joined. */
  parts: TemplatePart[];
  /** Distinct field names, in order of first use. */
  fields: string[];
  /** The answer slot, or null when the template has none (allowed with `requireSlot: false`). */
  slot: { kind: SlotKind; location: SourceSpan } | null;
}

export interface ParseTemplateOptions {
  /** The fields an example has; any other placeholder is an error. Unchecked when absent. */
  fields?: readonly string[];
  /** Require this kind of slot: `label` for decoders, `mask` for masked LMs. */
  slotKind?: SlotKind;
  /** Default true. False for methods that need no answer slot (a classification head). */
  requireSlot?: boolean;
}

/** A template mistake, with where it is: 1-based line and column. */
export class TemplateError extends LayercutError {
  override name = 'TemplateError';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    source: string,
    hint?: string,
  ) {
    super(
      `template error at line ${line}, column ${column}: ${reason}\n${pointAt(source, line, column)}`,
      hint,
    );
  }
}

/** The source line and a caret under the column, indented, for error messages. */
function pointAt(source: string, line: number, column: number): string {
  const text = source.split('\n')[line - 1] ?? '';
  return `    ${text}\n    ${' '.repeat(Math.max(0, column - 1))}^`;
}

function describeFields(fields: readonly string[]): string {
  return fields.length === 0
    ? 'the task has no fields'
    : `the fields are: ${fields.map((f) => `{${f}}`).join(', ')}`;
}

/** Joins adjacent text nodes and sorts placeholders into fields and slots. */
function toParts(nodes: TemplateNode[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  for (const node of nodes) {
    const last = parts[parts.length - 1];
    if (node.type === 'text') {
      if (last?.type === 'text') last.value += node.value;
      else parts.push({ type: 'text', value: node.value });
    } else if (slotNames.includes(node.name)) {
      parts.push({ type: 'slot', kind: node.name as SlotKind, location: node.location });
    } else {
      parts.push({ type: 'field', name: node.name, location: node.location });
    }
  }
  return parts;
}

function parseNodes(source: string): TemplateNode[] {
  try {
    return parse(source);
  } catch (error) {
    if (error instanceof PeggySyntaxError) {
      const { line, column } = error.location.start;
      throw new TemplateError(
        error.message.replace(/\.$/, ''),
        line,
        column,
        source,
        "placeholders look like {text} or {label}; write '{{' and '}}' for literal braces",
      );
    }
    throw error;
  }
}

/** Parses and checks a template. */
export function parseTemplate(source: string, options: ParseTemplateOptions = {}): PromptTemplate {
  const parts = toParts(parseNodes(source));
  const slots = parts.filter((p): p is Extract<TemplatePart, { type: 'slot' }> => p.type === 'slot');
  if (slots.length > 1) {
    const second = slots[1]!.location.start;
    throw new TemplateError(
      `a second answer slot {${slots[1]!.kind}}: a template has exactly one ({label} or {mask})`,
      second.line,
      second.column,
      source,
    );
  }
  const slot = slots[0] ? { kind: slots[0].kind, location: slots[0].location } : null;
  if (!slot && options.requireSlot !== false) {
    const end = source.split('\n');
    throw new TemplateError(
      `no answer slot: add {label} (decoder models) or {mask} (masked LMs) where the answer goes`,
      end.length,
      end[end.length - 1]!.length + 1,
      source,
    );
  }
  if (slot && options.slotKind && slot.kind !== options.slotKind) {
    const wanted = options.slotKind;
    throw new TemplateError(
      `{${slot.kind}} is the answer slot of ${slot.kind === 'mask' ? 'masked LMs' : 'decoder models'}, ` +
        `but this model needs {${wanted}}`,
      slot.location.start.line,
      slot.location.start.column,
      source,
      `write {${wanted}} instead`,
    );
  }
  const fields: string[] = [];
  for (const part of parts) {
    if (part.type !== 'field') continue;
    if (options.fields && !options.fields.includes(part.name)) {
      throw new TemplateError(
        `unknown field {${part.name}}`,
        part.location.start.line,
        part.location.start.column,
        source,
        describeFields(options.fields),
      );
    }
    if (!fields.includes(part.name)) fields.push(part.name);
  }
  return { source, parts, fields, slot };
}

/**
 * The template's text with fields filled from `values` and the slot replaced by `answer`
 * (all parts when `upTo` is 'end'; only those before the slot when 'slot').
 */
export function fillTemplate(
  template: PromptTemplate,
  values: Readonly<Record<string, string>>,
  answer: string,
  upTo: 'slot' | 'end' = 'end',
): string {
  let out = '';
  for (const part of template.parts) {
    if (part.type === 'text') out += part.value;
    else if (part.type === 'slot') {
      if (upTo === 'slot') return out;
      out += answer;
    } else {
      // own values only: a field named like an Object method ({constructor}) is not filled from the prototype
      const value = Object.hasOwn(values, part.name) ? values[part.name] : undefined;
      if (value === undefined) {
        throw new LayercutError(
          `the example has no field '${part.name}' that the template uses as {${part.name}}`,
          `the example's fields are: ${Object.keys(values).join(', ') || '(none)'}`,
        );
      }
      out += value;
    }
  }
  return out;
}
