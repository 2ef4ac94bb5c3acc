/**
 * config.json is checked for everything the maths depends on, per family, when it is read — with
 * the key and its value in the message — instead of running to numbers that mean nothing: sizes
 * are positive integers, heads divide the width (and key/value heads the heads), head widths
 * fit rotary embeddings, epsilons and the rotary base are > 0, activations are ones layercut
 * computes, and the pad id and positions fit their tables. Each family's valid config is its
 * committed reference fixture's; the end-to-end tests use the shipped tiny-english.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli.js';
import { ConfigError } from '../../src/models/config.js';
import { llama } from '../../src/models/llama.js';
import { families, loadModel } from '../../src/models/load.js';
import type { ModelFamily } from '../../src/models/types.js';
import { packageRoot } from '../../src/package-root.js';
import { captured } from '../helpers/console.js';
import { modelFixture } from '../helpers/fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layercut-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;

function fixtureConfig(fixture: string): Json {
  return JSON.parse(readFileSync(path.join(modelFixture(fixture), 'config.json'), 'utf8')) as Json;
}

function familyOf(json: Json): ModelFamily {
  return families.find((f) => f.modelTypes.includes(json['model_type'] as string))!;
}

/** Each change to the fixture's config, and the message it must give (a ConfigError). */
type Cases = [change: Json, message: RegExp][];

function assertRejected(base: Json, cases: Cases): void {
  const family = familyOf(base);
  assert.doesNotThrow(() => family.parseConfig(base), 'the fixture config itself is valid');
  for (const [change, message] of cases) {
    assert.throws(
      () => family.parseConfig({ ...base, ...change }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError, `${JSON.stringify(change)}: ${error.message}`);
        assert.match(error.message, message, JSON.stringify(change));
        assert.doesNotMatch(error.message.split('\n  hint: ')[0]!, /\n/, 'one line (and a hint)');
        return true;
      },
      JSON.stringify(change),
    );
  }
}

const positive = (key: string, value: unknown) =>
  [{ [key]: value }, new RegExp(`config\\.json ${key} \\(${String(value)}\\) must be a positive integer$`)] as [
    Json,
    RegExp,
  ];

describe('gpt2 config', () => {
  const base = fixtureConfig('gpt2-tiny'); // n_embd 32, n_head 4
  it('sizes are positive integers: layers, width, vocabulary, positions, inner width', () => {
    assertRejected(base, [
      positive('n_layer', 0),
      positive('n_embd', 0),
      positive('n_embd', -32),
      positive('vocab_size', 0),
      positive('n_positions', 0),
      positive('n_inner', 0),
      positive('n_layer', 2.5),
      [{ n_layer: '4' }, /config\.json 'n_layer' should be a number, got "4"/],
      [{ vocab_size: undefined }, /config\.json has no 'vocab_size'/],
    ]);
  });
  it('heads divide the width', () => {
    assertRejected(base, [
      [{ n_head: 3 }, /^gpt2: config\.json n_head \(3\) must be a positive integer that divides n_embd \(32\)$/],
      [{ n_head: 0 }, /n_head \(0\) must be a positive integer that divides n_embd \(32\)/],
      [{ n_head: 2.5 }, /n_head \(2\.5\) must be a positive integer that divides n_embd \(32\)/],
      [{ n_head: 64 }, /n_head \(64\) must be a positive integer that divides n_embd \(32\)/],
    ]);
  });
  it('layer norm epsilon is > 0', () => {
    assertRejected(base, [
      [{ layer_norm_epsilon: 0 }, /layer_norm_epsilon \(0\) must be a number > 0/],
      [{ layer_norm_epsilon: -1e-5 }, /layer_norm_epsilon \(-0\.00001\) must be a number > 0/],
    ]);
  });
  it('the activation is one layercut computes', () => {
    assertRejected(base, [
      [
        { activation_function: 'gelu_fast' },
        /activation_function \('gelu_fast'\) must be one of gelu_new, gelu_pytorch_tanh, gelu, relu, silu, swish/,
      ],
    ]);
  });
});

