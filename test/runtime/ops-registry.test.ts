// The kernel registry (src/runtime/ops/registry.ts): which kernel set runs, which kernel of an op
// that picks, and the ops it holds. On the cpu backend; the webgpu set on Dawn's null device is
// checked in wgsl.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setPlainOps } from '../../src/runtime/flags.js';
import { geluErf, geluTanh, silu } from '../../src/runtime/ops/activations.js';
import {
  attentionProbabilities,
  packedSelfAttention,
  selfAttention,
} from '../../src/runtime/ops/attention.js';
import { crossEntropy } from '../../src/runtime/ops/cross-entropy.js';
import { addLowRank, matMulBias } from '../../src/runtime/ops/linear.js';
import { causalMaskBias, positionsFromMask } from '../../src/runtime/ops/masks.js';
import { addLayerNorm, layerNorm, layerNormOfSum, rmsNorm } from '../../src/runtime/ops/norms.js';
import { adamWUpdate, sgdUpdate } from '../../src/runtime/ops/optimizer-updates.js';
import { defineOp, kernelSet, registeredOps } from '../../src/runtime/ops/registry.js';
import { onCpuWithRuntimeReset } from '../helpers/runtime.js';

onCpuWithRuntimeReset();

/** An op whose kernels say which of them ran. */
const which = defineOp<[fits: boolean], string>('test:which', {
  webgpu: (fits) => (fits ? 'webgpu' : undefined),
  tfjs: () => 'tfjs',
  plain: () => 'plain',
});
const withoutPlain = defineOp('test:withoutPlain', { tfjs: () => 'tfjs' });

describe('kernel registry', () => {
  it('on the cpu backend runs the tfjs kernels, and the plain ones under the plain-ops switch', () => {
    assert.equal(kernelSet(), 'tfjs');
    assert.equal(which(true), 'tfjs');
    setPlainOps(true);
    try {
      assert.equal(kernelSet(), 'plain');
      assert.equal(which(true), 'plain');
      assert.equal(withoutPlain(), 'tfjs'); // no plain kernel: the tfjs one
    } finally {
      setPlainOps(undefined);
    }
    assert.equal(kernelSet(), 'tfjs');
  });

  it('LAYERCUT_NO_FUSED_KERNELS and LAYERCUT_PLAIN_OPS are read at each call', () => {
    const saved = { ...process.env };
    try {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = '1';
      assert.equal(kernelSet(), 'tfjs');
      process.env['LAYERCUT_PLAIN_OPS'] = '1';
      assert.equal(kernelSet(), 'plain');
      assert.equal(which(true), 'plain');
      setPlainOps(false); // the override wins over the variable
      assert.equal(kernelSet(), 'tfjs');
    } finally {
      setPlainOps(undefined);
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = saved['LAYERCUT_NO_FUSED_KERNELS'] ?? '';
      process.env['LAYERCUT_PLAIN_OPS'] = saved['LAYERCUT_PLAIN_OPS'] ?? '';
    }
  });

  it('an op is defined once', () => {
    assert.throws(() => defineOp('test:which', { tfjs: () => 0 }), /defined twice/);
  });

  it("holds layercut's ops with the kernel sets docs/gpu.md names", () => {
    // referenced so that the modules are loaded (each op registers itself when its module loads)
    const ops: unknown[] = [
      geluErf,
      geluTanh,
      silu,
      attentionProbabilities,
      packedSelfAttention,
      selfAttention,
    ];
    ops.push(
      crossEntropy,
      matMulBias,
      addLowRank,
      causalMaskBias,
      positionsFromMask,
      layerNorm,
      addLayerNorm,
    );
    ops.push(layerNormOfSum, rmsNorm);
    ops.push(adamWUpdate, sgdUpdate);
    assert.equal(ops.length, 17);
    const layercut = Object.fromEntries([...registeredOps()].filter(([name]) => !name.startsWith('test:')));
    assert.deepEqual(layercut, {
      layerNorm: ['webgpu', 'tfjs', 'plain'],
      addLayerNorm: ['webgpu', 'tfjs'],
      layerNormOfSum: ['webgpu', 'tfjs'],
      rmsNorm: ['tfjs', 'plain'],
      geluTanh: ['webgpu', 'tfjs', 'plain'],
      geluErf: ['tfjs', 'plain'],
      silu: ['tfjs', 'plain'],
      causalMaskBias: ['webgpu', 'tfjs', 'plain'],
      positionsFromMask: ['webgpu', 'tfjs'],
      attentionProbabilities: ['webgpu', 'tfjs'],
      packedSelfAttention: ['webgpu', 'tfjs'],
      selfAttention: ['webgpu', 'tfjs'],
      matMulBias: ['webgpu', 'tfjs', 'plain'],
      addLowRank: ['tfjs', 'plain'],
      crossEntropy: ['webgpu', 'tfjs'],
      adamWUpdate: ['webgpu', 'tfjs', 'plain'],
      sgdUpdate: ['tfjs', 'plain'],
    });
  });
});
