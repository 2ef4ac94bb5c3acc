// Llama, BERT, RoBERTa and the families of issue 19: hidden states equal Hugging Face transformers'
// on the committed fixtures; cuts read only the kept layers; the encoders' masked-LM head scores
// label words as the full logits do; configs are checked; saved cuts load back.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../../src/errors.js';
import { ConfigError } from '../../src/models/config.js';
import { rmsNorm } from '../../src/runtime/ops/norms.js';
import { llama } from '../../src/models/llama.js';
import { loadModel } from '../../src/models/load.js';
import { saveModel } from '../../src/models/save.js';
import { keepFirst, keepIndices } from '../../src/models/selection.js';
import { initBackend } from '../../src/runtime/backend.js';
import { atPositions, promptLmLoss } from '../../src/train/objectives.js';
import { openCheckpoint } from '../../src/weights/safetensors.js';
import { encoderFixtures, familyFixtures, modelFixture } from '../helpers/fixtures.js';

/** The original layer index in a checkpoint key of any of these families. */
const LAYER_KEY = /(?:^|\.)layers?\.(\d+)\./;

/** The fixture's reference inputs and one float tensor from reference.safetensors. */
async function readReference(fixture: string, name: string) {
  const reference = await openCheckpoint(path.join(modelFixture(fixture), 'reference.safetensors'));
  const ids = await reference.readInt32('input_ids');
  const mask = await reference.readInt32('attention_mask');
  const value = await reference.readFloat32(name);
  await reference.close();
  return {
    inputIds: tf.tensor2d(ids.data, ids.shape as [number, number], 'int32'),
    attentionMask: tf.tensor2d(mask.data, mask.shape as [number, number], 'int32'),
    value: tf.tensor(value.data, value.shape),
  };
}

/** Max |a − b| over the tokens whose mask is 1; a, b: [B, T, …]. */
function maxDiffOnRealTokens(a: tf.Tensor, b: tf.Tensor, attentionMask: tf.Tensor2D): number {
  return tf.tidy(() => {
    const real = tf
      .cast(attentionMask, 'float32')
      .reshape([...attentionMask.shape, ...a.shape.slice(2).map(() => 1)]);
    return tf.max(tf.mul(tf.abs(tf.sub(a, b)), real)).dataSync()[0]!;
  });
}

describe('hidden states', () => {
  for (const fixture of familyFixtures) {
    it(`${fixture}: the embeddings and each layer's output equal transformers' hidden_states`, async () => {
      await initBackend({ backend: 'cpu' });
      const { inputIds, attentionMask, value: expected } = await readReference(fixture, 'hidden_full'); // [L+1, B, T, D]
      const { model } = await loadModel(modelFixture(fixture));
      const { lastHidden, hiddenStates } = model.forward(inputIds, attentionMask, { hiddenStates: true });
      assert.equal(hiddenStates!.length, 5);
      // transformers' last decoder entry is after the final norm (our lastHidden); the encoders have no final norm
      const compared = encoderFixtures.includes(fixture)
        ? hiddenStates!
        : [...hiddenStates!.slice(0, 4), lastHidden];
      compared.forEach((state, layer) => {
        const diff = maxDiffOnRealTokens(
          state,
          tf.tidy(() => expected.gather(layer)),
          attentionMask,
        );
        assert.ok(diff < 1e-5, `hidden state ${layer}: max|Δ| ${diff}`);
      });
      tf.dispose([inputIds, attentionMask, expected, lastHidden, ...hiddenStates!]);
      model.dispose();
    });
  }
});

describe('masked-LM heads', () => {
  for (const fixture of ['bert-tiny', 'roberta-tiny']) {
    it(`${fixture}: lmHead on a few positions and label words equals the reference logits there`, async () => {
      await initBackend({ backend: 'cpu' });
      const { inputIds, attentionMask, value: expected } = await readReference(fixture, 'logits_full'); // [B, T, V]
      const { model } = await loadModel(modelFixture(fixture));
      assert.equal(model.headWidth, 32);
      const positions = tf.tensor1d([3, 5], 'int32');
      const labelWords = tf.tensor1d([7, 42, 77], 'int32');
      const [scores, wanted] = tf.tidy(() => {
        const { lastHidden } = model.forward(inputIds, attentionMask); // [B, T, D]: the last layer's output
        const restricted = model.lmHead(atPositions(lastHidden, positions), labelWords); // [B, 3]
        const reference = tf.gather(atPositions(expected as tf.Tensor3D, positions), labelWords, 1); // [B, 3]
        return [restricted, reference];
      });
      assert.deepEqual(scores.shape, [2, 3]);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(scores, wanted))).dataSync()[0]!);
      assert.ok(diff < 1e-5, `max|Δ| ${diff}`);
      // the head's transform and bias matter: the bare vocabulary matrix gives other scores
      const bare = tf.tidy(() => {
        const { lastHidden } = model.forward(inputIds, attentionMask);
        const words = tf.gather(
          model.params.get(`${fixture.split('-')[0]}.embeddings.word_embeddings.weight`)!,
          labelWords,
        );
        return tf.matMul(atPositions(lastHidden, positions), words, false, true);
      });
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(bare, wanted))).dataSync()[0]!) > 0.1);
      tf.dispose([inputIds, attentionMask, expected, positions, labelWords, scores, wanted, bare]);
      model.dispose();
    });
  }
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

