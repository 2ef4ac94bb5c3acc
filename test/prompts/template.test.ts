/** Prompt templates: the grammar, the checks against fields and slots, and error positions. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import peggy from 'peggy';
import { LayercutError } from '../../src/errors.js';
import { fillTemplate, parseTemplate, TemplateError } from '../../src/prompts/template.js';
import { repoRoot } from '../tokenizers/fixture-tokenizers.js';

/** The error `fn` throws, which must be a TemplateError. */
function templateError(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TemplateError, `expected a TemplateError, got ${String(error)}`);
    assert.ok(error instanceof LayercutError);
    return error;
  }
  assert.fail('expected a TemplateError');
}

test('the SST-2 template: text, a field, text, the label slot', () => {
  const template = parseTemplate('Review: {text}\nSentiment:{label}', { fields: ['text'] });
  assert.deepEqual(
    template.parts.map((part) =>
      part.type === 'text' ? part.value : `<${part.type}:${'name' in part ? part.name : part.kind}>`,
    ),
    ['Review: ', '<field:text>', '\nSentiment:', '<slot:label>'],
  );
  assert.deepEqual(template.fields, ['text']);
  assert.equal(template.slot?.kind, 'label');
  assert.deepEqual(template.slot?.location.start, { line: 2, column: 11, offset: 25 });
});

test('{{ and }} are literal braces; a field may repeat; backslashes stay as written', () => {
  const template = parseTemplate('{{json}} {q} and {q} again \\n {label}}}');
  assert.deepEqual(template.parts[0], { type: 'text', value: '{json} ' });
  assert.deepEqual(template.fields, ['q']);
  assert.equal(fillTemplate(template, { q: 'Q' }, ' A'), '{json} Q and Q again \\n  A}');
  assert.equal(fillTemplate(template, { q: 'Q' }, ' A', 'slot'), '{json} Q and Q again \\n ');
});

test('syntax errors name the line, the column and what was expected', () => {
  const spaced = templateError(() => parseTemplate('Review: {text}\nSentiment: { label}'));
  assert.equal(spaced.line, 2);
  assert.equal(spaced.column, 13);
  assert.match(
    spaced.message,
    /^template error at line 2, column 13: Expected a placeholder name \(letters, digits, _\) but " " found/,
  );
  assert.match(spaced.message, /\n {4}Sentiment: \{ label\}\n {16}\^/);
  const unclosed = templateError(() => parseTemplate('Review: {text'));
  assert.deepEqual([unclosed.line, unclosed.column], [1, 14]);
  assert.match(unclosed.reason, /Expected "\}" but end of input found/);
  const lone = templateError(() => parseTemplate('a }b {label}'));
  assert.deepEqual([lone.line, lone.column], [1, 3]);
  assert.match(lone.reason, /a lone '\}' outside a placeholder; write '\}\}'/);
  const digit = templateError(() => parseTemplate('{2nd} {label}'));
  assert.deepEqual([digit.line, digit.column], [1, 2]);
});

test('exactly one answer slot; none only when the caller allows it', () => {
  const two = templateError(() => parseTemplate('{text} {label} {label}'));
  assert.deepEqual([two.line, two.column], [1, 16]);
  assert.match(two.reason, /a second answer slot/);
  const mixed = templateError(() => parseTemplate('{text}\n{mask} {label}'));
  assert.deepEqual([mixed.line, mixed.column], [2, 8]);
  const none = templateError(() => parseTemplate('Review: {text}'));
  assert.match(none.reason, /no answer slot: add \{label\}/);
  const allowed = parseTemplate('Review: {text}', { requireSlot: false });
  assert.equal(allowed.slot, null);
});

test("the slot kind must suit the model, and fields must be the task's", () => {
  const wrongSlot = templateError(() =>
    parseTemplate('Review: {text} It was {mask}.', { slotKind: 'label' }),
  );
  assert.match(wrongSlot.reason, /\{mask\} is the answer slot of masked LMs, but this model needs \{label\}/);
  assert.equal(parseTemplate('Review: {text} It was {mask}.', { slotKind: 'mask' }).slot?.kind, 'mask');
  const unknown = templateError(() => parseTemplate('Q: {question}\nA:{label}', { fields: ['text'] }));
  assert.deepEqual([unknown.line, unknown.column], [1, 4]);
  assert.match(unknown.message, /unknown field \{question\}[\s\S]*hint: the fields are: \{text\}/);
});

test('filling a template without a value for one of its fields is a LayercutError', () => {
  const template = parseTemplate('Q: {question}\nA:{label}');
  assert.throws(
    () => fillTemplate(template, { text: 'x' }, ' yes'),
    (error: unknown) => {
      assert.ok(error instanceof LayercutError);
      assert.match(error.message, /the example has no field 'question'/);
      return true;
    },
  );
});

test('grammar/template.generated.js is up to date with template.peggy', () => {
  const source = readFileSync(path.join(repoRoot, 'grammar/template.peggy'), 'utf8');
  const generated = peggy.generate(source, { output: 'source', format: 'es' });
  const committed = readFileSync(path.join(repoRoot, 'grammar/template.generated.js'), 'utf8');
  assert.ok(
    generated === committed,
    'grammar/template.generated.js is stale: regenerate it with the command in grammar/template.peggy',
  );
  const types = readFileSync(path.join(repoRoot, 'grammar/template.generated.d.ts'), 'utf8');
  assert.match(types, /\): import\("\.\/template-ast\.js"\)\.TemplateNode\[\];/);
});

test('fuzz finds: a field named like an Object method is not filled from the prototype', () => {
  // once rendered as "function valueOf() { [native code] }" (test/fuzz/template.ts)
  for (const name of ['valueOf', 'constructor', '__proto__', 'toString']) {
    const template = parseTemplate(`{${name}} {label}`);
    assert.throws(
      () => fillTemplate(template, {}, ' yes'),
      (error: unknown) => {
        assert.ok(error instanceof LayercutError);
        assert.match(error.message, new RegExp(`the example has no field '${name}'`));
        return true;
      },
    );
    assert.equal(fillTemplate(template, { [name]: 'v' }, ' yes'), 'v  yes');
  }
});
