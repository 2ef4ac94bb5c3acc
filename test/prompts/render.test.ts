/**
 * Rendering prompts with the real GPT-2 tokenizer for every task, masked-LM prompts with
 * the RoBERTa and BERT fixtures, and truncation of the field text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as r50k } from 'gpt-tokenizer/encoding/r50k_base';
import { getTask, taskNames } from '../../src/data/tasks.js';
import { LayercutError } from '../../src/errors.js';
import {
  demonstrationTokens,
  fitDemonstrations,
  renderPrompt,
  type Demonstration,
} from '../../src/prompts/render.js';
import { parseTemplate } from '../../src/prompts/template.js';
import { buildVerbalizer } from '../../src/prompts/verbalizer.js';
import { fixtureTokenizer } from '../tokenizers/fixture-tokenizers.js';

const queryText = "it's a charming and often affecting journey";
const demoTexts = ['a gorgeous , witty , seductive movie', 'the plot is nothing but boilerplate clichés'];

/** Label words of each task's first word for the classes, as GPT-2 ids (gpt-tokenizer, not our tokenizer). */
const expectedFirstIds: Record<string, number[]> = {
  sst2: [36183, 33733], // " Negative", " Positive"
  agnews: r50kFirstIds([' World', ' Sports', ' Business', ' Technology']),
  trec: r50kFirstIds([' Abbreviation', ' Entity', ' Description', ' Person', ' Location', ' Number']),
  emoc: r50kFirstIds([' Others', ' Happy', ' Sad', ' Angry']),
  spam: r50kFirstIds([' ham', ' spam']),
  'sotu-party': r50kFirstIds([' Democratic', ' Republican']),
};

function r50kFirstIds(words: string[]): number[] {
  return words.map((word) => r50k(word)[0]!);
}

test('the paper tasks and the offline ones are all registered', () => {
  for (const name of ['sst2', 'agnews', 'trec', 'emoc', 'spam', 'sotu-party'])
    assert.ok(taskNames.includes(name));
});

for (const name of Object.keys(expectedFirstIds)) {
  test(`${name}: prompt with demonstrations on GPT-2, answer position and label-word ids`, async () => {
    const gpt2 = await fixtureTokenizer('gpt2');
    const task = getTask(name);
    const template = parseTemplate(task.template, { fields: task.fields, slotKind: 'label' });
    const demonstrations: Demonstration[] = demoTexts.map((text, i) => {
      const label = task.labels[i % task.labels.length]!;
      return { fields: { [task.textField]: text }, answer: task.labelWords[label]![0]! };
    });
    const prompt = renderPrompt(template, gpt2, { fields: { [task.textField]: queryText }, demonstrations });

    const [before, after] = task.template.split('{text}') as [string, string];
    const fill = (text: string, answer: string) => before + text + after.replace('{label}', answer);
    const expectedText = [
      fill(demoTexts[0]!, demonstrations[0]!.answer),
      fill(demoTexts[1]!, demonstrations[1]!.answer),
      fill(queryText, ''),
    ].join('\n');
    assert.equal(prompt.text, expectedText);
    assert.ok(prompt.text.endsWith(':'));
    // The pieces equal tokenizing the whole string, here checked with gpt-tokenizer.
    assert.deepEqual(prompt.ids, r50k(expectedText));
    assert.equal(prompt.answerPosition, prompt.ids.length - 1);
    assert.equal(prompt.ids[prompt.answerPosition], r50k(':')[0]);
    assert.equal(prompt.slot, 'label');
    assert.equal(prompt.truncatedChars, 0);

    const verbalizer = buildVerbalizer({
      tokenizer: gpt2,
      template,
      labels: task.labels,
      labelWords: task.labelWords,
    });
    assert.deepEqual(
      verbalizer.scoredIds.map((words) => words[0]![0]),
      expectedFirstIds[name],
    );
    // Appending a label word to the prompt adds exactly the word's tokens.
    const positiveLabel = task.labels[1]!;
    const word = task.labelWords[positiveLabel]![0]!;
    assert.deepEqual(r50k(prompt.text + word), [...prompt.ids, ...verbalizer.words[1]![0]!.ids]);
  });
}

test('sst2 label words on GPT-2 are the single tokens ĠNegative = 36183 and ĠPositive = 33733', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  const task = getTask('sst2');
  const verbalizer = buildVerbalizer({
    tokenizer: gpt2,
    template: parseTemplate(task.template),
    labels: task.labels,
    labelWords: task.labelWords,
    singleToken: true,
  });
  assert.deepEqual(
    verbalizer.words.map((words) => [words[0]!.tokens, words[0]!.ids]),
    [
      [['ĠNegative'], [36183]],
      [['ĠPositive'], [33733]],
    ],
  );
});

