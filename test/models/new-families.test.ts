// The families of issue 19 (Llama 3 rotary scaling, Qwen2, Qwen3, Mistral, Phi-3, Gemma, GPT-NeoX)
// without reference fixtures: config reading and its typed refusals, the rotary variants and the
// sliding-window mask against hand-computed values, and tiny random checkpoints of every family
// (cut at load time, saved and reloaded, no leaks). Logits against transformers: parity.test.ts.
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../src/models/config.js';
import { gemma } from '../../src/models/gemma.js';
import { gptNeox } from '../../src/models/gpt-neox.js';
import { causalMaskBias } from '../../src/runtime/ops/masks.js';
import { llama } from '../../src/models/llama.js';
import type { LlamaLikeConfig } from '../../src/models/llama-like.js';
import { loadModel } from '../../src/models/load.js';
import { mistral } from '../../src/models/mistral.js';
import { phi3, PHI3_ROTARY_KEYS as PHI3_KEYS } from '../../src/models/phi3.js';
import { qwen2 } from '../../src/models/qwen2.js';
import { qwen3 } from '../../src/models/qwen3.js';
import { applyRotary, inverseFrequencies, readRotary, rotaryTables } from '../../src/models/rotary.js';
import { saveModel } from '../../src/models/save.js';
import { keepFirst, keepIndices } from '../../src/models/selection.js';
import { initBackend } from '../../src/runtime/backend.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { writeCheckpoint } from '../../src/weights/writer.js';
import type { WritableTensor } from '../../src/weights/safetensors.js';
import { checkParity } from '../../src/models/parity.js';
import { modelFixture } from '../helpers/fixtures.js';
import { tinyFamilies, tinyFamilyConfigs, writeTinyFamily } from '../helpers/tiny-families.js';

const base = {
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  vocab_size: 99,
  max_position_embeddings: 64,
};

const configError = (pattern: RegExp) => (error: Error) => error instanceof ConfigError && pattern.test(error.message);

