/** From value paths to source positions: through identifiers, imports, DSL calls, properties, elements and string text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceLocator } from '../../src/compile/locate.js';
import { dslFixture } from './helpers.js';

const file = dslFixture('locate-shapes.ts');
const locator = new SourceLocator();
/** `file:line:col` with the file's base name. */
function at(
  exportName: string,
  path: (string | number)[],
  inner?: { line: number; column: number; offset: number },
): string {
  const location = locator.locate(file, exportName, path, inner);
  assert.ok(location, `no location for ${exportName} ${path.join('.')}`);
  return `${location.file.split('/').pop()}:${location.line}:${location.column}`;
}

test('into grid and zip parts, to an array element', () => {
  assert.equal(at('nested', ['axes', 'parts', 1, 'parts', 0, 'layers', 1]), 'locate-shapes.ts:11:81');
  assert.equal(at('nested', ['axes', 'parts', 0, 'seed', 1]), 'locate-shapes.ts:11:52');
});

test('inside a string, counting escapes as their source characters', () => {
  // '0\t1, x': value offset 5 is the x, seven source characters after the quote (\t is two)
  assert.equal(
    at('nested', ['axes', 'parts', 1, 'parts', 0, 'layers', 1], { line: 1, column: 6, offset: 5 }),
    'locate-shapes.ts:11:88',
  );
});

test('through identifiers to their declarations, and through imports to other files', () => {
  assert.equal(at('viaIdentifier', ['axes', 'layers', 1]), 'locate-shapes.ts:5:34');
  assert.equal(at('viaIdentifier', ['base', 'options', 'layers']), 'locate-shapes.ts:9:3');
  assert.equal(at('both', ['items', 1, 'options', 'seed']), 'locate-shared.ts:4:90');
  assert.equal(at('renamed', ['options', 'task']), 'locate-shapes.ts:8:3');
});

test('where the syntax stops following the value, it points at the last place it could', () => {
  assert.equal(at('computed', ['axes', 'layers', 1]), 'locate-shapes.ts:13:39');
  assert.equal(at('both', ['items', 0, 'options', 'nothing']), 'locate-shapes.ts:6:25');
  assert.equal(locator.locate(file, 'noSuchExport', []), undefined);
});
