/**
 * Compile issues: what is wrong with an experiment value, and where it came from.
 *
 * The compiler works on values (an experiment file's exports, or values built in a notebook),
 * so an issue first names its place as a path into the exported value — the export's name and
 * the steps from it, e.g. `table2` → `axes` → `layers` → 4. `locate.ts` turns that path into
 * the file, line and column of the property in the source, with ts-morph.
 */
import { LayercutError } from '../errors.js';

/** Steps from an exported value to the offending part: property names and array indices. */
export type ValuePath = readonly (string | number)[];

/** A position inside a string value (layer text, template text): 1-based line and column, 0-based offset. */
export interface InnerPosition {
  line: number;
  column: number;
  offset: number;
}

export interface CompileIssue {
  severity: 'error' | 'warning';
  /** What is wrong and what to change. */
  message: string;
  /** The export the value belongs to (absent for values compiled directly). */
  exportName?: string;
  /** Where in the exported value (see ValuePath). */
  path: ValuePath;
  /** Where inside a string at `path`, when the problem is in its text. */
  inner?: InnerPosition;
}

/** A source location: file path, 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** An issue placed in the source. */
export interface LocatedIssue extends CompileIssue {
  location?: SourceLocation;
  /** Source ranges the offending value came through (its property, its declaration), 0-based offsets. */
  through?: { file: string; start: number; end: number }[];
}

/** A LayercutError's message on one line: `message; hint`. */
export function oneLine(error: Error): string {
  return error.message.replace(/\n\s*hint: /, '; ');
}

/** How an issue prints: `file:line:col message`, or `export (path): message` when it has no location. */
export function formatIssue(issue: LocatedIssue, relativeTo?: (file: string) => string): string {
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  if (issue.location) {
    const file = relativeTo ? relativeTo(issue.location.file) : issue.location.file;
    return `${file}:${issue.location.line}:${issue.location.column} ${prefix}${issue.message}`;
  }
  return `${describePath(issue.exportName, issue.path)}: ${prefix}${issue.message}`;
}

/** `table2.axes.layers[4]`: a path as readers of error messages expect it. */
export function describePath(exportName: string | undefined, path: ValuePath): string {
  let out = exportName ?? '(value)';
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : `.${step}`;
  return out;
}

/** Compiling found errors; `issues` lists all of them (warnings included). */
export class CompileError extends LayercutError {
  override name = 'CompileError';
  constructor(readonly issues: LocatedIssue[]) {
    const errors = issues.filter((issue) => issue.severity === 'error');
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the experiment:\n` +
        errors.map((issue) => `  ${formatIssue(issue)}`).join('\n'),
    );
  }
}