describe('rotary embeddings', () => {
  it('llama3 scaling keeps short wavelengths, slows long ones by the factor and blends the band between', () => {
    const spec = readRotary(
      {
        ...base,
        rope_parameters: {
          rope_type: 'llama3',
          rope_theta: 500000,
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 64,
        },
      },
      'llama',
      16,
    );
    const frequencies = Array.from(inverseFrequencies(spec, 12));
    assert.equal(frequencies.length, 8);
    // θ^(−2j/16): j = 0 has wavelength 2π < 64/4 (kept); j = 1 has 32.4, between 16 and 64 (blended);
    // j ≥ 2 are longer than 64 (÷ 8). Values from Python's math with the same formula.
    const expected = [1, 0.0794030091792082, 0.004700753866357992];
    expected.forEach((e, j) => assert.ok(Math.abs(frequencies[j]! - e) < 1e-7 * Math.max(1, e * 10), `j=${j}`));
    const plain = inverseFrequencies(readRotary({ ...base, rope_theta: 500000 }, 'llama', 16), 12);
    for (let j = 2; j < 8; j++) assert.ok(Math.abs(frequencies[j]! - plain[j]! / 8) < 1e-9);
  });

  it('linear scaling divides every frequency; dynamic is the plain rotary within max_position_embeddings', () => {
    const plain = inverseFrequencies(readRotary(base, 'llama', 8), 12);
    const linear = inverseFrequencies(readRotary({ ...base, rope_scaling: { type: 'linear', factor: 4 } }, 'llama', 8), 12);
    const dynamic = inverseFrequencies(
      readRotary({ ...base, rope_scaling: { rope_type: 'dynamic', factor: 2 } }, 'llama', 8),
      64,
    );
    assert.deepEqual(Array.from(linear), Array.from(plain, (f) => Math.fround(f / 4)));
    assert.deepEqual(Array.from(dynamic), Array.from(plain));
  });

  it('longrope: short factors up to original_max_position_embeddings, long ones beyond, cos and sin scaled', () => {
    const rope = { rope_type: 'longrope', short_factor: [1, 2], long_factor: [4, 8] };
    const phi = { ...base, max_position_embeddings: 64, original_max_position_embeddings: 16, rope_parameters: rope };
    const spec = readRotary(phi, 'phi3', 4, PHI3_KEYS);
    const plain = [1, 1 / 10000 ** 0.5];
    assert.deepEqual(Array.from(inverseFrequencies(spec, 16)), plain.map((f, j) => Math.fround(f / [1, 2][j]!)));
    assert.deepEqual(Array.from(inverseFrequencies(spec, 17)), plain.map((f, j) => Math.fround(f / [4, 8][j]!)));
    // no attention_factor: √(1 + ln(64/16) / ln 16) = √1.5
    assert.equal(spec.scaling.type === 'longrope' && spec.scaling.attentionFactor, Math.sqrt(1.5));
    // Phi-3's config class has original_max_position_embeddings 4096 when config.json has none
    const absent = readRotary({ ...base, max_position_embeddings: 64, rope_parameters: rope }, 'phi3', 4, PHI3_KEYS);
    assert.equal(absent.scaling.type === 'longrope' && absent.scaling.originalMaxPositions, 4096);
    // "su" is read as longrope; a factor list of the wrong length names the key
    assert.equal(readRotary({ ...phi, rope_parameters: { ...rope, rope_type: 'su' } }, 'phi3', 4, PHI3_KEYS).scaling.type, 'longrope');
    assert.throws(
      () => readRotary({ ...phi, rope_parameters: { ...rope, long_factor: [1] } }, 'phi3', 4, PHI3_KEYS),
      configError(/'long_factor' should list 2 positive numbers \(one per rotary frequency\), got \[1\]/),
    );
  });

  it('partial rotary turns only the first Dr values of each head; the rest pass unchanged', async () => {
    await initBackend({ backend: 'cpu' });
    const spec = readRotary({ ...base, rope_parameters: { rope_theta: 10000, partial_rotary_factor: 0.25 } }, 'phi3', 16);
    assert.equal(spec.dims, 4);
    const x = tf.randomNormal([1, 5, 2, 16], 0, 1, 'float32', 4) as tf.Tensor4D; // [B, T, H, Dh]
    const positions = tf.tensor2d([[0, 1, 2, 3, 4]], [1, 5], 'int32');
    const [rotated, tailDiff, headDiff] = tf.tidy(() => {
      const { cos, sin } = rotaryTables(positions, spec);
      const out = applyRotary(x, cos, sin);
      const tail = tf.max(tf.abs(tf.sub(out.slice([0, 0, 0, 4], [-1, -1, -1, 12]), x.slice([0, 0, 0, 4], [-1, -1, -1, 12]))));
      const head = tf.max(tf.abs(tf.sub(out.slice([0, 1, 0, 0], [-1, -1, -1, 4]), x.slice([0, 1, 0, 0], [-1, -1, -1, 4]))));
      return [out, tail, head];
    });
    assert.deepEqual(rotated.shape, [1, 5, 2, 16]);
    assert.equal((await tailDiff.data())[0], 0);
    assert.ok((await headDiff.data())[0]! > 0.01);
    tf.dispose([x, positions, rotated, tailDiff, headDiff]);
  });

  it('refuses unknown variants, per-layer settings, odd rotary widths and bad factors, naming the key', () => {
    assert.throws(
      () => readRotary({ ...base, rope_scaling: { type: 'yarn', factor: 4 } }, 'llama', 8),
      configError(/llama: config.json 'rope_scaling' rope_type 'yarn' is not supported/),
    );
    assert.throws(
      () => readRotary({ ...base, rope_parameters: { full_attention: { rope_type: 'default' } } }, 'qwen2', 8),
      configError(/'rope_parameters' holds settings per layer type/),
    );
    assert.throws(
      () => readRotary({ ...base, rotary_pct: 0.375 }, 'gpt_neox', 8, { thetaKey: 'rotary_emb_base', thetaDefault: 1e4, fractionKey: 'rotary_pct', fractionDefault: 0.25 }),
      configError(/rotary width \(head width 8 × 0.375 = 3\) must be even and positive/),
    );
    assert.throws(
      () => readRotary({ ...base, partial_rotary_factor: 1.5 }, 'phi3', 8),
      configError(/'partial_rotary_factor' .* must be in \(0, 1\], got 1.5/),
    );
    assert.throws(
      () => readRotary({ ...base, rope_scaling: { rope_type: 'linear', factor: 0.5 } }, 'llama', 8),
      configError(/'factor' must be ≥ 1, got 0.5/),
    );

  });
});

