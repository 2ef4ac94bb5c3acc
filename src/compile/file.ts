/**
 * Experiment files: import a `.ts` file with tsx (no build step), take its exported
 * experiments and sweeps in source order, compile them, and place any issue at its file,
 * line and column. No model weights are read.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { indentContinuation, LayercutError } from '../errors.js';
import { compileValues, type CompileOptions, type CompiledRun, type NamedValue } from './compile.js';
import {
  findFailedImports,
  importWithStandIns,
  standInCopyPath,
  standInWithin,
  type FailedImport,
} from './failed-imports.js';
import { oneLine, type CompileIssue, type LocatedIssue, type SourceLocation } from './issues.js';
import { SourceLocator } from './locate.js';
import { mergeLabels, withLabels } from '../plan/labels.js';
import type { AxisOverrides } from './axis-overrides.js';
import { ModelCatalog } from './model-info.js';
import { checkPrompts, type PromptChecks } from './prompt-checks.js';
import { isRecord, isRunSet } from './shape.js';

/** Importing the file failed (a syntax error, or its code threw); `location` is where, when known. */
export class ExperimentLoadError extends LayercutError {
  override name = 'ExperimentLoadError';
  constructor(
    readonly reason: string,
    readonly location?: SourceLocation,
  ) {
    super(location ? `${location.file}:${location.line}:${location.column} ${reason}` : reason);
  }
}

/** Names exported by `source`, in the order they are written (module namespaces sort them). */
export function exportOrder(source: string): string[] {
  const names: string[] = [];
  const pattern = /\bexport\s+(?:(?:const|let|var)\s+([A-Za-z_$][\w$]*)|default\b|\{([^}]*)\})/g;
  for (const match of source.matchAll(pattern)) {
    if (match[1]) names.push(match[1]);
    else if (match[2] !== undefined) {
      for (const item of match[2].split(',')) {
        const parts = item.trim().split(/\s+as\s+/);
        const name = (parts[1] ?? parts[0] ?? '').trim();
        if (name && !name.startsWith('type ')) names.push(name);
      }
    } else names.push('default');
  }
  return names;
}

/** Where in `file` an error's stack says it was thrown (tsx maps it back to the TypeScript source). */
function thrownAt(error: unknown, file: string): SourceLocation | undefined {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const url = pathToFileURL(file).href;
  for (const line of stack.split('\n')) {
    for (const prefix of [url, file]) {
      const at = line.indexOf(prefix);
      if (at < 0) continue;
      const match = /^(?:\?[^:]*)?:(\d+):(\d+)/.exec(line.slice(at + prefix.length));
      if (match) return { file, line: Number(match[1]), column: Number(match[2]) };
    }
  }
  const syntax = /:(\d+):(\d+): ERROR: (.*)/.exec(error instanceof Error ? error.message : '');
  return syntax ? { file, line: Number(syntax[1]), column: Number(syntax[2]) + 1 } : undefined;
}

export interface ExperimentFile {
  /** Absolute path. */
  file: string;
  /** Exported run sets (experiments, overrides, sweeps, concatenations, lists of them), in source order. */
  exports: NamedValue[];
}

export interface ImportOptions {
  /**
   * When importing the file fails, import it again with each failing import replaced by a
   * stand-in (src/compile/failed-imports.ts), so that the rest of the file can be checked.
   * Default false: a failed import is an ExperimentLoadError.
   */
  standIns?: boolean;
}

/** The error of importing `file` (run from `ranAs`, the file itself or its stand-in copy). */
function loadError(error: unknown, file: string, ranAs: string): ExperimentLoadError {
  // Whole: esbuild says "Transform failed with 1 error:" and only then what the error is.
  const message = error instanceof Error ? oneLine(error) : String(error);
  const at = thrownAt(error, ranAs);
  return new ExperimentLoadError(
    `importing the experiment file failed: ${indentContinuation(message.trimEnd())}`,
    at ? { ...at, file } : undefined,
  );
}

