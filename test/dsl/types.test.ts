/**
 * The types do real work: wrong experiment files under test/fixtures/dsl/ are compiled with
 * ts-morph and must give these TypeScript diagnostics, at these lines and columns. The
 * examples and the valid fixtures must give none.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { experimentProject, typeDiagnostics, type FileDiagnostic } from '../../src/compile/check.js';
import { fixturesDir } from '../helpers/fixtures.js';

const dslFixtures = path.join(fixturesDir, 'dsl');
const repoRoot = path.resolve(fixturesDir, '..', '..');
/** One project for every file: the program is built once and reused. */
const project = experimentProject(dslFixtures);

/** `line:col message` of each diagnostic of a fixture. */
function diagnosticsOf(name: string): string[] {
  return typeDiagnostics(path.join(dslFixtures, name), project).map(
    (d: FileDiagnostic) => `${d.location!.line}:${d.location!.column} ${d.message}`,
  );
}

test('a template placeholder the task lacks is a type error at the placeholder', () => {
  assert.deepEqual(diagnosticsOf('wrong-placeholder.ts'), [
    `4:49 Argument of type '"question"' is not assignable to parameter of type '"text" | "label"'.`,
  ]);
});

test('template text is checked too, naming the unknown placeholder', () => {
  assert.deepEqual(diagnosticsOf('wrong-template-text.ts'), [
    `7:32 Argument of type '"Review: {txt}\\nSentiment:{label}"' is not assignable to parameter of type '"unknown placeholder {txt}: the task's fields are text"'.`,
  ]);
});

test('a verbalizer must name exactly the task’s labels: a missing one and an extra one are type errors', () => {
  assert.deepEqual(diagnosticsOf('wrong-verbalizer.ts'), [
    `4:47 Argument of type '{ negative: string; }' is not assignable to parameter of type '{ readonly negative: LabelWords; readonly positive: LabelWords; }'.\n` +
      `  Property 'positive' is missing in type '{ negative: string; }' but required in type '{ readonly negative: LabelWords; readonly positive: LabelWords; }'.`,
    `5:84 Object literal may only specify known properties, and 'neutral' does not exist in type '{ readonly negative: LabelWords; readonly positive: LabelWords; }'.`,
  ]);
});

test('lm refuses a template without {label}; cls takes it', () => {
  assert.deepEqual(diagnosticsOf('wrong-slot.ts'), [
    `7:105 Type 'Template<"sst2", false>' is not assignable to type 'Template<"sst2", false> & NeedsAnswerSlot'.\n` +
      `  Property ''lm, promptCls and icl need a template with the answer slot {label}'' is missing in type 'Template<"sst2", false>' but required in type 'NeedsAnswerSlot'.`,
  ]);
});

test('experiment options and sweep axes are exact: misspelt names are type errors', () => {
  assert.deepEqual(diagnosticsOf('wrong-options.ts'), [
    `4:81 Object literal may only specify known properties, but 'seeds' does not exist in type 'ExperimentOptions<Task<"sst2", "text", "negative" | "positive">, LmMethod, Template<"sst2", boolean>>'. Did you mean to write 'seed'?`,
    `6:35 Object literal may only specify known properties, and 'learningRate' does not exist in type 'AxesPart'.`,
  ]);
});

test('label words written for another task are a type error', () => {
  assert.deepEqual(diagnosticsOf('wrong-task.ts'), [
    `7:111 Type 'Verbalizer<"sst2">' is not assignable to type 'Verbalizer<"agnews">'.\n  Type '"sst2"' is not assignable to type '"agnews"'.`,
  ]);
});

test('the DSL’s own copies of engine types equal the engine’s', () => {
  assert.deepEqual(diagnosticsOf('plan-compat.ts'), []);
});

test('the examples and the valid fixtures type-check cleanly', () => {
  const files = [
    ...['paper-gpt2xl.ts', 'paper-opt13b.ts', 'paper.ts', 'ablations.ts', 'quickstart.ts'].map((f) =>
      path.join(repoRoot, 'examples', f),
    ),
    ...['ids-a.ts', 'ids-b.ts', 'runtime-mistakes.ts'].map((f) => path.join(dslFixtures, f)),
  ];
  for (const file of files) assert.deepEqual(typeDiagnostics(file, project), [], file);
});
