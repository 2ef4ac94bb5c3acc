/**
 * `layercut check`: everything wrong with an experiment file before any GPU time is spent —
 * the TypeScript diagnostics of the file (ts-morph, with the nearest tsconfig.json), then the
 * compiler's own checks (compileFile), each as `file:line:col message`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticCategory, Project, ts, type Diagnostic, type DiagnosticMessageChain } from 'ts-morph';
import { LayercutError } from '../errors.js';
import { compileFile, ExperimentLoadError, type CompiledFile, type CompileFileOptions } from './file.js';
import type { SourceLocation } from './issues.js';

export interface FileDiagnostic {
  /** Where: absent for problems that have no place in the source. */
  location?: SourceLocation;
  severity: 'error' | 'warning';
  /** 0-based offset of the location in its file (TypeScript diagnostics). */
  offset?: number;
  /** `typescript` (with its TS code) or `layercut`. */
  source: 'typescript' | 'layercut';
  code?: number;
  /** The message; nested TypeScript explanations follow on indented lines. */
  message: string;
}

/** Compiler options when no tsconfig.json is found: strict TypeScript for Node ESM. */
const defaultCompilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
};

/** The nearest tsconfig.json at or above `dir`. */
export function findTsconfig(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const candidate = path.join(current, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(current) === current) return undefined;
  }
}

/** A ts-morph project set up for experiment files under `dir` (reuse it to check several files). */
export function experimentProject(dir: string): Project {
  const tsConfigFilePath = findTsconfig(dir);
  return tsConfigFilePath
    ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true })
    : new Project({ compilerOptions: defaultCompilerOptions });
}

function flatten(message: string | DiagnosticMessageChain, indent = ''): string {
  if (typeof message === 'string') return indent + message;
  const head = indent + message.getMessageText();
  const rest = (message.getNext() ?? []).map((next) => flatten(next, `${indent}  `));
  return [head, ...rest].join('\n');
}

/**
 * TypeScript's "declared but never used" family (noUnusedLocals / noUnusedParameters): the file
 * still runs, so `check` reports them as warnings, not errors.
 */
const unusedCodes: ReadonlySet<number> = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);

/** Hints added to TypeScript messages whose cause is a known DSL mistake. */
const typeHints: readonly { pattern: RegExp; hint: string }[] = [
  {
    // layers: [1, 2, 4] in a sweep (each a number), or layers: 2 in an experiment
    pattern: /^Type 'number(\[\])?' is not assignable to type 'Layers'/,
    hint: 'hint: a number is not a layer selection: keepFirst(k) keeps the bottom k layers; to sweep over depths write layers: [1, 2, 4].map(keepFirst)',
  },
];

function fromTypeScript(diagnostic: Diagnostic, file: string): FileDiagnostic {
  const sf = diagnostic.getSourceFile();
  const start = diagnostic.getStart();
  const location =
    sf && start !== undefined
      ? { file: sf.getFilePath() as string, ...sf.getLineAndColumnAtPos(start) }
      : { file, line: 1, column: 1 };
  const message = flatten(diagnostic.getMessageText());
  const hint = typeHints.find((h) => h.pattern.test(message))?.hint;
  const code = diagnostic.getCode();
  return {
    location,
    ...(start !== undefined ? { offset: start } : {}),
    severity:
      diagnostic.getCategory() === DiagnosticCategory.Error && !unusedCodes.has(code) ? 'error' : 'warning',
    source: 'typescript',
    code,
    message: hint ? `${message}\n${hint}` : message,
  };
}

/** TypeScript's diagnostics of `file` (syntax and types), in source order. */
export function typeDiagnostics(
  file: string,
  project: Project = experimentProject(path.dirname(file)),
): FileDiagnostic[] {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new LayercutError(`no such file: ${file}`);
  const sf = project.getSourceFile(absolute) ?? project.addSourceFileAtPath(absolute);
  project.resolveSourceFileDependencies();
  const program = project.getProgram();
  const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
  return diagnostics
    .filter(
      (d) => d.getCategory() === DiagnosticCategory.Error || d.getCategory() === DiagnosticCategory.Warning,
    )
    .map((d) => fromTypeScript(d, absolute));
}

export interface CheckOptions extends CompileFileOptions {
  /** A project to reuse (default: one for the file's folder). */
  project?: Project;
}

/** What `checkFileReport` finds: diagnostics, and (with `checkPrompts`) token counts and notes. */
export interface CheckReport {
  diagnostics: FileDiagnostic[];
  prompts?: CompiledFile['prompts'];
}

/**
 * TypeScript's diagnostics and layercut's (an import failure, or compile issues), in source
 * order. A layercut issue whose value comes through code TypeScript already flagged is left
 * out: it is the same mistake seen twice.
 */
export async function checkFile(file: string, options: CheckOptions = {}): Promise<FileDiagnostic[]> {
  return (await checkFileReport(file, options)).diagnostics;
}

/** `checkFile` with the token counts and notes of `checkPrompts`. */
export async function checkFileReport(file: string, options: CheckOptions = {}): Promise<CheckReport> {
  const typed = typeDiagnostics(file, options.project);
  const ours: FileDiagnostic[] = [];
  let prompts: CompiledFile['prompts'];
  try {
    const compiled = await compileFile(file, options);
    prompts = compiled.prompts;
    for (const issue of compiled.issues) {
      // the same mistake as a type error: the value came through code TypeScript already flagged
      const seen = issue.through?.some((range) =>
        typed.some(
          (d) =>
            d.location?.file === range.file &&
            d.offset !== undefined &&
            d.offset >= range.start &&
            d.offset < range.end,
        ),
      );
      if (seen) continue;
      ours.push({
        ...(issue.location ? { location: issue.location } : {}),
        severity: issue.severity,
        source: 'layercut',
        message: issue.location ? issue.message : `${issue.exportName ?? ''}: ${issue.message}`,
      });
    }
  } catch (error) {
    if (error instanceof ExperimentLoadError) {
      ours.push({
        ...(error.location ? { location: error.location } : {}),
        severity: 'error',
        source: 'layercut',
        message: error.reason,
      });
    } else {
      throw error;
    }
  }
  const located = (d: FileDiagnostic): [string, number, number] => [
    d.location?.file ?? '',
    d.location?.line ?? 0,
    d.location?.column ?? 0,
  ];
  const diagnostics = [...typed, ...ours].sort((a, b) => {
    const [fa, la, ca] = located(a);
    const [fb, lb, cb] = located(b);
    return fa < fb ? -1 : fa > fb ? 1 : la - lb || ca - cb;
  });
  return { diagnostics, ...(prompts ? { prompts } : {}) };
}

/** `file:line:col message` (the file relative to `cwd`). */
export function formatDiagnostic(diagnostic: FileDiagnostic, cwd = process.cwd()): string {
  const where = diagnostic.location
    ? `${path.relative(cwd, diagnostic.location.file) || diagnostic.location.file}:${diagnostic.location.line}:${diagnostic.location.column} `
    : '';
  const severity = diagnostic.severity === 'warning' ? 'warning: ' : '';
  const code = diagnostic.code !== undefined ? ` (TS${diagnostic.code})` : '';
  const [first, ...rest] = diagnostic.message.split('\n');
  return [`${where}${severity}${first}${code}`, ...rest.map((line) => `  ${line}`)].join('\n');
}
