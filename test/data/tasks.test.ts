/** The task registry: the paper's tasks and the offline ones, with their prompts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTask, taskNames } from '../../src/data/index.js';
import { LayercutError } from '../../src/errors.js';

test('registers the paper tasks and the offline tasks', () => {
  assert.deepEqual(taskNames, ['sst2', 'agnews', 'trec', 'emoc', 'spam', 'sotu-party']);
  assert.deepEqual(
    taskNames.map((name) => getTask(name).labels.length),
    [2, 4, 6, 4, 2, 2],
  );
});

test('each task has one {text} and one {label} placeholder and a word with a leading space per label', () => {
  for (const name of taskNames) {
    const task = getTask(name);
    assert.equal(task.template.split('{label}').length, 2, name);
    assert.ok(task.template.includes(`{${task.textField}}`), name);
    assert.ok(task.fields.includes(task.textField), name);
    assert.deepEqual(Object.keys(task.labelWords), task.labels, name);
    for (const words of Object.values(task.labelWords)) {
      assert.ok(words.length >= 1 && words.every((w) => /^ \S+$/.test(w)), `${name}: ${words.join('|')}`);
    }
  }
});

test('the paper templates and label words in class order', () => {
  const firstWords = (name: string): string[] =>
    getTask(name).labels.map((l) => getTask(name).labelWords[l]![0]!);
  assert.equal(getTask('sst2').template, 'Review: {text}\nSentiment:{label}');
  assert.deepEqual(firstWords('sst2'), [' Negative', ' Positive']);
  assert.equal(getTask('agnews').template, 'Article: {text}\nAnswer:{label}');
  assert.deepEqual(firstWords('agnews'), [' World', ' Sports', ' Business', ' Technology']);
  assert.equal(getTask('trec').template, 'Question: {text}\nAnswer Type:{label}');
  assert.deepEqual(firstWords('trec'), [
    ' Abbreviation',
    ' Entity',
    ' Description',
    ' Person',
    ' Location',
    ' Number',
  ]);
  assert.equal(getTask('emoc').template, 'Dialogue: {text}\nEmotion:{label}');
  assert.deepEqual(firstWords('emoc'), [' Others', ' Happy', ' Sad', ' Angry']);
  const trec = getTask('trec').source;
  assert.ok(trec.kind === 'hub' && trec.labelColumn[0] === 'coarse_label');
  const sst2 = getTask('sst2').source;
  assert.ok(
    sst2.kind === 'hub' && sst2.splits.test === 'validation' && sst2.columns['text']![0] === 'sentence',
  );
});

test('an unknown task is a LayercutError listing the known ones', () => {
  assert.throws(
    () => getTask('sst-2'),
    (error: unknown) =>
      error instanceof LayercutError &&
      error.message.startsWith("unknown task 'sst-2'") &&
      error.message.includes('sst2, agnews, trec, emoc, spam, sotu-party'),
  );
});
