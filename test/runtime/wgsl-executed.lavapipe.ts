// layercut's WGSL executed, not only validated, without a GPU: Dawn's Vulkan backend over Mesa's
// lavapipe (llvmpipe's Vulkan driver, which runs shaders on the CPU). Each fused program runs
// against its tfjs formulation, as `npm run test:gpu` does on a GPU (the same checks, from
// bench/gpu-checks.ts, without their timings): AdamW two parameters a pass, LayerNorm (alone and
// after a residual add), GELU,
// attention softmax, 2-D grids past 65,535 rows, the gather gradient, the tensor-core matmul's
// split sum with a bias.
// Lavapipe offers no subgroup matrices, so the tensor-core matmul itself runs only on a GPU. And
// the auto backend passes over such an adapter (src/runtime/webgpu.ts, `hardwareOnly`).
//
//   npm run test:lavapipe     needs Mesa's Vulkan drivers 25 or later (Debian bookworm-backports'
//                             mesa-vulkan-drivers; bookworm's 22.3 lacks what Dawn requires);
//                             .ci/run installs them
// Not in `npm test`: that runs on a fresh machine without Debian packages.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, releaseBackend } from '../../src/runtime/backend.js';
import {
  adamwCheck,
  checkLine,
  fusedKernelChecks,
  gatherGradientChecks,
  passes,
  splitSumChecks,
  type Check,
} from '../../bench/gpu-checks.js';

const lavapipe = '/usr/share/vulkan/icd.d/lvp_icd.json';

before(async () => {
  if (!process.env['VK_DRIVER_FILES']) {
    if (!existsSync(lavapipe))
      throw new Error(
        `no lavapipe (${lavapipe}): install Mesa's Vulkan drivers 25+, e.g. ` +
          '`apt-get install -t bookworm-backports mesa-vulkan-drivers`, or set VK_DRIVER_FILES',
      );
    process.env['VK_DRIVER_FILES'] = lavapipe; // read by the Vulkan loader when Dawn starts
  }
  const backend = await initBackend({ backend: 'webgpu' });
  assert.equal(backend.name, 'webgpu');
  assert.match(backend.detail, /llvmpipe/, `not lavapipe: ${backend.detail}`);
});

after(() => releaseBackend());

/** Asserts every check passed, listing them all. */
function assertAllPass(checks: Check[], atLeast: number) {
  const lines = checks.map(checkLine).join('\n');
  assert.ok(checks.length >= atLeast, `only ${checks.length} checks:\n${lines}`);
  assert.ok(checks.every(passes), lines);
}

describe('WGSL executed on lavapipe, against tfjs ops', () => {
  it('AdamW: two parameters a pass (a larger first, a larger second), one alone', async () => {
    assertAllPass([await adamwCheck()], 1);
  });

  it('LayerNorm (also after a residual add), GELU and attention softmax, forward and backward, 2-D grids included', async () => {
    assertAllPass(await fusedKernelChecks({ timed: false }), 58);
  });

  it('the gather gradient: a row scatter, and one program for few ids', async () => {
    assertAllPass(await gatherGradientChecks({ large: false }), 3);
  });

  it('host values arrive through queue writes (uploads.ts): float32, int32 and bool', async () => {
    const zeros = tf.tidy(() => tf.fill([4], 0)); // on the device
    const [f, i, b] = tf.tidy(() => [
      tf.add(tf.tensor1d([1.5, -2, 3e-8, 65504.25]), zeros),
      tf.add(tf.tensor1d([7, -1, 2 ** 30, 0], 'int32'), tf.cast(zeros, 'int32')),
      tf.logicalOr(tf.tensor1d([true, false, true, false], 'bool'), tf.cast(zeros, 'bool')),
    ]);
    assert.deepEqual(Array.from(await f!.data()), Array.from(Float32Array.from([1.5, -2, 3e-8, 65504.25])));
    assert.deepEqual(Array.from(await i!.data()), [7, -1, 2 ** 30, 0]);
    assert.deepEqual(Array.from(await b!.data()), [1, 0, 1, 0]);
    tf.dispose([zeros, f!, i!, b!]);
  });

  it('the split sum, padded and not, with and without a bias', async () => {
    assertAllPass(await splitSumChecks(), 4);
  });
});

describe('the auto backend', () => {
  // last: it makes another backend current
  it('passes over an adapter that runs shaders on the CPU', async () => {
    const report = await initBackend({ backend: 'auto' });
    assert.notEqual(report.name, 'webgpu');
    const webgpu = report.skipped.find((s) => s.name === 'webgpu');
    assert.match(webgpu?.reason ?? '', /runs shaders on the CPU \(llvmpipe/);
  });
});