test('truncation shortens only the field text, from the right by default, to the longest cut that fits', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  const template = parseTemplate('Review: {text}\nSentiment:{label}');
  const longText = 'The film opens slowly but builds into something quite moving and memorable. '.repeat(20);
  const demonstrations = [{ fields: { text: 'great fun' }, answer: ' Positive' }];
  const full = renderPrompt(template, gpt2, { fields: { text: longText }, demonstrations });
  assert.ok(full.ids.length > 200);

  const cut = renderPrompt(template, gpt2, { fields: { text: longText }, demonstrations, maxLength: 40 });
  assert.ok(cut.ids.length <= 40);
  assert.ok(cut.truncatedChars > 0);
  const kept = longText.slice(0, longText.length - cut.truncatedChars);
  assert.equal(cut.text, `Review: great fun\nSentiment: Positive\nReview: ${kept}\nSentiment:`);
  assert.deepEqual(cut.ids, gpt2.encode(cut.text).ids);
  assert.equal(cut.answerPosition, cut.ids.length - 1);
  // One more character of the field would not fit.
  const longer = longText.slice(0, kept.length + 1);
  assert.ok(renderPrompt(template, gpt2, { fields: { text: longer }, demonstrations }).ids.length > 40);

  const left = renderPrompt(template, gpt2, {
    fields: { text: longText },
    maxLength: 30,
    truncation: 'left',
  });
  const keptEnd = longText.slice(left.truncatedChars);
  assert.equal(left.text, `Review: ${keptEnd}\nSentiment:`);
  assert.ok(left.ids.length <= 30);

  assert.throws(
    () => renderPrompt(template, gpt2, { fields: { text: longText }, demonstrations, maxLength: 10 }),
    /the template and demonstrations alone take \d+ tokens, more than maxLength 10/,
  );
});

test('demoMaxTokens shortens each demonstration in its field text only, from either end', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  const template = parseTemplate('Review: {text}\nSentiment:{label}');
  const long = 'An uneven but often funny story about two brothers and a boat. '.repeat(6);
  const demos: Demonstration[] = [
    { fields: { text: long }, answer: ' Positive' },
    { fields: { text: 'dull' }, answer: ' Negative' },
  ];
  assert.ok(demonstrationTokens(template, gpt2, demos[0]!) > 60);
  const right = fitDemonstrations(template, gpt2, demos, { maxLength: 1024, demoMaxTokens: 20 });
  assert.ok(demonstrationTokens(template, gpt2, right[0]!) <= 20);
  assert.ok(long.startsWith(right[0]!.fields['text']!), 'right truncation keeps the beginning');
  assert.ok(right[0]!.fields['text']!.length > 10);
  assert.equal(right[0]!.answer, ' Positive');
  // one more character would not fit the cap
  const more = long.slice(0, right[0]!.fields['text']!.length + 1);
  assert.ok(demonstrationTokens(template, gpt2, { ...demos[0]!, fields: { text: more } }) > 20);
  assert.deepEqual(right[1], demos[1], 'a demonstration within the cap is left as it is');
  const left = fitDemonstrations(template, gpt2, demos, {
    maxLength: 1024,
    demoMaxTokens: 20,
    truncation: 'left',
  });
  assert.ok(long.endsWith(left[0]!.fields['text']!), 'left truncation keeps the end');
  assert.throws(
    () => fitDemonstrations(template, gpt2, demos, { maxLength: 1024, demoMaxTokens: 3 }),
    (error: unknown) =>
      error instanceof LayercutError && /cannot be shortened to 3 tokens/.test(error.message),
  );
});

test('by default demonstrations stay whole when they fit, else each gets an equal share of half of maxLength', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  const template = parseTemplate('Review: {text}\nSentiment:{label}');
  const long = 'An uneven but often funny story about two brothers and a boat. '.repeat(6);
  const demos: Demonstration[] = [
    { fields: { text: long }, answer: ' Positive' },
    { fields: { text: long }, answer: ' Negative' },
  ];
  const wholeTokens = renderPrompt(template, gpt2, { fields: { text: '' }, demonstrations: demos }).ids
    .length;
  // they fit: left exactly as they are (prompts that rendered before render the same)
  assert.deepEqual(fitDemonstrations(template, gpt2, demos, { maxLength: wholeTokens }), demos);
  // they do not: each is cut to ⌊100 / 4⌋ = 25 tokens, and a long query still fits with room to spare
  const fitted = fitDemonstrations(template, gpt2, demos, { maxLength: 100 });
  for (const demo of fitted) assert.ok(demonstrationTokens(template, gpt2, demo) <= 25);
  assert.throws(() =>
    renderPrompt(template, gpt2, { fields: { text: long }, demonstrations: demos, maxLength: 100 }),
  );
  const query = renderPrompt(template, gpt2, {
    fields: { text: long },
    demonstrations: fitted,
    maxLength: 100,
  });
  assert.ok(query.ids.length <= 100);
  assert.ok(query.text.endsWith('\nSentiment:'));
  const emptyQuery = renderPrompt(template, gpt2, { fields: { text: '' }, demonstrations: fitted }).ids
    .length;
  assert.ok(100 - emptyQuery >= 40, `room for the query: ${100 - emptyQuery} tokens`);
});

