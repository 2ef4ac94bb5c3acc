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
import { oneLine, type LocatedIssue, type SourceLocation } from './issues.js';
import { SourceLocator } from './locate.js';
import { isRunSet } from './shape.js';

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

/** Imports a `.ts` file with tsx: its exports as [name, value] in source order. */
export async function importFileExports(
  file: string,
): Promise<{ file: string; exports: [string, unknown][] }> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new LayercutError(`no such file: ${file}`);
  let module: Record<string, unknown>;
  try {
    module = (await tsImport(pathToFileURL(absolute).href, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    // Whole: esbuild says "Transform failed with 1 error:" and only then what the error is.
    const message = error instanceof Error ? oneLine(error) : String(error);
    throw new ExperimentLoadError(
      `importing the experiment file failed: ${indentContinuation(message.trimEnd())}`,
      thrownAt(error, absolute),
    );
  }
  const order = exportOrder(await readFile(absolute, 'utf8'));
  const names = Object.keys(module).sort((a, b) => rank(order, a) - rank(order, b));
  return { file: absolute, exports: names.map((name) => [name, module[name]]) };
}

/** Imports an experiment file and picks its exported run sets. */
export async function loadExperimentFile(file: string): Promise<ExperimentFile> {
  const loaded = await importFileExports(file);
  const exports: NamedValue[] = [];
  for (const [name, value] of loaded.exports) {
    if (isRunSet(value)) exports.push({ name, value });
    else if (Array.isArray(value) && value.length > 0 && value.every(isRunSet))
      exports.push({ name, value: { kind: 'concat', items: value } });
  }
  return { file: loaded.file, exports };
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
}

export interface CompileFileOptions extends CompileOptions {
  /** Only these exports (default: every exported experiment and sweep). */
  only?: readonly string[];
}

/** Loads, compiles and locates: the runs of an experiment file and its issues with line and column. */
export async function compileFile(file: string, options: CompileFileOptions = {}): Promise<CompiledFile> {
  const loaded = await loadExperimentFile(file);
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
  const result = await compileValues(selected, options);
  const locator = result.issues.length > 0 ? new SourceLocator() : undefined;
  const issues: LocatedIssue[] = result.issues.map((issue) => {
    const traced = locator?.trace(loaded.file, issue.exportName, issue.path, issue.inner);
    return traced ? { ...issue, location: traced.location, through: traced.through } : issue;
  });
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
  };
}