describe('cutting at load time', () => {
  for (const fixture of familyFixtures) {
    it(`${fixture}: a model cut to 2 layers reads exactly the bytes of layers 0-1 and the shared tensors`, async () => {
      await initBackend({ backend: 'cpu' });
      const dir = modelFixture(fixture);
      const { model, bytesRead } = await loadModel(dir, { layers: keepFirst(2) });
      const expected = await bytesOf(dir, (name) => {
        const m = LAYER_KEY.exec(name);
        return !m || Number(m[1]) < 2;
      });
      assert.equal(bytesRead, expected);
      assert.ok(bytesRead < (await bytesOf(dir, () => true)));
      assert.deepEqual(model.info.keptLayers, [0, 1]);
      assert.equal(model.info.layersBefore, 4);
      model.dispose();
    });
  }

  it('bert-tiny: parameters before and after a cut count the encoder layers', async () => {
    const { model } = await loadModel(modelFixture('bert-tiny'), { layers: keepFirst(1) });
    // one layer of width 32, FFN 64: q, k, v, out (32·32 + 32 each), 2 LayerNorms, 32→64→32
    const layer = 4 * (32 * 32 + 32) + 2 * 64 + (32 * 64 + 64) + (64 * 32 + 32);
    assert.equal(layer, 8_544);
    assert.equal(model.info.paramsBefore - model.info.paramsAfter, 3 * layer);
    model.dispose();
  });
});

describe('saving a cut', () => {
  for (const [fixture, selection, prefix, headKey] of [
    ['llama-tiny-gqa', keepIndices([0, 2]), 'model.layers.', 'lm_head.weight'],
    ['bert-tiny', keepIndices([1, 3]), 'bert.encoder.layer.', 'cls.predictions.bias'],
    ['roberta-tiny', keepFirst(2), 'roberta.encoder.layer.', 'lm_head.bias'],
    ['qwen2-tiny-window', keepIndices([1, 3]), 'model.layers.', 'lm_head.weight'],
    ['qwen3-tiny', keepIndices([0, 3]), 'model.layers.', 'model.layers.1.self_attn.q_norm.weight'],
    ['mistral-tiny', keepFirst(2), 'model.layers.', 'lm_head.weight'],
    ['phi3-tiny-partial', keepIndices([2, 3]), 'model.layers.', 'model.layers.0.self_attn.qkv_proj.weight'],
    ['gemma-tiny', keepIndices([0, 2]), 'model.layers.', 'model.embed_tokens.weight'],
    ['gpt-neox-tiny', keepIndices([1, 2]), 'gpt_neox.layers.', 'embed_out.weight'],
    ['llama3-tiny', keepFirst(2), 'model.layers.', 'model.norm.weight'],
  ] as const) {
    it(`${fixture}: saved with transformers' keys and renumbered layers, it reloads with identical logits`, async () => {
      await initBackend({ backend: 'cpu' });
      const source = modelFixture(fixture);
      const { model } = await loadModel(source, { layers: selection });
      const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-families-'));
      await saveModel(model, dir, { sourceDir: source });
      const checkpoint = await openCheckpoint(dir);
      const names = checkpoint.names();
      await checkpoint.close();
      const layers = new Set(
        names.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length).split('.')[0]),
      );
      assert.deepEqual([...layers].sort(), ['0', '1']);
      assert.ok(names.includes(headKey));

      const { model: reloaded } = await loadModel(dir);
      const ids = tf.tensor2d([[5, 9, 17, 3, 44]], [1, 5], 'int32');
      const mask = tf.ones([1, 5], 'int32') as tf.Tensor2D;
      const diff = tf.tidy(
        () => tf.max(tf.abs(tf.sub(model.logits(ids, mask), reloaded.logits(ids, mask)))).dataSync()[0]!,
      );
      assert.equal(diff, 0);
      tf.dispose([ids, mask]);
      model.dispose();
      reloaded.dispose();
    });
  }
});

