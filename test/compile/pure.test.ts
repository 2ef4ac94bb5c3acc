/**
 * Compiling writes no model: an experiment on the generated built-in `tiny-gpt2` compiles — its
 * depth known (a cut too deep is an error), its prompts checked with the real GPT-2 tokenizer
 * — and layercut's cache gets no model (the prompt checks, which load the task's data, may keep
 * the parsed dataset there); the first run writes the model.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';

import { compileFile } from '../../src/compile/file.js';
import { runPlans } from '../../src/runner/run-plans.js';
import { testFolder, writeTinyExperiment } from '../runner/helpers.js';

const { dir, cache } = testFolder('layercut-pure-compile-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('compiling an experiment on tiny-gpt2 checks it whole and writes no model; running it writes the model', async () => {
  const file = writeTinyExperiment(dir, { layers: 4, seeds: 1 });
  const plain = await compileFile(file);
  assert.equal(plain.runs.length, 4);
  assert.equal(existsSync(cache), false, 'compiling wrote into layercut’s cache');

  const compiled = await compileFile(file, { checkPrompts: true });
  assert.deepEqual(
    compiled.issues.filter((issue) => issue.severity === 'error'),
    [],
  );
  assert.equal(compiled.runs.length, 4);
  // The prompts were checked with the GPT-2 tokenizer: token counts, nothing left unchecked.
  assert.equal(compiled.prompts?.fits.length, 1);
  assert.ok(compiled.prompts!.fits[0]!.templateTokens > 0);
  assert.deepEqual(compiled.prompts?.notes, []);
  const models = path.join(cache, 'models');
  assert.equal(existsSync(models), false, 'checking the prompts wrote a model');

  // The depth comes from the recipe: keeping 5 of its 4 layers is an error.
  const tooDeep = writeTinyExperiment(path.join(dir), { layers: 5, seeds: 1 });
  const deep = await compileFile(tooDeep);
  assert.match(deep.issues.map((issue) => issue.message).join('\n'), /builtin model tiny-gpt2 has 4 layers/);
  assert.equal(existsSync(models), false);

  // A run needs the weights: it writes them.
  await runPlans([compiled.runs[0]!.plan], { store: path.join(dir, 'runs.db') });
  assert.ok(existsSync(path.join(cache, 'models', 'tiny-gpt2', 'model.safetensors')));
});