/** Imports a `.ts` file with tsx: its exports as [name, value] in source order, and the imports that failed. */
export async function importFileExports(
  file: string,
  options: ImportOptions = {},
): Promise<{ file: string; exports: [string, unknown][]; failedImports: FailedImport[] }> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new LayercutError(`no such file: ${file}`);
  const source = await readFile(absolute, 'utf8');
  let module: Record<string, unknown>;
  let failedImports: FailedImport[] = [];
  try {
    module = (await tsImport(pathToFileURL(absolute).href, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    failedImports = options.standIns ? await findFailedImports(absolute, source) : [];
    if (failedImports.length === 0) throw loadError(error, absolute, absolute);
    const copy = standInCopyPath(absolute);
    try {
      module = await importWithStandIns(absolute, copy, source, failedImports);
    } catch (again) {
      throw loadError(again, absolute, copy);
    }
  }
  const order = exportOrder(source);
  const names = Object.keys(module).sort((a, b) => rank(order, a) - rank(order, b));
  return { file: absolute, exports: names.map((name) => [name, module[name]]), failedImports };
}

/** An experiment file's exported run sets, and what else it exports that `layercut pretrain` runs. */
export interface LoadedExperimentFile extends ExperimentFile {
  /** Imports that failed (only with `standIns`); exports using them hold stand-ins. */
  failedImports: FailedImport[];
  /** Names of exported pretraining declarations (`layercut pretrain` runs them). */
  pretrainings: string[];
}

/** Imports an experiment file and picks its exported run sets. */
export async function loadExperimentFile(
  file: string,
  options: ImportOptions = {},
): Promise<LoadedExperimentFile> {
  const loaded = await importFileExports(file, options);
  const exports: NamedValue[] = [];
  const pretrainings: string[] = [];
  for (const [name, value] of loaded.exports) {
    if (isRunSet(value)) exports.push({ name, value });
    else if (Array.isArray(value) && value.length > 0 && value.every(isRunSet))
      exports.push({ name, value: { kind: 'concat', items: value } });
    else if (isRecord(value) && value['kind'] === 'pretraining') pretrainings.push(name);
  }
  return { file: loaded.file, exports, failedImports: loaded.failedImports, pretrainings };
}

function rank(order: string[], name: string): number {
  const index = order.indexOf(name);
  return index < 0 ? order.length : index;
}

export interface CompiledFile {
  file: string;
  /** Names of the exports compiled, in order. */
  exports: string[];
  runs: CompiledRun[];
  issues: LocatedIssue[];
  duplicates: number;
  /** Token counts and what could not be checked (with `checkPrompts`). */
  prompts?: Omit<PromptChecks, 'issues'>;
}

export interface CompileFileOptions extends CompileOptions {
  /** Only these exports (default: every exported experiment and sweep). */
  only?: readonly string[];
  /**
   * Also check label words and token counts with the tokenizer and the data, where they are on
   * this machine (src/compile/prompt-checks.ts); default false.
   */
  checkPrompts?: boolean;
  /**
   * Axes given on the command line (src/compile/axis-overrides.ts): every export becomes a
   * sweep of itself over them. Their issues name the command line, not a place in the file.
   */
  axes?: AxisOverrides;
}

/** Loads, compiles and locates: the runs of an experiment file and its issues with line and column. */
export async function compileFile(file: string, options: CompileFileOptions = {}): Promise<CompiledFile> {
  const loaded = await loadExperimentFile(file, { standIns: true });
  let selected = loaded.exports;
  if (options.only && options.only.length > 0) {
    const missing = options.only.filter((name) => !loaded.exports.some((e) => e.name === name));
    if (missing.length > 0) {
      throw new LayercutError(
        `${file} exports no experiment or sweep named ${missing.map((m) => `'${m}'`).join(', ')}`,
        `its experiments and sweeps: ${loaded.exports.map((e) => e.name).join(', ') || 'none'}`,
      );
    }
    selected = loaded.exports.filter((e) => options.only!.includes(e.name!));
  }
  // An export that holds a stand-in for a failed import cannot be checked: it says so, the others are compiled.
  const unchecked: CompileIssue[] = [];
  const checkable = selected.filter(({ name, value }) => {
    const standIn = standInWithin(value);
    if (standIn)
      unchecked.push({
        severity: 'error',
        exportName: name,
        path: [],
        message: `not checked: it uses '${standIn.name}', which could not be imported from '${standIn.specifier}'`,
      });
    return !standIn;
  });
  const catalog = options.catalog ?? new ModelCatalog();
  const axes = options.axes;
  const result = await compileValues(
    axes
      ? checkable.map(({ name, value }) => ({ name, value: { kind: 'sweep', base: value, axes } }))
      : checkable,
    { ...options, catalog },
  );
  // each run records the file that defines it (a label: not part of its id), for `layercut forget`
  for (const run of result.runs)
    run.plan = withLabels(run.plan, mergeLabels(run.plan.labels, { files: [loaded.file] }));
  const prompts = options.checkPrompts ? await checkPrompts(result.runs, catalog) : undefined;
  const fileIssues: LocatedIssue[] = [
    ...loaded.failedImports.map((failed): LocatedIssue => ({
      severity: 'error',
      message: failed.message,
      path: [],
      location: failed.location,
      through: [{ file: loaded.file, ...failed.range }],
    })),
    ...(loaded.exports.length === 0 ? [noRunSets(loaded)] : []),
  ];
  const compiled = [
    ...unchecked,
    ...[...result.issues, ...(prompts?.issues ?? [])].map((issue) => (axes ? fromOverride(issue) : issue)),
  ];
  const locator = compiled.length > 0 ? new SourceLocator() : undefined;
  const issues: LocatedIssue[] = [
    ...fileIssues,
    ...compiled.map((issue) => {
      const traced = locator?.trace(loaded.file, issue.exportName, issue.path, issue.inner);
      return traced ? { ...issue, location: traced.location, through: traced.through } : issue;
    }),
  ];
  issues.sort(
    (a, b) =>
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      (a.location?.column ?? 0) - (b.location?.column ?? 0),
  );
  return {
    file: loaded.file,
    exports: selected.map((e) => e.name!),
    runs: result.runs,
    issues,
    duplicates: result.duplicates,
    ...(prompts ? { prompts: { fits: prompts.fits, notes: prompts.notes } } : {}),
  };
}

/**
 * An issue of an export wrapped in the command line's sweep: in the export itself (its path
 * without the wrapper's `base`), or in a command-line axis (no place in the file).
 */
function fromOverride(issue: CompileIssue): CompileIssue {
  const [step, axis, index] = issue.path;
  if (step === 'base') return { ...issue, path: issue.path.slice(1) };
  if (step !== 'axes') return issue;
  const which = typeof index === 'number' ? ` (value ${index + 1})` : '';
  return { ...issue, path: [], message: `command line ${String(axis)}=…${which}: ${issue.message}` };
}

/**
 * A file that exports no experiment or sweep: an error for `check`, `plan` and `run` alike (a
 * warning when it exports a pretraining instead, which `layercut pretrain` runs).
 */
function noRunSets(loaded: LoadedExperimentFile): LocatedIssue {
  const shown = path.relative(process.cwd(), loaded.file) || loaded.file;
  const pretraining = loaded.pretrainings[0];
  return {
    severity: pretraining ? 'warning' : 'error',
    message: pretraining
      ? `exports no experiments or sweeps, only the pretraining '${pretraining}': run it with layercut pretrain ${shown}`
      : 'exports no experiments or sweeps: export them, e.g. export const quickstart = experiment({ … })',
    path: [],
    location: { file: loaded.file, line: 1, column: 1 },
  };
}
