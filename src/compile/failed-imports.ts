/**
 * An experiment file whose import fails (a misspelt export, a module that is not there) would
 * otherwise hide every other check in it: the file never runs, so none of its values can be
 * compiled. When importing the file fails, each of its imports is tried on its own; the ones
 * that fail are replaced by stand-ins and the file is imported again from a copy next to it
 * (same folder, same line numbers). Exports that do not touch a stand-in are compiled as
 * usual; those that do are reported as not checked, and each failed import as an error at its
 * place in the source.
 *
 * A stand-in absorbs whatever the file does with it (calls, property reads, `new`), so the
 * file's top-level code runs to its end, and it can be found again in the exported values.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ts } from 'ts-morph';
import { tsImport } from 'tsx/esm/api';
import { oneLine, type SourceLocation } from './issues.js';

/** One binding (or a whole import) that could not be imported. */
export interface FailedImport {
  /** The local name in the file (`keepFirts`, or the namespace / default name). */
  name: string;
  /** The module as the file writes it. */
  specifier: string;
  /** What is wrong, as a compile issue says it. */
  message: string;
  /** Where the binding (or the whole declaration) is written. */
  location: SourceLocation;
  /** The import declaration's source range (0-based offsets). */
  range: { start: number; end: number };
}

/** What the stand-in says about itself. */
export interface StandInInfo {
  name: string;
  specifier: string;
}

const STAND_IN = Symbol.for('layercut.failed-import');
/** Where the rewritten file finds the stand-in factory (set only while it is imported). */
const FACTORY = Symbol.for('layercut.failed-import.factory');

/** A value that stands for a failed import: every use of it gives itself back. */
function standIn(name: string, specifier: string): unknown {
  const info: StandInInfo = { name, specifier };
  const proxy: object = new Proxy(function standInTarget() {}, {
    get(_target, key) {
      if (key === STAND_IN) return info;
      if (key === Symbol.toPrimitive) return () => `«${name}, not imported»`;
      if (key === 'then') return undefined; // not a promise: awaiting it gives it back
      if (key === Symbol.iterator) return function* () {};
      return proxy;
    },
    has: (_target, key) => key === STAND_IN,
    apply: () => proxy,
    construct: () => proxy,
  });
  return proxy;
}

/** The first stand-in found in `value` (records, arrays; not inside functions), if any. */
export function standInWithin(value: unknown, seen = new Set<unknown>()): StandInInfo | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  if (typeof value === 'function') {
    return STAND_IN in value
      ? ((value as unknown as Record<symbol, StandInInfo>)[STAND_IN] ?? undefined)
      : undefined;
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const found = standInWithin(item, seen);
    if (found) return found;
  }
  return undefined;
}

interface Binding {
  /** Local name. */
  name: string;
  /** The exported name it reads (`name` unless written `b as name`), `default` or `*`. */
  imported: string;
  start: number;
  end: number;
}

interface ImportDeclaration {
  specifier: string;
  start: number;
  end: number;
  /** Value bindings (type-only ones are erased and never fail). */
  bindings: Binding[];
}

/** The value imports of a TypeScript source, with their places. */
function importsOf(file: string, source: string): ImportDeclaration[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const out: ImportDeclaration[] = [];
  for (const statement of sf.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const clause = statement.importClause;
    if (clause?.isTypeOnly) continue;
    const bindings: Binding[] = [];
    const at = (node: ts.Node) => ({ start: node.getStart(sf), end: node.getEnd() });
    if (clause?.name) bindings.push({ name: clause.name.text, imported: 'default', ...at(clause.name) });
    const named = clause?.namedBindings;
    if (named && ts.isNamespaceImport(named))
      bindings.push({ name: named.name.text, imported: '*', ...at(named) });
    if (named && ts.isNamedImports(named)) {
      for (const element of named.elements) {
        if (element.isTypeOnly) continue;
        bindings.push({
          name: element.name.text,
          imported: (element.propertyName ?? element.name).text,
          ...at(element),
        });
      }
    }
    out.push({
      specifier: statement.moduleSpecifier.text,
      start: statement.getStart(sf),
      end: statement.getEnd(),
      bindings,
    });
  }
  return out;
}

