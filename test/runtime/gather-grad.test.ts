// The gradient of a tied embedding's second lookup added in place (src/runtime/gradients.ts,
// webgpu-kernels.ts: scatterRowsInto), on Dawn's null device: which programs write the token
// table's gradient in a GPT-2 step. (Its numbers are checked on a GPU: bench/gpu-suite.ts's
// fine-tune against the cpu backend and its AdamW steps against torch.)
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { variableGrads } from '../../src/runtime/gradients.js';
import { promptLmLoss } from '../../src/train/objectives.js';
import { modelFixture } from '../helpers/fixtures.js';
import { onNullDevice } from '../helpers/runtime.js';
import { twoPromptBatch } from '../helpers/tiny-gpt2.js';

const watch = onNullDevice();

interface ProgramRunner {
  runWebGPUProgram: (program: { shaderKey: string; outputShape: number[] }, ...rest: unknown[]) => unknown;
}

it("the token table's gradient is two programs per step: the label words' rows, then the input tokens' scattered in; no fill, no [V, D] add", async () => {
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const { batch, labelTokenIds } = twoPromptBatch();
  const tableShape = model.params.get('wte.weight')!.shape;
  const backend = tf.backend() as unknown as ProgramRunner;
  const run = backend.runWebGPUProgram;
  const onTable: string[] = [];
  backend.runWebGPUProgram = function (this: unknown, program, ...rest) {
    if (tf.util.arraysEqual(program.outputShape, tableShape)) onTable.push(program.shaderKey.split('_')[0]!);
    return run.call(this, program, ...rest);
  };
  try {
    const { errors } = await watch().check('a training step', async () => {
      const { value, grads } = variableGrads(
        () => promptLmLoss(model, batch, labelTokenIds),
        [...model.params.values()],
      );
      await value.data();
      tf.dispose([value, grads]);
    });
    assert.deepEqual(errors, [], errors.join('\n'));
    // the label words' rows (LM head, fewer than fewIds: one program writes the whole table), then
    // the input tokens' rows scattered into it
    assert.deepEqual(onTable, ['layercutRowSums', 'layercutScatterRows']);
  } finally {
    backend.runWebGPUProgram = run;
    model.dispose();
    tf.dispose([...Object.values(batch), labelTokenIds]);
  }
});
