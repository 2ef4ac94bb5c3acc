/**
 * From a value path to the source: where in an experiment file the offending property is.
 *
 * Issues found while compiling values name a path from an export (`table2` → `axes` →
 * `layers` → 4). This walks the same path through the syntax with ts-morph: from the export's
 * declaration, through identifiers to their declarations (imports included), into the DSL
 * calls (`sweep(base, axes)`, `experiment(options)`, `override(base, changes)`, `grid(…)`,
 * `zip(…)`, `concat(…)`), object properties and array elements. It stops where the syntax
 * no longer follows the value (a computed list, a helper function) and points there.
 * Syntax only: no type checking, so it is quick.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, type SourceFile } from 'ts-morph';
import type { InnerPosition, SourceLocation, ValuePath } from './issues.js';

/** Which argument of each DSL call a path step enters; `list` steps take the next index too. */
const callSteps: Readonly<Record<string, Readonly<Record<string, number | 'list'>>>> = {
  experiment: { options: 0 },
  override: { base: 0, changes: 1 },
  sweep: { base: 0, axes: 1 },
  grid: { parts: 'list' },
  zip: { parts: 'list' },
  concat: { items: 'list' },
};

/** Index in a string literal's raw text of the value character at `offset` (escapes are several raw characters). */
function rawIndex(raw: string, offset: number): number {
  let value = 0;
  let i = 0;
  while (i < raw.length && value < offset) {
    if (raw[i] === '\\') {
      const next = raw[i + 1];
      if (next === '\n' || next === '\r') {
        i += next === '\r' && raw[i + 2] === '\n' ? 3 : 2; // a line continuation adds no character
        continue;
      }
      if (next === 'u') i += raw[i + 2] === '{' ? raw.indexOf('}', i) + 1 - i : 6;
      else if (next === 'x') i += 4;
      else i += 2;
    } else {
      i += 1;
    }
    value += 1;
  }
  return i;
}

/** A stretch of a source file: 0-based offsets, end excluded. */
export interface SourceRange {
  file: string;
  start: number;
  end: number;
}

export interface TracedPath {
  location: SourceLocation;
  /** The nodes the path went through: the property, and the declarations its value came from. */
  through: SourceRange[];
}

export class SourceLocator {
  constructor(
    private readonly project: Project = new Project({
      useInMemoryFileSystem: false,
      skipAddingFilesFromTsConfig: true,
    }),
  ) {}

  private sourceFile(file: string): SourceFile | undefined {
    const absolute = path.resolve(file);
    return (
      this.project.getSourceFile(absolute) ??
      (existsSync(absolute) ? this.project.addSourceFileAtPath(absolute) : undefined)
    );
  }

  /** The file a relative module specifier names (`./base.js` → base.ts), if it exists. */
  private importedFile(from: SourceFile, specifier: string): SourceFile | undefined {
    if (!specifier.startsWith('.')) return undefined;
    const base = path.resolve(path.dirname(from.getFilePath()), specifier);
    const candidates = [
      base,
      base.replace(/\.(m|c)?js$/, '.$1ts'),
      `${base}.ts`,
      path.join(base, 'index.ts'),
    ];
    const found = candidates.find((candidate) => existsSync(candidate) && candidate.match(/\.(m|c)?ts$/));
    return found ? this.sourceFile(found) : undefined;
  }

  /** The expression exported as `name` from `file` (following `export { a as name }` and re-exports). */
  private exported(sf: SourceFile, name: string, depth = 0): Node | undefined {
    if (depth > 8) return undefined;
    if (name === 'default') return sf.getExportAssignment((e) => !e.isExportEquals())?.getExpression();
    const local = sf.getVariableDeclaration(name);
    if (local?.isExported()) return local.getInitializer();
    for (const declaration of sf.getExportDeclarations()) {
      for (const spec of declaration.getNamedExports()) {
        const exportedAs = spec.getAliasNode()?.getText() ?? spec.getName();
        if (exportedAs !== name) continue;
        const specifier = declaration.getModuleSpecifierValue();
        if (specifier === undefined) return this.declared(sf, spec.getName(), depth + 1);
        const other = this.importedFile(sf, specifier);
        return other ? this.exported(other, spec.getName(), depth + 1) : undefined;
      }
    }
    return undefined;
  }

  /** The initializer of the top-level variable `name` of `sf`, following imports. */
  private declared(sf: SourceFile, name: string, depth = 0): Node | undefined {
    const variable = sf.getVariableDeclaration(name);
    if (variable) return variable.getInitializer();
    for (const declaration of sf.getImportDeclarations()) {
      for (const spec of declaration.getNamedImports()) {
        const localName = spec.getAliasNode()?.getText() ?? spec.getName();
        if (localName !== name) continue;
        const other = this.importedFile(sf, declaration.getModuleSpecifierValue());
        return other ? this.exported(other, spec.getName(), depth + 1) : undefined;
      }
    }
    return undefined;
  }

