/** Verbalizers: label words resolved to token ids in their slot, and every typed error. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { verbalizerReport } from '../../src/cli/verbalizer.js';
import { getTask } from '../../src/data/tasks.js';
import { LayercutError } from '../../src/errors.js';
import { parseTemplate } from '../../src/prompts/template.js';
import {
  analyzeVerbalizer,
  buildVerbalizer,
  VerbalizerError,
  type VerbalizerIssueCode,
  type VerbalizerOptions,
} from '../../src/prompts/verbalizer.js';
import { fixtureTokenizer, repoRoot, tokenizerFixture } from '../tokenizers/fixture-tokenizers.js';
import { runToEnd } from '../helpers/spawn.js';
import { realTokenizer } from '../tokenizers/real-tokenizers.js';

const sst2Template = parseTemplate('Review: {text}\nSentiment:{label}');
const labels = ['negative', 'positive'];

async function gpt2Options(overrides: Partial<VerbalizerOptions>): Promise<VerbalizerOptions> {
  return {
    tokenizer: await fixtureTokenizer('gpt2'),
    template: sst2Template,
    labels,
    labelWords: { negative: [' Negative'], positive: [' Positive'] },
    ...overrides,
  };
}

/** The error codes of the VerbalizerError that `options` raise. */
function errorCodes(options: VerbalizerOptions): VerbalizerIssueCode[] {
  try {
    buildVerbalizer(options);
  } catch (error) {
    assert.ok(error instanceof VerbalizerError);
    assert.ok(error instanceof LayercutError);
    return error.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.code);
  }
  assert.fail('expected a VerbalizerError');
}

test('several words per label; first-token scoring takes the first token of each', async () => {
  const verbalizer = buildVerbalizer(
    await gpt2Options({
      labelWords: { negative: [' Negative', ' terrible'], positive: [' Positive', ' wonderful'] },
    }),
  );
  assert.deepEqual(verbalizer.scoring, 'first');
  assert.deepEqual(
    verbalizer.words[1]!.map((w) => w.tokens),
    [['ĠPositive'], ['Ġwonderful']],
  );
  assert.deepEqual(verbalizer.scoredIds, [
    [[36183], [7818]],
    [[33733], [7932]],
  ]);
  assert.deepEqual(verbalizer.issues, []);
  assert.deepEqual(verbalizer.words[0]![0]!.lineStartTokens, ['Neg', 'ative']);
});

test('sum and mean scoring keep all tokens of a multi-token word; first warns that it scores one', async () => {
  const trec = getTask('trec');
  const template = parseTemplate(trec.template);
  const gpt2 = await fixtureTokenizer('gpt2');
  const options = { tokenizer: gpt2, template, labels: trec.labels, labelWords: trec.labelWords };
  const sum = buildVerbalizer({ ...options, scoring: 'sum' });
  assert.deepEqual(sum.scoredIds[0], [[2275, 4679, 47625]]); // ĠAb bre viation
  assert.deepEqual(buildVerbalizer({ ...options, scoring: 'mean' }).scoredIds, sum.scoredIds);
  const first = buildVerbalizer(options);
  assert.deepEqual(first.scoredIds[0], [[2275]]);
  assert.deepEqual(
    first.issues.map((issue) => [issue.code, issue.severity, issue.message]),
    [['split', 'warning', '" Abbreviation" is 3 tokens: "ĠAb" "bre" "viation"; only the first is scored']],
  );
  assert.deepEqual(errorCodes({ ...options, singleToken: true }), ['split']);
});

test('labels without words, unknown labels and missing labels are errors', async () => {
  assert.deepEqual(errorCodes(await gpt2Options({ labelWords: { negative: [], positive: [' Positive'] } })), [
    'no-words',
  ]);
  assert.deepEqual(
    errorCodes(await gpt2Options({ labelWords: { negative: ['  '], positive: [' Positive'] } })),
    ['no-words'],
  );
  assert.deepEqual(
    errorCodes(await gpt2Options({ labelWords: { negative: [' Negative'], postive: [' Positive'] } })),
    ['unknown-label', 'missing-label'],
  );
});