describe('opt config', () => {
  const base = fixtureConfig('opt-tiny'); // hidden_size 32, 4 heads
  it('sizes are positive integers: layers, width, vocabulary, positions, ffn and embedding widths', () => {
    assertRejected(base, [
      positive('num_hidden_layers', 0),
      positive('hidden_size', 0),
      positive('vocab_size', 0),
      positive('max_position_embeddings', 0),
      positive('ffn_dim', 0),
      positive('word_embed_proj_dim', 0),
    ]);
  });
  it('heads divide the width', () => {
    assertRejected(base, [
      [
        { num_attention_heads: 5 },
        /^opt: config\.json num_attention_heads \(5\) must be a positive integer that divides hidden_size \(32\)$/,
      ],
      [{ num_attention_heads: 0 }, /num_attention_heads \(0\) must be a positive integer that divides/],
    ]);
  });
  it('the activation is one layercut computes', () => {
    assertRejected(base, [[{ activation_function: 'tanh' }, /activation_function \('tanh'\) must be one of /]]);
  });
});

describe('llama config', () => {
  const base = fixtureConfig('llama-tiny-gqa'); // hidden_size 32, 4 heads, 2 kv heads, head_dim 8
  const { head_dim: _headDim, ...withoutHeadDim } = base;
  it('sizes are positive integers: layers, width, vocabulary, positions, intermediate width', () => {
    assertRejected(base, [
      positive('num_hidden_layers', 0),
      positive('hidden_size', 0),
      positive('vocab_size', 0),
      positive('max_position_embeddings', 0),
      positive('intermediate_size', 0),
    ]);
  });
  it('key/value heads divide the heads; without head_dim the heads divide the width', () => {
    assertRejected(base, [
      [
        { num_key_value_heads: 3 },
        /^llama: config\.json num_key_value_heads \(3\) must be a positive integer that divides num_attention_heads \(4\)$/,
      ],
      [{ num_key_value_heads: 0 }, /num_key_value_heads \(0\) must be a positive integer that divides/],
      [{ num_attention_heads: 0 }, /num_attention_heads \(0\) must be a positive integer$/],
    ]);
    assertRejected(withoutHeadDim, [
      [
        { num_attention_heads: 3, num_key_value_heads: 3 },
        /num_attention_heads \(3\) must be a positive integer that divides hidden_size \(32\)/,
      ],
    ]);
    // with head_dim the heads need not divide the width (q_proj is [heads · head_dim, hidden_size])
    const wide = llama.parseConfig({ ...base, num_attention_heads: 3, num_key_value_heads: 3 });
    assert.deepEqual([wide.heads, wide.headDim], [3, 8]);
  });
  it('head_dim is a positive even integer (rotary embeddings turn pairs)', () => {
    assertRejected(base, [
      [{ head_dim: 7 }, /the rotary width \(head width 7 × 1 = 7\) must be even and positive/],
      [{ head_dim: 0 }, /head_dim \(0\) must be a positive integer$/],
      [{ head_dim: 4.5 }, /head_dim \(4\.5\) must be a positive integer$/],
    ]);
  });
  it('rms_norm_eps is > 0 and the rotary base > 1', () => {
    assertRejected(base, [
      [{ rms_norm_eps: 0 }, /rms_norm_eps \(0\) must be a number > 0/],
      // transformers 4 keeps rope_theta at the top, transformers 5 (the fixture) in rope_parameters
      [{ rope_parameters: undefined, rope_theta: 0 }, /rotary base \(rope_theta\) must be > 1, got 0/],
      [{ rope_parameters: undefined, rope_theta: -10000 }, /rotary base \(rope_theta\) must be > 1, got -10000/],
      [{ rope_parameters: { rope_type: 'default', rope_theta: 0 } }, /rotary base \(rope_theta\) must be > 1, got 0/],
    ]);
  });
  it('the activation is one layercut computes', () => {
    assertRejected(base, [[{ hidden_act: 'gelu_fast' }, /hidden_act \('gelu_fast'\) must be one of /]]);
  });
});