  /** Looks through parentheses, `as`, `satisfies`, `!` and identifiers to the expression that makes the value. */
  private resolve(node: Node, depth = 0): Node {
    if (depth > 16) return node;
    if (
      Node.isParenthesizedExpression(node) ||
      Node.isAsExpression(node) ||
      Node.isSatisfiesExpression(node) ||
      Node.isNonNullExpression(node)
    ) {
      return this.resolve(node.getExpression(), depth + 1);
    }
    if (Node.isIdentifier(node)) {
      const target = this.declared(node.getSourceFile(), node.getText());
      return target ? this.resolve(target, depth + 1) : node;
    }
    return node;
  }

  /** The name a call is made by: `sweep(…)` → 'sweep', `dsl.sweep(…)` → 'sweep'. */
  private calleeName(node: Node): string | undefined {
    if (!Node.isCallExpression(node)) return undefined;
    const callee = node.getExpression();
    if (Node.isIdentifier(callee)) return callee.getText();
    if (Node.isPropertyAccessExpression(callee)) return callee.getName();
    return undefined;
  }

  /**
   * Where `path` (from the export `exportName` of `file`) is written; with `inner`, the
   * character inside the string literal there. Undefined when the file or export is not found.
   */
  locate(
    file: string,
    exportName: string | undefined,
    valuePath: ValuePath,
    inner?: InnerPosition,
  ): SourceLocation | undefined {
    return this.trace(file, exportName, valuePath, inner)?.location;
  }

  /** Like `locate`, with the source ranges the path went through (to match other diagnostics against). */
  trace(
    file: string,
    exportName: string | undefined,
    valuePath: ValuePath,
    inner?: InnerPosition,
  ): TracedPath | undefined {
    const sf = this.sourceFile(file);
    if (!sf || exportName === undefined) return undefined;
    const start = this.exported(sf, exportName);
    if (!start) return undefined;
    const through: SourceRange[] = [];
    const note = (node: Node): void => {
      through.push({ file: node.getSourceFile().getFilePath(), start: node.getStart(), end: node.getEnd() });
    };
    let anchor: Node = start;
    let current: Node = start;
    for (let i = 0; i < valuePath.length; i++) {
      const step = valuePath[i]!;
      const node = this.resolve(current);
      if (node !== current) note(node);
      let next: Node | undefined;
      let nextAnchor: Node | undefined;
      if (Node.isCallExpression(node)) {
        const table = callSteps[this.calleeName(node) ?? ''];
        const which = typeof step === 'string' ? table?.[step] : undefined;
        if (which === 'list') {
          const index = valuePath[i + 1];
          const args = node.getArguments();
          if (
            typeof index === 'number' &&
            index < args.length &&
            !args.slice(0, index + 1).some((a) => Node.isSpreadElement(a))
          ) {
            next = nextAnchor = args[index];
            i++;
          }
        } else if (which !== undefined) {
          next = nextAnchor = node.getArguments()[which];
        }
      } else if (Node.isObjectLiteralExpression(node) && typeof step === 'string') {
        const property = node.getProperty(step);
        if (Node.isPropertyAssignment(property)) {
          nextAnchor = property;
          next = property.getInitializer();
        } else if (Node.isShorthandPropertyAssignment(property)) {
          nextAnchor = property;
          next = property.getNameNode();
        }
      } else if (Node.isArrayLiteralExpression(node) && typeof step === 'number') {
        const elements = node.getElements();
        if (step < elements.length && !elements.slice(0, step + 1).some((e) => Node.isSpreadElement(e))) {
          next = nextAnchor = elements[step];
        }
      }
      if (!next || !nextAnchor) break;
      anchor = nextAnchor;
      current = next;
    }
    note(anchor);
    const value = this.resolve(current);
    if (value !== current) note(value);
    if (inner) {
      const literal = this.stringAt(current);
      if (literal) {
        return {
          location: this.position(
            literal,
            literal.getStart() + 1 + rawIndex(literal.getText().slice(1, -1), inner.offset),
          ),
          through,
        };
      }
    }
    return { location: this.position(anchor, anchor.getStart()), through };
  }

  /** The string literal holding the text of the value at `node`: itself, or template(task, '…')'s text. */
  private stringAt(node: Node): Node | undefined {
    const resolved = this.resolve(node);
    if (Node.isStringLiteral(resolved) || Node.isNoSubstitutionTemplateLiteral(resolved)) return resolved;
    if (Node.isCallExpression(resolved) && this.calleeName(resolved) === 'template') {
      const text = resolved.getArguments()[1];
      return text ? this.stringAt(text) : undefined;
    }
    return undefined;
  }

  private position(node: Node, pos: number): SourceLocation {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(pos);
    return { file: sf.getFilePath(), line, column };
  }
}