function locationAt(file: string, source: string, offset: number): SourceLocation {
  const before = source.slice(0, offset).split('\n');
  return { file, line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** Tries each import of `file` on its own: the bindings that cannot be imported, and why. */
export async function findFailedImports(file: string, source: string): Promise<FailedImport[]> {
  const parent = pathToFileURL(file).href;
  const failed: FailedImport[] = [];
  for (const declaration of importsOf(file, source)) {
    const range = { start: declaration.start, end: declaration.end };
    let namespace: Record<string, unknown>;
    try {
      namespace = (await tsImport(declaration.specifier, parent)) as Record<string, unknown>;
    } catch (error) {
      const reason = error instanceof Error ? oneLine(error).split('\n')[0]! : String(error);
      const message = `cannot import '${declaration.specifier}': ${reason}`;
      for (const binding of declaration.bindings)
        failed.push({
          name: binding.name,
          specifier: declaration.specifier,
          message,
          location: locationAt(file, source, binding.start),
          range,
        });
      if (declaration.bindings.length === 0) {
        // `import './setup.js'`: nothing to stand in for; the import is left out
        const location = locationAt(file, source, declaration.start);
        failed.push({ name: '', specifier: declaration.specifier, message, location, range });
      }
      continue;
    }
    for (const binding of declaration.bindings) {
      if (binding.imported === '*' || binding.imported in namespace) continue;
      failed.push({
        name: binding.name,
        specifier: declaration.specifier,
        message: `cannot import '${binding.imported}': '${declaration.specifier}' has no export of that name`,
        location: locationAt(file, source, binding.start),
        range,
      });
    }
  }
  return failed;
}

/** `source` with each failed binding replaced by a stand-in, line for line. */
function withStandIns(file: string, source: string, failed: readonly FailedImport[]): string {
  const edits: { start: number; end: number; text: string }[] = [];
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  for (const declaration of importsOf(file, source)) {
    const mine = failed.filter((f) => f.range.start === declaration.start);
    if (mine.length === 0) continue;
    const names = new Set(mine.map((f) => f.name));
    const factory = `globalThis[Symbol.for(${JSON.stringify(FACTORY.description)})]`;
    const standIns = [...names]
      .filter(Boolean)
      .map(
        (name) =>
          `const ${name} = ${factory}(${JSON.stringify(name)}, ${JSON.stringify(declaration.specifier)});`,
      )
      .join(' ');
    const whole = declaration.bindings.every((b) => names.has(b.name));
    const original = source.slice(declaration.start, declaration.end);
    if (whole) {
      // the declaration's lines stay; its text becomes the stand-ins
      edits.push({
        start: declaration.start,
        end: declaration.end,
        text: standIns + original.replace(/[^\n]/g, ''),
      });
      continue;
    }
    // drop the failed bindings (with a comma each) from the braces, keep the rest of the import
    let text = original;
    for (const binding of [...declaration.bindings].reverse()) {
      if (!names.has(binding.name)) continue;
      const from = binding.start - declaration.start;
      let to = binding.end - declaration.start;
      const comma = /^\s*,/.exec(text.slice(to));
      if (comma) to += comma[0].length;
      text = text.slice(0, from) + blank(text.slice(from, to)) + text.slice(to);
    }
    edits.push({ start: declaration.start, end: declaration.end, text: `${text} ${standIns}` });
  }
  let out = source;
  for (const edit of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/** Where `importWithStandIns` writes its copy of `file`: next to it, so relative imports resolve the same. */
export function standInCopyPath(file: string): string {
  const extension = path.extname(file);
  const tag = randomBytes(4).toString('hex');
  return path.join(
    path.dirname(file),
    `.${path.basename(file, extension)}.layercut-check-${tag}${extension}`,
  );
}

/** Imports `file` from `copy` (removed after) with its failed imports replaced by stand-ins. */
export async function importWithStandIns(
  file: string,
  copy: string,
  source: string,
  failed: readonly FailedImport[],
): Promise<Record<string, unknown>> {
  const globals = globalThis as unknown as Record<symbol, unknown>;
  globals[FACTORY] = standIn;
  try {
    await writeFile(copy, withStandIns(file, source, failed));
    return (await tsImport(pathToFileURL(copy).href, pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    delete globals[FACTORY];
    await rm(copy, { force: true });
  }
}