describe('llama building blocks and config', () => {
  it('rmsNorm: its analytic gradient equals autodiff of the plain formula', async () => {
    await initBackend({ backend: 'cpu' });
    const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 1);
    const gain = tf.randomNormal([8], 1, 0.2, 'float32', 2);
    const weights = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 3);
    const plain = (a: tf.Tensor, g: tf.Tensor) =>
      tf.mul(tf.mul(a, tf.rsqrt(tf.add(tf.mean(tf.square(a), -1, true), 1e-6))), g);
    const loss = (norm: (a: tf.Tensor, g: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, g: tf.Tensor) =>
      tf.sum(tf.mul(norm(a, g), weights));
    const ours = tf.grads(loss((a, g) => rmsNorm(a, g, 1e-6)))([x, gain]);
    const reference = tf.grads(loss(plain))([x, gain]);
    for (let i = 0; i < 2; i++) {
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours[i]!, reference[i]!))).dataSync()[0]!);
      assert.ok(diff < 1e-5, `gradient ${i}: max|Δ| ${diff}`);
    }
    const valueDiff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(rmsNorm(x, gain, 1e-6), plain(x, gain)))).dataSync()[0]!,
    );
    assert.ok(valueDiff < 1e-6);
    tf.dispose([x, gain, weights, ...ours, ...reference]);
  });

  const base = {
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 99,
    max_position_embeddings: 32,
  };

  it('reads rotary settings from transformers 5 and 4 configs', () => {
    const v5 = llama.parseConfig({ ...base, rope_parameters: { rope_type: 'default', rope_theta: 500000 } });
    assert.equal(v5.rotary.theta, 500000);
    assert.equal(v5.kvHeads, 2);
    assert.equal(v5.headDim, 8);
    assert.equal(v5.tieWordEmbeddings, false);
    const v4 = llama.parseConfig({ ...base, rope_theta: 250000, rope_scaling: null, head_dim: 16 });
    assert.equal(v4.rotary.theta, 250000);
    assert.equal(v4.headDim, 16);
    assert.equal(llama.parseConfig(base).rotary.theta, 10000);
    // a wider head_dim changes every attention shape
    assert.deepEqual(llama.expectedTensors(v4, [0]).get('layers.0.self_attn.q_proj.weight'), [64, 32]);
    assert.deepEqual(llama.expectedTensors(v4, [0]).get('layers.0.self_attn.k_proj.weight'), [32, 32]);
  });

  it('rejects unsupported rotary variants, incomplete llama3 settings and key/value heads that do not divide the heads', () => {
    assert.throws(
      () => llama.parseConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8 } }),
      (error: Error) =>
        error instanceof ConfigError && /llama \(in 'rope_scaling'\): config.json has no 'low_freq_factor'/.test(error.message),
    );
    assert.throws(
      () =>
        llama.parseConfig({ ...base, rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } }),
      /config.json 'rope_parameters' rope_type 'yarn' is not supported/,
    );
    assert.throws(
      () => llama.parseConfig({ ...base, num_key_value_heads: 3 }),
      /num_key_value_heads \(3\) must be a positive integer that divides num_attention_heads \(4\)/,
    );
  });
});

describe('inputs and memory', () => {
  it('roberta-tiny: an input longer than its usable positions (40 − pad 1 − 1 = 38) is refused', async () => {
    await initBackend({ backend: 'cpu' });
    const { model } = await loadModel(modelFixture('roberta-tiny'), { layers: keepFirst(1) });
    assert.equal(model.info.config.maxPositions, 38);
    const ids = tf.fill([1, 39], 5, 'int32') as tf.Tensor2D;
    const mask = tf.ones([1, 39], 'int32') as tf.Tensor2D;
    assert.throws(
      () => model.logits(ids, mask),
      (error: Error) => error instanceof LayercutError && /38 positions/.test(error.message),
    );
    tf.dispose([ids, mask]);
    model.dispose();
  });

  for (const fixture of ['llama-tiny-gqa', 'bert-tiny']) {
    it(`${fixture}: forward passes do not leak tensors, and dispose frees every parameter`, async () => {
      await initBackend({ backend: 'cpu' });
      const before = tf.memory().numTensors;
      const { model } = await loadModel(modelFixture(fixture));
      assert.equal(tf.memory().numTensors - before, model.params.size);
      const ids = tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32');
      const mask = tf.ones([1, 4], 'int32') as tf.Tensor2D;
      tf.dispose(model.logits(ids, mask));
      const afterFirst = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose(model.logits(ids, mask));
      assert.equal(tf.memory().numTensors, afterFirst);
      tf.dispose([ids, mask]);
      model.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }

  for (const fixture of familyFixtures) {
    it(`${fixture}: the prompt-based loss has a nonzero gradient for every parameter, without leaks`, async () => {
      await initBackend({ backend: 'cpu' });
      const { model } = await loadModel(modelFixture(fixture));
      const batch = {
        inputIds: tf.tensor2d(
          [
            [5, 6, 7, 8],
            [9, 10, 11, 1],
          ],
          [2, 4],
          'int32',
        ),
        attentionMask: tf.tensor2d(
          [
            [1, 1, 1, 1],
            [1, 1, 1, 0],
          ],
          [2, 4],
          'int32',
        ),
        answerPositions: tf.tensor1d([3, 2], 'int32'),
        labels: tf.tensor1d([0, 2], 'int32'),
      };
      const labelWords = tf.tensor1d([7, 42, 77], 'int32');
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => promptLmLoss(model, batch, labelWords),
        [...model.params.values()],
      );
      assert.equal(Object.keys(grads).length, model.params.size);
      const zero = Object.entries(grads).filter(
        ([, g]) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0,
      );
      assert.deepEqual(
        zero.map(([name]) => name),
        [],
      );
      tf.dispose([value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([...Object.values(batch), labelWords]);
      model.dispose();
    });
  }
});
