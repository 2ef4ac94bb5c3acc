/**
 * The progress printer: plain lines (log files, pipes) at phase changes and every so often, and
 * on a terminal one status line redrawn with `\r` (throttled), with permanent lines between.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAPER_DEFAULTS, type RunPlan, type RunResult } from '../../src/plan/types.js';
import { bar, ProgressPrinter } from '../../src/runner/progress.js';
import { runLabel } from '../../src/results/rows.js';
import type { RunEvent as RunnerEvent } from '../../src/runner/events.js';

const plan: RunPlan = {
  model: { kind: 'builtin', name: 'tiny-gpt2' },
  layers: { kind: 'first', count: 2 },
  task: 'spam',
  prompt: {
    template: 'Email: {text}\nCategory:{label}',
    labelWords: { ham: [' ham'], spam: [' spam'] },
    scoring: 'first',
  },
  method: PAPER_DEFAULTS.method,
  data: PAPER_DEFAULTS.data,
  train: PAPER_DEFAULTS.train,
  seed: 1,
};

/** The terminal code that erases the rest of the line. */
const ERASE_LINE = '\x1b[K';

const id = '0123456789abcdef';
const position = { id, index: 2, of: 8 };

const result: RunResult = {
  id,
  plan,
  test: { accuracy: 0.875, macroF1: 0.8125, perClass: [], confusion: [] },
  validation: { accuracy: 0.9, step: 4, epoch: 0 },
  curves: { train: [], eval: [] },
  timings: { wallSeconds: 3, trainSeconds: 2, evalSeconds: 1, trainTokensPerSecond: 100 },
  size: { layersBefore: 4, layersAfter: 2, paramsBefore: 100, paramsAfter: 50 },
  peakTensorBytes: 0,
  backend: 'wasm',
  versions: {},
};

/** Feeds `events` (each at its time in ms) to a printer and returns what it wrote. */
function print(live: boolean, events: [number, RunnerEvent][]): string {
  let now = 0;
  let written = '';
  const printer = new ProgressPrinter({
    stream: { write: (text: string) => (written += text), columns: 200 },
    live,
    now: () => now,
  });
  for (const [at, event] of events) {
    now = at;
    printer.handle(event);
  }
  printer.finish();
  return written;
}

const step = (s: number, loss: number): RunnerEvent => ({
  kind: 'progress',
  ...position,
  progress: { phase: 'train', kind: 'step', step: s, totalSteps: 10, epoch: s > 5 ? 1 : 0, loss, lr: 1e-3 },
});

const sweep: [number, RunnerEvent][] = [
  [0, { kind: 'plan', total: 8, finished: 1, toRun: 6, skipped: 1, store: '/tmp/x.db' }],
  [0, { kind: 'skipped', id: 'fedcba9876543210', reason: 'failed-before', detail: 'no such file' }],
  [0, { kind: 'start', plan, ...position }],
  [10, { kind: 'progress', ...position, progress: { phase: 'load', loaded: 1, total: 28 } }],
  [20, { kind: 'progress', ...position, progress: { phase: 'load', loaded: 28, total: 28 } }],
  [30, step(1, 0.71)],
  [60, step(2, 0.69)],
  [10_100, step(3, 0.6)],
  [10_200, step(4, 0.5)],
  [10_300, step(5, 0.4)],
  [
    10_400,
    {
      kind: 'progress',
      ...position,
      progress: { phase: 'train', kind: 'eval', step: 5, epoch: 0, accuracy: 0.8125, loss: 0.4, best: true },
    },
  ],
  [10_500, step(10, 0.2)],
  [10_600, { kind: 'progress', ...position, progress: { phase: 'test', examples: 200 } }],
  [12_000, { kind: 'done', result, ...position }],
];

test('run label and bar', () => {
  assert.equal(runLabel(plan), 'tiny-gpt2 first 2 · spam · lm · seed 1');
  assert.equal(bar(0.5, 10), '█████░░░░░');
  assert.equal(bar(2, 4), '████');
  assert.equal(bar(Number.NaN, 4), '░░░░');
});

test('plain lines: at phase changes, every 10 s within a phase, the last step, and the outcome', () => {
  assert.deepEqual(print(false, sweep).split('\n'), [
    '8 runs, 1 finished before, 6 to run, 1 skipped (results store /tmp/x.db)',
    'skip fedcba9876543210: failed before (--retry-failed runs it again) — no such file',
    '[2/8] start 0123456789abcdef  tiny-gpt2 first 2 · spam · lm · seed 1',
    '[2/8] loaded 28 tensors',
    '[2/8] train step 1/10, epoch 1, loss 0.7100',
    '[2/8] train step 3/10, epoch 1, loss 0.6000',
    '[2/8] eval at step 5 (epoch 1): validation accuracy 81.3% (best so far)',
    '[2/8] train step 10/10, epoch 2, loss 0.2000',
    '[2/8] test on 200 examples',
    '[2/8] done 0123456789abcdef  tiny-gpt2 first 2 · spam · lm · seed 1: test accuracy 87.5%, macro-F1 81.3% (12.0 s)',
    '',
  ]);
});

test('on a terminal: one status line redrawn in place (at most every 100 ms), permanent lines between', () => {
  const out = print(true, sweep);
  const redraws = out.split('\r').filter((part) => part.startsWith('[2/8] tiny-gpt2'));
  // start; load 1 (10 ms after the last redraw: left out); load 28 (forced: done); steps 1 and 2
  // (10 and 40 ms after it: left out); steps 3, 4, 5; eval (forced); step 10 (forced: last); test (forced).
  assert.deepEqual(
    redraws.map((part) => (part.endsWith(ERASE_LINE) ? part.slice(0, -ERASE_LINE.length) : part)),
    [
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  starting  0.0 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  load weights ████████████████████ 28/28 tensors  0.0 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  train ██████░░░░░░░░░░░░░░ 3/10  epoch 1  loss 0.600  10.1 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  train ████████░░░░░░░░░░░░ 4/10  epoch 1  loss 0.500  10.2 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  train ██████████░░░░░░░░░░ 5/10  epoch 1  loss 0.400  10.3 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  train ██████████░░░░░░░░░░ 5/10  epoch 1  loss 0.400  val 81.3%  10.4 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  train ████████████████████ 10/10  epoch 2  loss 0.200  val 81.3%  10.5 s',
      '[2/8] tiny-gpt2 first 2 · spam · lm · seed 1  test on 200 examples…  10.6 s',
    ],
  );
  // The outcome is a line of its own, after the status line is cleared; nothing is left behind.
  assert.ok(
    out.includes(
      '\r\x1b[K[2/8] done 0123456789abcdef  tiny-gpt2 first 2 · spam · lm · seed 1: test accuracy 87.5%',
    ),
  );
  assert.ok(out.endsWith('(12.0 s)\n'));
  assert.ok(out.startsWith('\r\x1b[K8 runs, 1 finished before'));
});
