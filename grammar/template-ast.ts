/**
 * The syntax tree the prompt-template grammar (`template.peggy`) produces: a flat list of
 * literal text pieces and `{name}` placeholders, each with its place in the source.
 * `src/prompts/template.ts` turns it into a checked template (fields, one answer slot).
 */

/** A position in the template source: 1-based line and column, 0-based offset. */
export interface SourcePoint {
  line: number;
  column: number;
  offset: number;
}

/** Where a node starts and ends (end is just past its last character). */
export interface SourceSpan {
  start: SourcePoint;
  end: SourcePoint;
}

/** Literal text; `{{` and `}}` in the source arrive here as `{` and `}`. */
export interface TextNode {
  type: 'text';
  value: string;
  location: SourceSpan;
}

/** `{name}`: a field of the example, or the answer slot when the name is `label` or `mask`. */
export interface PlaceholderNode {
  type: 'placeholder';
  name: string;
  location: SourceSpan;
}

export type TemplateNode = TextNode | PlaceholderNode;