test('two labels with the same first token collide under first-token scoring only', async () => {
  const labelWords = { negative: [' Positive', ' bad'], positive: [' Positively'] };
  // " Positively" is ĠPositive + ly: the same first token as " Positive".
  assert.deepEqual(errorCodes(await gpt2Options({ labelWords })), ['collision']);
  const analysis = analyzeVerbalizer(await gpt2Options({ labelWords }));
  assert.match(
    analysis.errors[0]!.message,
    /labels 'negative' \(" Positive"\) and 'positive' \(" Positively"\) have the same first token "ĠPositive"/,
  );
  const sumOptions = await gpt2Options({ labelWords, scoring: 'sum' });
  assert.deepEqual(buildVerbalizer(sumOptions).scoredIds[1], [[33733, 306]]);
  assert.deepEqual(
    errorCodes(
      await gpt2Options({ labelWords: { negative: [' Positive'], positive: [' Positive'] }, scoring: 'sum' }),
    ),
    ['collision'],
  );
});

test('a word that merges with the text before the slot is reported with its tokens', async () => {
  // "great" + "ly" becomes the one pre-token " greatly": the context's own tokens change.
  const template = parseTemplate('{text} It was great{label}');
  const analysis = analyzeVerbalizer(
    await gpt2Options({ template, labelWords: { negative: ['ly'], positive: [' fun'] } }),
  );
  assert.deepEqual(
    analysis.errors.map((issue) => [issue.code, issue.word]),
    [['boundary-merge', 'ly']],
  );
  assert.equal(analysis.words[0]![0]!.boundaryMerge, true);
  assert.deepEqual(analysis.words[0]![0]!.tokens, ['Ġgreatly']);
  assert.match(analysis.errors[0]!.message, /merges with the text before the slot \("It was great"\)/);
});

test('WordPiece and SentencePiece words resolve in their slot too', async () => {
  const bert = await fixtureTokenizer('bert-wordpiece');
  const masked = parseTemplate('Review: {text}\nSentiment:{mask}');
  const bertWords = buildVerbalizer({
    tokenizer: bert,
    template: masked,
    labels,
    labelWords: { negative: [' Negative'], positive: [' Positive'] },
  });
  // Lowercased, no space marker, continuation pieces with ## (the fixture's vocabulary is small).
  assert.deepEqual(
    bertWords.words.map((w) => w[0]!.tokens.join(' ')),
    ['negat ##ive', 'pos ##itive'],
  );
  const llama = await fixtureTokenizer('llama-bpe');
  const llamaWords = analyzeVerbalizer({
    tokenizer: llama,
    template: sst2Template,
    labels,
    labelWords: { negative: [' Negative'], positive: [' Positive'] },
  });
  for (const word of llamaWords.words.flat())
    assert.ok(word.tokens[0]!.startsWith('▁'), word.tokens.join(' '));
});