test('a prompt that fits is not truncated; the truncated field can be chosen', async () => {
  const gpt2 = await fixtureTokenizer('gpt2');
  const template = parseTemplate('Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:{label}');
  const fields = {
    premise: 'A man plays a guitar on a stage in front of a crowd.',
    hypothesis: 'A man performs music.',
  };
  const whole = renderPrompt(template, gpt2, { fields, maxLength: 100 });
  assert.equal(whole.truncatedChars, 0);
  const cut = renderPrompt(template, gpt2, {
    fields,
    maxLength: whole.ids.length - 2,
    truncateField: 'hypothesis',
  });
  assert.ok(cut.text.startsWith(`Premise: ${fields.premise}\nHypothesis: A man`));
  assert.ok(!cut.text.includes('music'));
});

test('masked-LM templates: the slot is the mask token, with the special tokens around the prompt', async () => {
  const template = parseTemplate('Review: {text}\nSentiment:{mask}.', { slotKind: 'mask' });
  const roberta = await fixtureTokenizer('roberta-bpe');
  const prompt = renderPrompt(template, roberta, { fields: { text: 'a witty movie' } });
  assert.equal(prompt.text, 'Review: a witty movie\nSentiment:<mask>.');
  assert.equal(prompt.slot, 'mask');
  assert.equal(prompt.ids[prompt.answerPosition], 4); // <mask>
  assert.deepEqual(prompt.ids, roberta.encode(prompt.text).ids);
  assert.deepEqual([prompt.ids[0], prompt.ids[prompt.ids.length - 1]], [0, 2]); // <s> … </s>
  assert.equal(prompt.answerPosition, prompt.ids.length - 3); // <mask> . </s>

  const bert = await fixtureTokenizer('bert-wordpiece');
  const bertPrompt = renderPrompt(template, bert, {
    fields: { text: 'a witty movie' },
    demonstrations: [{ fields: { text: 'dull' }, answer: ' negative' }],
  });
  assert.equal(
    bertPrompt.text,
    'Review: dull\nSentiment: negative.\nReview: a witty movie\nSentiment:[MASK].',
  );
  assert.deepEqual(bertPrompt.ids, bert.encode(bertPrompt.text).ids);
  assert.equal(bertPrompt.ids[bertPrompt.answerPosition], 4); // [MASK]
  assert.equal(bertPrompt.ids.filter((id) => id === 4).length, 1);
});

test("decoder prompts keep the tokenizer's BOS; a mask slot needs a mask token", async () => {
  const llama = await fixtureTokenizer('llama-bpe');
  const template = parseTemplate('Review: {text}\nSentiment:{label}');
  const prompt = renderPrompt(template, llama, { fields: { text: 'a witty movie' } });
  assert.equal(prompt.ids[0], 1); // <s>
  assert.deepEqual(prompt.ids, llama.encode(prompt.text).ids);
  assert.equal(prompt.answerPosition, prompt.ids.length - 1);
  const noSpecial = renderPrompt(template, llama, {
    fields: { text: 'a witty movie' },
    addSpecialTokens: false,
  });
  assert.deepEqual(noSpecial.ids, prompt.ids.slice(1));

  const gpt2 = await fixtureTokenizer('gpt2');
  assert.throws(
    () => renderPrompt(parseTemplate('It was {mask}.'), gpt2, { fields: {} }),
    (error: unknown) => error instanceof LayercutError && /has no mask token/.test(error.message),
  );
  assert.throws(
    () => renderPrompt(parseTemplate('{label}'), gpt2, { fields: {} }),
    /nothing comes before \{label\}/,
  );
});

test('fuzz finds: a template quoted in a render error stays on one line', async () => {
  // once "template '{t}\n' has no answer slot …" across two lines (test/fuzz/template.ts)
  const gpt2 = await fixtureTokenizer('gpt2');
  const noSlot = parseTemplate('{t}\n', { requireSlot: false });
  assert.throws(
    () => renderPrompt(noSlot, gpt2, { fields: { t: 'x' } }),
    (error: unknown) =>
      error instanceof LayercutError &&
      error.message ===
        'template "{t}\\n" has no answer slot to render a prompt for\n  hint: add {label} or {mask}',
  );
  assert.throws(
    () => renderPrompt(parseTemplate('{label}\n'), gpt2, { fields: {} }),
    (error: unknown) =>
      error instanceof LayercutError &&
      error.message.startsWith('nothing comes before {label} in "{label}\\n"\n'),
  );
});
