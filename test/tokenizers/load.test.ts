/**
 * Loading tokenizer folders: the kinds layercut recognises, where special tokens come
 * from, errors for broken folders, and the settings the JS port needs translated.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LayercutError } from '../../src/errors.js';
import { tokenizerFromFiles } from '../../src/tokenizers/hf-tokenizer.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import type { TokenizerJson } from '../../src/tokenizers/tokenizer-json.js';
import { fixtureTokenizer } from './fixture-tokenizers.js';

test('each fixture is recognised as its kind, with its special tokens and flags', async () => {
  const bert = await fixtureTokenizer('bert-wordpiece');
  assert.equal(bert.kind, 'wordpiece');
  assert.deepEqual(bert.specialTokens, {
    pad: { token: '[PAD]', id: 0 },
    unk: { token: '[UNK]', id: 1 },
    cls: { token: '[CLS]', id: 2 },
    sep: { token: '[SEP]', id: 3 },
    mask: { token: '[MASK]', id: 4 },
  });
  const llama = await fixtureTokenizer('llama-bpe');
  assert.equal(llama.kind, 'sentencepiece-bpe');
  assert.deepEqual(llama.specialTokens, {
    unk: { token: '<unk>', id: 0 },
    bos: { token: '<s>', id: 1 },
    eos: { token: '</s>', id: 2 },
  });
  assert.equal(llama.flags.addBosToken, true);
  assert.equal(llama.flags.addEosToken, false);
  assert.equal((await fixtureTokenizer('metaspace-bpe')).kind, 'sentencepiece-bpe');
  const roberta = await fixtureTokenizer('roberta-bpe');
  assert.equal(roberta.kind, 'byte-bpe');
  // special_tokens_map.json gives the mask token as an object {"content": "<mask>", …}.
  assert.deepEqual(roberta.specialTokens.mask, { token: '<mask>', id: 4 });
  assert.deepEqual(roberta.specialTokens.cls, { token: '<s>', id: 0 });
  assert.deepEqual(roberta.specialTokens.sep, { token: '</s>', id: 2 });
});

test('special tokens follow the post-processor: BERT [CLS] … [SEP], Llama <s> …, RoBERTa <s> … </s>', async () => {
  const bert = await fixtureTokenizer('bert-wordpiece');
  const withSpecial = bert.encode('the movie');
  const without = bert.encode('the movie', { addSpecialTokens: false });
  assert.deepEqual(withSpecial.ids, [2, ...without.ids, 3]);
  assert.deepEqual(bert.encode('').tokens, ['[CLS]', '[SEP]']);
  const llama = await fixtureTokenizer('llama-bpe');
  assert.equal(llama.encode('the movie').tokens[0], '<s>');
  assert.equal(llama.encode('the movie', { addSpecialTokens: false }).tokens[0]!.startsWith('▁'), true);
  const roberta = await fixtureTokenizer('roberta-bpe');
  const tokens = roberta.encode('the movie').tokens;
  assert.deepEqual([tokens[0], tokens[tokens.length - 1]], ['<s>', '</s>']);
});

test('sentencepiece BPE falls back to byte tokens for characters it does not know', async () => {
  const llama = await fixtureTokenizer('llama-bpe');
  const { tokens } = llama.encode('😀', { addSpecialTokens: false });
  assert.deepEqual(tokens, ['▁', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
  assert.equal(llama.decode(llama.encode('the 😀 movie').ids, { skipSpecialTokens: true }), 'the 😀 movie');
  // WordPiece has no byte fallback: an unknown word is [UNK].
  const bert = await fixtureTokenizer('bert-wordpiece');
  assert.deepEqual(bert.encode('😀', { addSpecialTokens: false }).tokens, ['[UNK]']);
});

/** A tiny SentencePiece-style BPE over ▁, a, b, with a merge for the whitespace run ▁▁. */
function metaspaceTokenizer(preTokenizer: Record<string, unknown>): TokenizerJson {
  return {
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      vocab: { '▁': 0, a: 1, b: 2, '▁a': 3, '▁b': 4, '▁▁': 5 },
      merges: [
        ['▁', 'a'],
        ['▁', '▁'],
        ['▁', 'b'],
      ],
      unk_token: null,
    },
  };
}

test('Metaspace with split (Rust default) cuts before each ▁, so ▁▁ never merges', () => {
  const split = tokenizerFromFiles({
    tokenizerJson: metaspaceTokenizer({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' }),
  });
  assert.deepEqual(split.encode('a  b').tokens, ['▁a', '▁', '▁b']);
  const unsplit = tokenizerFromFiles({
    tokenizerJson: metaspaceTokenizer({
      type: 'Metaspace',
      replacement: '▁',
      prepend_scheme: 'always',
      split: false,
    }),
  });
  assert.deepEqual(unsplit.encode('a  b').tokens, ['▁a', '▁▁', 'b']);
  // The old format's add_prefix_space: false means no ▁ before the first word.
  const oldFormat = tokenizerFromFiles({
    tokenizerJson: metaspaceTokenizer({ type: 'Metaspace', replacement: '▁', add_prefix_space: false }),
  });
  assert.deepEqual(oldFormat.encode('a b').tokens, ['a', '▁b']);
});

test('a Split behavior the JS port cannot reproduce is a warning', () => {
  const tokenizer = tokenizerFromFiles({
    tokenizerJson: metaspaceTokenizer({
      type: 'Split',
      pattern: { String: '▁' },
      behavior: 'MergedWithNext',
      invert: false,
    }),
  });
  assert.equal(tokenizer.warnings.length, 1);
  assert.match(tokenizer.warnings[0]!, /Split with behavior 'MergedWithNext'/);
});

test('a config naming a token missing from the vocabulary is a warning, not a failure', () => {
  const tokenizer = tokenizerFromFiles({
    tokenizerJson: metaspaceTokenizer({ type: 'Metaspace', replacement: '▁' }),
    tokenizerConfig: { pad_token: '<pad>', bos_token: null },
  });
  assert.deepEqual(tokenizer.specialTokens, {});
  assert.deepEqual(tokenizer.warnings, [
    "tokenizer_config.json names pad_token '<pad>', which is not in the vocabulary; ignored",
  ]);
});

test('broken tokenizer folders are LayercutErrors that say what is wrong', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'layercut-tok-'));
  try {
    await assert.rejects(loadTokenizer(dir), (error: unknown) => {
      assert.ok(error instanceof LayercutError);
      assert.match(error.message, /no tokenizer\.json in/);
      return true;
    });
    await writeFile(path.join(dir, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadTokenizer(dir), /tokenizer\.json is not valid JSON/);
    await writeFile(path.join(dir, 'tokenizer.json'), '{"vocab": {}}');
    await assert.rejects(loadTokenizer(dir), /has no "model" object/);
    await writeFile(path.join(dir, 'tokenizer.json'), '{"model": {"type": "Mystery"}}');
    await assert.rejects(loadTokenizer(dir), /unsupported tokenizer model type 'Mystery'/);
    const json = metaspaceTokenizer({ type: 'NoSuchPreTokenizer' });
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    await assert.rejects(
      loadTokenizer(dir),
      /cannot build the tokenizer: Unknown PreTokenizer type: NoSuchPreTokenizer/,
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});