for (const [fixture, modelType] of [
  ['bert-tiny', 'bert'],
  ['roberta-tiny', 'roberta'],
] as const) {
  describe(`${modelType} config`, () => {
    const base = fixtureConfig(fixture); // hidden_size 32, 4 heads, vocab 99
    it('sizes are positive integers: layers, width, vocabulary, positions, intermediate width, token types', () => {
      assertRejected(base, [
        positive('num_hidden_layers', 0),
        positive('hidden_size', 0),
        positive('vocab_size', 0),
        positive('max_position_embeddings', 0),
        positive('intermediate_size', 0),
        positive('type_vocab_size', 0),
      ]);
    });
    it('heads divide the width', () => {
      assertRejected(base, [
        [
          { num_attention_heads: 5 },
          new RegExp(
            `^${modelType}: config\\.json num_attention_heads \\(5\\) must be a positive integer that divides hidden_size \\(32\\)$`,
          ),
        ],
      ]);
    });
    it('layer_norm_eps is > 0 and the activation is one layercut computes', () => {
      assertRejected(base, [
        [{ layer_norm_eps: 0 }, /layer_norm_eps \(0\) must be a number > 0/],
        [{ hidden_act: 'quick_gelu' }, /hidden_act \('quick_gelu'\) must be one of /],
      ]);
    });
    it('the pad id is a row of the vocabulary, and the positions leave room for a token', () => {
      assertRejected(base, [
        [{ pad_token_id: 99 }, /pad_token_id \(99\) must be below vocab_size \(99\)/],
        [{ pad_token_id: -1 }, /pad_token_id \(-1\) must be a non-negative integer/],
      ]);
      if (modelType === 'roberta') {
        // RoBERTa's positions start after pad_token_id + 1: a table of 2 rows with pad 1 holds no token
        assertRejected(base, [
          [
            { max_position_embeddings: 2 },
            /max_position_embeddings \(2\) must leave room for one token \(2 rows go before the first, with pad_token_id 1\)/,
          ],
        ]);
      }
    });
  });
}

describe('a bad config ends the command with its message, before any weights are read', () => {
  /** A copy of the shipped tiny-english (width 128, 4 heads) with `change` in its config.json. */
  function tinyEnglishWith(name: string, change: Json): string {
    const copy = path.join(dir, name);
    cpSync(path.join(packageRoot, 'models', 'tiny-english'), copy, { recursive: true });
    const file = path.join(copy, 'config.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as Json), ...change }));
    return copy;
  }

  it('loadModel rejects heads that do not divide the width', async () => {
    const model = tinyEnglishWith('three-heads', { n_head: 3 });
    await assert.rejects(
      loadModel(model),
      (error: Error) =>
        error instanceof ConfigError &&
        error.message === 'gpt2: config.json n_head (3) must be a positive integer that divides n_embd (128)',
    );
  });

  it('layercut run: exit 2 with the message, nothing stored as done (it trained to 25 % before)', async () => {
    const model = tinyEnglishWith('three-heads-run', { n_head: 3 });
    const file = path.join(dir, 'three-heads.ts');
    const dsl = JSON.stringify(path.join(packageRoot, 'dsl', 'index.js'));
    writeFileSync(
      file,
      `import { adamw, experiment, keepFirst, lm, tasks } from ${dsl};
export const bad = experiment({
  model: { kind: 'local', path: ${JSON.stringify(model)} },
  task: tasks.spam, method: lm(), layers: keepFirst(1), backend: 'wasm',
  data: { trainPerClass: 4, demosPerClass: 0, validation: 8, test: 20, maxLength: 48 },
  train: { optimizer: adamw({ lr: 1e-3 }), epochs: 1, batchSize: 4 },
});
`,
    );
    const db = path.join(dir, 'three-heads.db');
    const run = await captured(() => main(['run', file, '--db', db]));
    assert.equal(run.code, 2, run.err);
    assert.match(run.err, /gpt2: config\.json n_head \(3\) must be a positive integer that divides n_embd \(128\)/);
    assert.doesNotMatch(run.err, /runs done/);
  });

  it('layercut parity on wasm: n_head 0 is one line naming the key (it printed emscripten source before)', async () => {
    const model = tinyEnglishWith('zero-heads', { n_head: 0 });
    // parity needs reference logits: the gpt2-tiny fixture's, with its config changed the same way
    const fixtureCopy = path.join(dir, 'gpt2-tiny-zero-heads');
    cpSync(modelFixture('gpt2-tiny'), fixtureCopy, { recursive: true });
    writeFileSync(
      path.join(fixtureCopy, 'config.json'),
      JSON.stringify({ ...fixtureConfig('gpt2-tiny'), n_head: 0 }),
    );
    const parity = await captured(() => main(['parity', fixtureCopy, '--backend', 'wasm']));
    assert.equal(parity.code, 2, parity.err);
    assert.equal(
      parity.err,
      'layercut parity: gpt2: config.json n_head (0) must be a positive integer that divides n_embd (32)',
    );
    await assert.rejects(loadModel(model), /n_head \(0\) must be a positive integer that divides n_embd \(128\)/);
  });
});