describe('sliding-window attention mask', () => {
  it('a query sees itself and the window − 1 keys before it, padding keys never (transformers rule)', async () => {
    await initBackend({ backend: 'cpu' });
    const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], [2, 5], 'int32');
    const bias = causalMaskBias(mask, 3);
    const allowed = (await bias.array()).map((row) => row[0]!.map((q) => q.map((v) => (v === 0 ? 1 : 0))));
    assert.deepEqual(allowed[0], [
      [1, 0, 0, 0, 0],
      [1, 1, 0, 0, 0],
      [1, 1, 1, 0, 0],
      [0, 1, 1, 1, 0],
      [0, 0, 1, 1, 1],
    ]);
    assert.deepEqual(allowed[1]!.slice(0, 3), [
      [1, 0, 0, 0, 0],
      [1, 1, 0, 0, 0],
      [1, 1, 1, 0, 0],
    ]);
    // a window as long as the sequence is plain causal attention
    const causal = causalMaskBias(mask);
    assert.deepEqual(await causalMaskBias(mask, 5).array(), await causal.array());
    tf.dispose([mask, bias, causal]);
  });
});

describe('config.json of each family', () => {
  it('qwen2: q/k/v biases, tied embeddings, a window on layers from max_window_layers when use_sliding_window', () => {
    const c = qwen2.parseConfig({ ...base, tie_word_embeddings: true, use_sliding_window: true, sliding_window: 8, max_window_layers: 3 });
    assert.deepEqual([c.qkvBias, c.outputBias, c.mlpBias, c.tieWordEmbeddings], [true, false, false, true]);
    assert.deepEqual(c.slidingWindow, { size: 8, layers: [3] });
    const shapes = qwen2.expectedTensors(c, [0]);
    assert.deepEqual(shapes.get('layers.0.self_attn.k_proj.bias'), [32]);
    assert.equal(shapes.has('layers.0.self_attn.o_proj.bias'), false);
    assert.equal(shapes.has('lm_head.weight'), false);
    // the window is off unless use_sliding_window (Qwen2.5's configs carry sliding_window regardless)
    assert.equal(qwen2.parseConfig({ ...base, sliding_window: 8, max_window_layers: 0 }).slidingWindow, null);
    assert.throws(
      () => qwen2.parseConfig({ ...base, layer_types: ['full_attention'] }),
      configError(/'layer_types' should list "full_attention" or "sliding_attention" for each of the 4 layers/),
    );
  });

  it('qwen3: per-head q/k norms, head_dim 128 when absent, biases only with attention_bias, layer_types win', () => {
    const c = qwen3.parseConfig({
      ...base,
      use_sliding_window: true,
      sliding_window: 4,
      max_window_layers: 0,
      layer_types: ['full_attention', 'sliding_attention', 'full_attention', 'full_attention'],
    });
    assert.equal(c.headDim, 128);
    assert.equal(c.qkNorm, true);
    assert.equal(c.qkvBias, false);
    assert.deepEqual(c.slidingWindow, { size: 4, layers: [1] });
    assert.deepEqual(qwen3.expectedTensors(c, [0]).get('layers.0.self_attn.q_norm.weight'), [128]);
    assert.deepEqual(qwen3.expectedTensors(c, [0]).get('layers.0.self_attn.q_proj.weight'), [512, 32]);
    assert.equal(qwen3.parseConfig({ ...base, head_dim: 8, attention_bias: true }).outputBias, true);
  });

  it('mistral: sliding_window on every layer, 4096 when absent, none when null; explicit head_dim', () => {
    assert.deepEqual(mistral.parseConfig({ ...base, sliding_window: 16 }).slidingWindow, { size: 16, layers: [0, 1, 2, 3] });
    assert.equal(mistral.parseConfig(base).slidingWindow!.size, 4096);
    assert.equal(mistral.parseConfig({ ...base, sliding_window: null }).slidingWindow, null);
    assert.equal(mistral.parseConfig({ ...base, head_dim: 16 }).headDim, 16);
    assert.throws(() => mistral.parseConfig({ ...base, sliding_window: 0 }), configError(/sliding_window \(0\) must be a positive integer/));
  });

  it('phi3: fused qkv_proj and gate_up_proj shapes, partial rotary, no window unless set', () => {
    const c = phi3.parseConfig({ ...base, num_key_value_heads: 2, partial_rotary_factor: 0.5 });
    assert.equal(c.slidingWindow, null);
    assert.equal(c.rotary.dims, 4);
    const shapes = phi3.expectedTensors(c, [1]);
    assert.deepEqual(shapes.get('layers.1.self_attn.qkv_proj.weight'), [32 + 2 * 16, 32]);
    assert.deepEqual(shapes.get('layers.1.mlp.gate_up_proj.weight'), [96, 32]);
    assert.equal(shapes.has('layers.1.self_attn.q_proj.weight'), false);
    assert.throws(
      () => phi3.parseConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } }),
      configError(/phi3: config.json 'rope_scaling' rope_type 'linear' is not supported/),
    );
  });

  it('gemma: head_dim 256 and tied embeddings when absent, hidden_act run (hidden_activation ignored), adaRMS refused', () => {
    const c = gemma.parseConfig({ ...base, num_key_value_heads: 1 });
    assert.deepEqual([c.headDim, c.tieWordEmbeddings, c.gemmaScaling, c.activation], [256, true, true, 'gelu_pytorch_tanh']);
    // as transformers 5.17 (fixture gemma-tiny-act: its exact GELU, not the tanh one)
    assert.equal(gemma.parseConfig({ ...base, hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh' }).activation, 'gelu');
    assert.throws(() => gemma.parseConfig({ ...base, use_adarms: true }), configError(/'use_adarms' true/));
    assert.throws(
      () => gemma.parseConfig({ ...base, use_bidirectional_attention: true }),
      configError(/'use_bidirectional_attention' true/),
    );
    assert.equal(gemma.parseConfig({ ...base, use_bidirectional_attention: null }).gemmaScaling, true);
    assert.throws(() => gemma.parseConfig({ ...base, hidden_act: 'gelu_fast' }), /hidden_act \('gelu_fast'\) must be one of /);
  });

  it('gpt_neox: rotary_pct and rotary_emb_base (transformers 4) or rope_parameters (5), both residual forms', () => {
    const v4 = gptNeox.parseConfig({ ...base, rotary_pct: 0.5, rotary_emb_base: 20000, use_parallel_residual: false });
    assert.deepEqual([v4.rotary.dims, v4.rotary.theta, v4.parallelResidual, v4.attentionBias], [4, 20000, false, true]);
    const v5 = gptNeox.parseConfig({
      ...base,
      rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.25 },
    });
    assert.deepEqual([v5.rotary.dims, v5.rotary.theta, v5.parallelResidual], [2, 10000, true]);
    const shapes = gptNeox.expectedTensors({ ...v5, attentionBias: false }, [2]);
    assert.deepEqual(shapes.get('gpt_neox.layers.2.attention.query_key_value.weight'), [96, 32]);
    assert.equal(shapes.has('gpt_neox.layers.2.attention.dense.bias'), false);
    assert.deepEqual(shapes.get('embed_out.weight'), [99, 32]);
    assert.throws(() => gptNeox.parseConfig({ ...base, num_attention_heads: 5 }), configError(/num_attention_heads \(5\) must be a positive integer that divides hidden_size/));
  });

  it('every family names the key of a missing or non-positive size', () => {
    for (const family of [llama, qwen2, qwen3, mistral, phi3, gemma, gptNeox]) {
      assert.throws(() => family.parseConfig({ ...base, hidden_size: undefined }), configError(/has no 'hidden_size'/));
      assert.throws(() => family.parseConfig({ ...base, intermediate_size: 0 }), configError(/intermediate_size \(0\) must be a positive integer/));
    }
    assert.throws(
      () => llama.parseConfig({ ...base, hidden_size: 30 }),
      configError(/num_attention_heads \(4\) must be a positive integer that divides hidden_size \(30\)/),
    );
    assert.throws(() => llama.parseConfig({ ...base, rms_norm_eps: 0 }), configError(/rms_norm_eps \(0\) must be a number > 0/));
  });
});

