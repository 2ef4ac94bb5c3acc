/** Each command's help lists the backends `--backend` takes: all of them, from their one declaration. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layersCommand } from '../../src/cli/layers.js';
import { pretrainCommand } from '../../src/cli/pretrain.js';
import { runCommand } from '../../src/cli/run.js';
import { workerCommand } from '../../src/cli/worker.js';
import { backendNames } from '../../src/runtime/backend-names.js';

test('--backend lists every backend name in the help of run, pretrain, layers and worker', () => {
  for (const command of [runCommand, pretrainCommand, layersCommand, workerCommand]) {
    const line = command.usage.split('\n').find((text) => text.trimStart().startsWith('--backend NAME'));
    assert.ok(line, command.usage);
    const listed = line.replace(/^\s*--backend NAME\s+/, '').replace(/ \(default[^)]*\)/g, '');
    assert.deepEqual(listed.split(' | '), backendNames);
  }
});