test('layercut verbalizer prints the table and counts errors', async () => {
  const gpt2 = tokenizerFixture('gpt2');
  const ok = await verbalizerReport(['--tokenizer', gpt2, '--task', 'sst2']);
  assert.equal(ok.errors, 0);
  const lines = ok.text.split('\n');
  assert.equal(lines[0], 'task sst2 · template "Review: {text}\\nSentiment:{label}" · scoring first');
  assert.ok(lines.includes('label     word         tokens in slot  ids    flags'), ok.text);
  assert.ok(lines.includes('negative  " Negative"  ĠNegative       36183  line-start: Neg ative'), ok.text);
  assert.ok(lines.includes('positive  " Positive"  ĠPositive       33733  line-start: Pos itive'), ok.text);
  assert.equal(lines[lines.length - 1], 'ok: no errors');

  const bad = await verbalizerReport([
    '--tokenizer',
    gpt2,
    '--task',
    'sst2',
    '--words',
    '{"negative": [" Positive"], "positive": [" Positively"]}',
    '--single-token',
  ]);
  assert.equal(bad.errors, 2);
  assert.ok(
    bad.text.includes(
      'positive  " Positively"  ĠPositive ly    33733 306  split (error), collision (error), line-start: Pos itive ly',
    ),
    bad.text,
  );
  await assert.rejects(verbalizerReport(['--tokenizer', gpt2, '--task', 'nope']), /unknown task 'nope'/);
  await assert.rejects(
    verbalizerReport(['--tokenizer', gpt2, '--task', 'sst2', '--scoring', 'max']),
    /--scoring must be one of first, sum, mean/,
  );
  await assert.rejects(
    verbalizerReport(['--tokenizer', gpt2, '--task', 'sst2', '--words', '[1]']),
    /--words must be a JSON object/,
  );
});

test('node bin/layercut.mjs verbalizer exits 0 when clean and 2 on errors', async (t) => {
  const run = (...args: string[]) =>
    runToEnd(t, process.execPath, [path.join(repoRoot, 'bin/layercut.mjs'), 'verbalizer', ...args], {
      cwd: repoRoot,
      timeoutMs: 60_000,
    });
  const gpt2 = tokenizerFixture('gpt2');
  const clean = await run('--tokenizer', gpt2, '--task', 'agnews');
  assert.doesNotMatch(clean.stderr, /unknown command 'verbalizer'/, 'register verbalizer in src/cli.ts');
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^technology +" Technology" +ĠTechnology +8987 /m);
  const failing = await run('--tokenizer', gpt2, '--task', 'trec', '--single-token');
  assert.equal(failing.code, 2, 'label words with errors are bad input (ExitCode.usage)');
  assert.match(failing.stdout, /" Abbreviation" is 3 tokens: "ĠAb" "bre" "viation"; one token is required/);
});

test('real SentencePiece and byte-level vocabularies: the linter names split words and the spacing that is one token', async () => {
  const template = sst2Template;
  const labelWords = { negative: ['sadness', ' Sci/Tech'], positive: [' positive', 'positive'] };
  const gemma = analyzeVerbalizer({ tokenizer: await realTokenizer('gemma'), template, labels, labelWords });
  // SentencePiece: a leading space is part of the piece, "▁positive" and "positive" are other ids
  const [sadness, sciTech] = gemma.words[0]!;
  const [spaced, bare] = gemma.words[1]!;
  assert.deepEqual(spaced!.tokens, ['▁positive']);
  assert.notDeepEqual(spaced!.ids, bare!.ids);
  assert.deepEqual(sadness!.tokens, ['sad', 'ness']);
  assert.deepEqual(sciTech!.tokens, ['▁Sci', '/', 'Tech']);
  assert.deepEqual(
    gemma.issues.filter((issue) => issue.code === 'split').map((issue) => issue.message),
    [
      '"sadness" is 2 tokens: "sad" "ness" (" sadness" is one token there: "▁sadness"); only the first is scored',
      '" Sci/Tech" is 3 tokens: "▁Sci" "/" "Tech"; only the first is scored',
    ],
  );
  // byte-level BPE (Qwen2.5): the space shows as Ġ; "sadness" also merges with "Sentiment:"
  const qwen = analyzeVerbalizer({ tokenizer: await realTokenizer('qwen2_5'), template, labels, labelWords });
  assert.deepEqual(qwen.words[1]![0]!.tokens, ['Ġpositive']);
  assert.deepEqual(
    qwen.errors.map((issue) => [issue.code, issue.word]),
    [['boundary-merge', 'sadness']],
  );
  assert.match(
    qwen.issues.find((issue) => issue.code === 'split' && issue.word === 'sadness')!.message,
    /\(" sadness" is one token there: "Ġsadness"\)/,
  );
});