/** Bytes of the tensors whose names pass `keep`, from the checkpoint header. */
async function bytesOf(dir: string, keep: (name: string) => boolean): Promise<number> {
  const checkpoint = await openCheckpoint(dir);
  let total = 0;
  for (const name of checkpoint.names()) {
    if (keep(name)) total += checkpoint.info(name).end - checkpoint.info(name).begin;
  }
  await checkpoint.close();
  return total;
}

const LAYER_KEY = /(?:^|\.)layers\.(\d+)\./;

describe('tiny random checkpoints of every new family', () => {
  for (const name of tinyFamilies) {
    it(`${name}: cut at load time (only kept layers read), saved, reloaded with the same logits, no leaks`, async () => {
      await initBackend({ backend: 'cpu' });
      const dir = await writeTinyFamily(name);
      const kept = [0, 2];
      const { model, bytesRead } = await loadModel(dir, { layers: keepIndices(kept) });
      assert.equal(
        bytesRead,
        await bytesOf(dir, (key) => {
          const m = LAYER_KEY.exec(key);
          return !m || kept.includes(Number(m[1]));
        }),
      );
      const ids = tf.tensor2d([[5, 9, 17, 3, 44, 8, 21], [7, 7, 30, 2, 0, 0, 0]], [2, 7], 'int32');
      const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]], [2, 7], 'int32');
      const logits = model.logits(ids, mask);
      assert.deepEqual(logits.shape, [2, 7, 99]);
      assert.ok((await logits.data()).every(Number.isFinite));
      const before = tf.memory().numTensors;
      tf.dispose(model.logits(ids, mask));
      assert.equal(tf.memory().numTensors, before);

      const saved = await mkdtemp(path.join(os.tmpdir(), `layercut-saved-${name}-`));
      await saveModel(model, saved, { sourceDir: dir });
      const { model: reloaded } = await loadModel(saved);
      assert.deepEqual(reloaded.info.keptLayers, [0, 1]);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(reloaded.logits(ids, mask), logits))).dataSync()[0]!);
      assert.equal(diff, 0);
      tf.dispose([ids, mask, logits]);
      model.dispose();
      reloaded.dispose();
    });
  }

  it('qwen2 and qwen3: a saved cut keeps each kept layer attention type (layer_types and max_window_layers)', async () => {
    await initBackend({ backend: 'cpu' });
    for (const [name, kept, types, bound] of [
      // qwen2: layers ≥ 2 slide; keeping 1 and 3 renumbers them 0 (full) and 1 (sliding)
      ['qwen2', [1, 3], undefined, 1],
      ['qwen3', [1, 2], ['full_attention', 'sliding_attention'], undefined],
    ] as const) {
      const dir = await writeTinyFamily(name);
      const { model } = await loadModel(dir, { layers: keepIndices([...kept]) });
      const saved = await mkdtemp(path.join(os.tmpdir(), `layercut-window-${name}-`));
      await saveModel(model, saved, { sourceDir: dir });
      const config = JSON.parse(await readFile(path.join(saved, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(config['num_hidden_layers'], 2);
      assert.deepEqual(config['layer_types'], types);
      assert.equal(config['max_window_layers'], bound);
      const { model: reloaded } = await loadModel(saved);
      const sliding = (m: typeof model) => (m.info.config as LlamaLikeConfig).slidingWindow!.layers;
      assert.deepEqual(sliding(reloaded).map((l) => kept[l]), sliding(model).filter((l) => (kept as readonly number[]).includes(l)));
      model.dispose();
      reloaded.dispose();
    }
  });

  it('mistral: the window changes the logits only where the sequence is longer than it', async () => {
    await initBackend({ backend: 'cpu' });
    const windowed = await writeTinyFamily('mistral');
    const full = await writeTinyFamily('mistral', { config: { sliding_window: null } });
    const { model: a } = await loadModel(windowed, { layers: keepFirst(2) });
    const { model: b } = await loadModel(full, { layers: keepFirst(2) });
    const ids = tf.tensor2d([[5, 9, 17, 3, 44, 8]], [1, 6], 'int32');
    const mask = tf.ones([1, 6], 'int32') as tf.Tensor2D;
    const [first, rest] = tf.tidy(() => {
      const d = tf.max(tf.abs(tf.sub(a.logits(ids, mask), b.logits(ids, mask))), 2); // [1, T]
      return [tf.max(d.slice([0, 0], [1, 3])), tf.min(d.slice([0, 3], [1, 3]))];
    });
    assert.equal(tinyFamilyConfigs.mistral.sliding_window, 3);
    assert.equal((await first.data())[0], 0); // positions 0..2 see all their keys either way
    assert.ok((await rest.data())[0]! > 1e-4);
    tf.dispose([ids, mask, first, rest]);
    a.dispose();
    b.dispose();
  });
});

describe('sharded checkpoints', () => {
  for (const fixture of ['qwen2-tiny-window', 'phi3-tiny-partial', 'gemma-tiny', 'gpt-neox-tiny', 'llama3-tiny']) {
    it(`${fixture}: split into shards, a cut reads only its layers and every cut keeps transformers' logits`, async () => {
      await initBackend({ backend: 'cpu' });
      const source = modelFixture(fixture);
      const checkpoint = await openCheckpoint(source);
      const tensors: Record<string, WritableTensor> = {};
      for (const name of checkpoint.names()) {
        const { data, shape } = await checkpoint.readFloat32(name);
        tensors[name] = { dtype: 'F32', shape, data };
      }
      await checkpoint.close();
      const dir = await mkdtemp(path.join(os.tmpdir(), `layercut-sharded-${fixture}-`));
      await writeCheckpoint(dir, tensors, { maxShardBytes: 40_000 });
      for (const file of ['config.json', 'reference.safetensors']) await copyFile(path.join(source, file), path.join(dir, file));
      const shards = (await readdir(dir)).filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f));
      assert.ok(shards.length >= 3, `${shards.length} shards`);
      const { model, bytesRead } = await loadModel(dir, { layers: keepFirst(2) });
      const expected = await bytesOf(dir, (key) => {
        const m = LAYER_KEY.exec(key);
        return !m || Number(m[1]) < 2;
      });
      assert.equal(bytesRead, expected);
      model.dispose();
      for (const row of await checkParity(dir, 1e-5)) assert.ok(row.ok, `${row.reference}: max|Δ| ${row.maxAbsDiff}`);
    });
  }
});
