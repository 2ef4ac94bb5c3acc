/**
 * The compiler: DSL values → checked run plans with ids.
 *
 *   expand sweeps (expand.ts) → check and fill defaults (build.ts) → id = runId(plan)
 *
 * A run defined twice (in two exports, or twice in one sweep) is one run: same plan, same id.
 * `compileValues` reports issues as values with paths; `compileFile` (file.ts) places them in
 * the source. `compile` is the notebook form: it returns plans or throws a CompileError.
 */
import { runId } from '../plan/id.js';
import { mergeLabels, withLabels } from '../plan/labels.js';
import type { RunPlan } from '../plan/types.js';
import { buildPlan } from './build.js';
import { expandRunSet, type Draft } from './expand.js';
import { CompileError, type CompileIssue } from './issues.js';
import { ModelCatalog, type ModelDescription } from './model-info.js';

export interface CompiledRun {
  id: string;
  plan: RunPlan;
  /** The exports that define this run, in order (one, unless it is defined twice). */
  exports: string[];
  /** What the compiler knows of the model (family, config, depth), if anything. */
  model?: ModelDescription;
  /** The kept layers' original indices, when the model's depth is known. */
  keptLayers?: number[];
  /** Where each option of its first definition came from (see Draft), for issues found later. */
  origins: Draft['origins'];
}

export interface CompileResult {
  /** Unique runs in order of first definition. */
  runs: CompiledRun[];
  /** Errors and warnings, each once. */
  issues: CompileIssue[];
  /** How many definitions repeated a run already defined (merged into it). */
  duplicates: number;
}

/** A value to compile and the name it is exported under (if any). */
export interface NamedValue {
  name?: string;
  value: unknown;
}

export interface CompileOptions {
  /** Where model configs are looked up (default: a new catalog on the working directory). */
  catalog?: ModelCatalog;
}

function issueKey(issue: CompileIssue): string {
  if (issue.severity === 'warning') return `warning|${issue.message}`;
  return JSON.stringify([issue.exportName ?? null, issue.path, issue.message, issue.inner?.offset ?? null]);
}

/** Expands, checks and identifies every run of `values`. Never throws on user mistakes: they are issues. */
export async function compileValues(
  values: readonly NamedValue[],
  options: CompileOptions = {},
): Promise<CompileResult> {
  const catalog = options.catalog ?? new ModelCatalog();
  const issues: CompileIssue[] = [];
  const byId = new Map<string, CompiledRun>();
  let duplicates = 0;
  for (const { name, value } of values) {
    const exportName = name;
    const drafts = await expandRunSet(value, [], { catalog, issues, exportName });
    for (const draft of drafts) {
      const built = await buildPlan(draft, { catalog, issues, exportName });
      if (!built) continue;
      const id = runId(built.plan);
      const seen = byId.get(id);
      if (seen) {
        duplicates++;
        seen.plan = withLabels(seen.plan, mergeLabels(seen.plan.labels, built.plan.labels));
        if (name !== undefined && !seen.exports.includes(name)) seen.exports.push(name);
        continue;
      }
      byId.set(id, {
        id,
        plan: built.plan,
        exports: name === undefined ? [] : [name],
        origins: draft.origins,
        ...(built.model ? { model: built.model } : {}),
        ...(built.keptLayers ? { keptLayers: built.keptLayers } : {}),
      });
    }
  }
  const seenIssues = new Set<string>();
  const unique = issues.filter((issue) => {
    const key = issueKey(issue);
    if (seenIssues.has(key)) return false;
    seenIssues.add(key);
    return true;
  });
  return { runs: [...byId.values()], issues: unique, duplicates };
}

/**
 * The run plans of one DSL value (an experiment, a sweep, …) or a list of them, in order;
 * a CompileError listing every problem when there is one.
 */
export async function compile(value: unknown, options: CompileOptions = {}): Promise<RunPlan[]> {
  const values = Array.isArray(value) ? value.map((v, i) => ({ name: `[${i}]`, value: v })) : [{ value }];
  const result = await compileValues(values, options);
  if (result.issues.some((issue) => issue.severity === 'error')) throw new CompileError(result.issues);
  return result.runs.map((run) => run.plan);
}
